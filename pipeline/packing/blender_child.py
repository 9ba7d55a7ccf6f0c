"""The Blender side of the rigid-body engine: ``python -m pipeline.packing.blender_child REQUEST.json``.

This is the only bedflow module that imports ``bpy``. Blender's state is global
and heavy, so :mod:`pipeline.packing.blender` runs this module in a child
process, one request per process. The request (JSON, all lengths SI) names a
work folder and a mode:

``"pack"``
    Build a closed container (floor, ring of wall slabs, ceiling) and the
    particles at the given spawn transforms, step Bullet frame by frame until the
    particles rest or the time limit is reached, relax the contacts, and write the
    final centres and orientations (SI, column frame) to the request's ``outputs``
    file (``.npz``) and a summary to its ``result`` file (JSON).
``"scene"``
    Build a plain scene (particles sharing one mesh, the column wall and lids, in
    metres) from given transforms and export it to the requested formats.

Protocol: progress goes to the process's original stdout as JSON lines
``{"progress": 0.42, "message": "..."}``; everything Blender or Python prints
otherwise is moved to stderr so the progress stream stays clean. A failure prints
a traceback on stderr and exits with status 1.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import bpy  # first: importing bpy makes bmesh and mathutils importable
import bmesh  # isort: skip
import numpy as np
from mathutils import Matrix, Quaternion, Vector

Report = Callable[[float, str], None]

#: Share of the progress bar spent building the scene, simulating and reading back.
BUILD_SHARE, SIMULATE_SHARE = 0.05, 0.90
#: UV-sphere resolution of the physics sphere: with segments a multiple of 4 and an even ring count
#: the bounding box is exactly the diameter (Blender sizes a SPHERE shape from the bounding box).
PHYSICS_SPHERE = (16, 8)
#: Sides of the physics cylinder; its hull is circumscribed so it contains the true cylinder.
PHYSICS_CYLINDER_SIDES = 32
#: Resolution of the exported (visual) particle meshes.
VISUAL_SPHERE = (32, 16)
VISUAL_SIDES = 48


# ------------------------------------------------------------------------------------------------
# protocol
# ------------------------------------------------------------------------------------------------
class Protocol:
    """JSON lines on the original stdout; all other output of the process is sent to stderr."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self.stream: TextIO = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # Blender's C output and print() go to stderr

    def report(self, fraction: float, message: str) -> None:
        """Send one progress line."""
        self.stream.write(json.dumps({"progress": round(min(1.0, max(0.0, fraction)), 4), "message": message}) + "\n")
        self.stream.flush()


def scaled_report(report: Report, start: float, stop: float) -> Report:
    """A reporter mapping a stage's 0..1 onto ``start..stop``."""
    return lambda fraction, message: report(start + (stop - start) * fraction, message)


# ------------------------------------------------------------------------------------------------
# scene basics
# ------------------------------------------------------------------------------------------------
def reset_scene() -> bpy.types.Scene:
    """An empty factory scene."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def new_collection(scene: bpy.types.Scene, name: str) -> bpy.types.Collection:
    collection = bpy.data.collections.new(name)
    scene.collection.children.link(collection)
    return collection


def mesh_from(name: str, build: Callable[[bmesh.types.BMesh], Any]) -> bpy.types.Mesh:
    """A mesh datablock filled by ``build(bm)``."""
    bm = bmesh.new()
    build(bm)
    bmesh.ops.recalc_face_normals(bm, faces=bm.faces[:])
    mesh = bpy.data.meshes.new(name)
    bm.to_mesh(mesh)
    bm.free()
    return mesh


def sphere_mesh(name: str, diameter: float, resolution: tuple[int, int]) -> bpy.types.Mesh:
    segments, rings = resolution
    mesh = mesh_from(
        name, lambda bm: bmesh.ops.create_uvsphere(bm, u_segments=segments, v_segments=rings, radius=diameter / 2)
    )
    mesh.shade_smooth()
    return mesh


def cylinder_mesh(name: str, diameter: float, length: float, sides: int, circumscribed: bool) -> bpy.types.Mesh:
    """A closed cylinder along local z centred at the origin; ``circumscribed``: its flats touch the true radius."""
    radius = diameter / 2 / (math.cos(math.pi / sides) if circumscribed else 1.0)
    mesh = mesh_from(
        name,
        lambda bm: bmesh.ops.create_cone(
            bm, cap_ends=True, segments=sides, radius1=radius, radius2=radius, depth=length
        ),
    )
    smooth_with_sharp_edges(mesh)
    return mesh


def smooth_with_sharp_edges(mesh: bpy.types.Mesh, angle: float = math.radians(30.0)) -> None:
    """Smooth shading, with edges between faces meeting at more than ``angle`` kept sharp."""
    mesh.shade_smooth()
    mesh.set_sharp_from_angle(angle=angle)


def box_mesh(name: str, size: Sequence[float]) -> bpy.types.Mesh:
    """A box of ``size`` (x, y, z) centred at the origin."""
    return mesh_from(
        name, lambda bm: bmesh.ops.create_cube(bm, size=1.0, matrix=Matrix.Diagonal((*size, 1.0)))
    )


def particle_mesh(name: str, kind: str, diameter: float, length: float, physics: bool) -> bpy.types.Mesh:
    """One particle's mesh in its own frame (cylinder axis and cube edges along the local axes)."""
    if kind == "sphere":
        return sphere_mesh(name, diameter, PHYSICS_SPHERE if physics else VISUAL_SPHERE)
    if kind == "cylinder":
        sides = PHYSICS_CYLINDER_SIDES if physics else VISUAL_SIDES
        return cylinder_mesh(name, diameter, length, sides, circumscribed=physics)
    if kind == "cube":
        return box_mesh(name, (diameter, diameter, diameter))
    raise ValueError(f"unknown particle kind {kind!r}")


def transform(centre: Sequence[float], quaternion: Sequence[float] | None = None) -> Matrix:
    """The world matrix of a body at ``centre`` turned by ``quaternion`` (w, x, y, z)."""
    rotation = Quaternion(quaternion) if quaternion is not None else Quaternion()
    return Matrix.LocRotScale(Vector(centre), rotation, None)


def transforms(centres: np.ndarray, orientations: np.ndarray | None) -> list[Matrix]:
    """World matrices of bodies at ``centres``, turned by ``orientations`` (identity if None)."""
    if orientations is None:
        return [transform(c) for c in centres]
    return [transform(c, q) for c, q in zip(centres, orientations)]


def instances(
    template: bpy.types.Object, collection: bpy.types.Collection, matrices: Sequence[Matrix], prefix: str
) -> list[bpy.types.Object]:
    """``template`` placed at the first matrix and copies of it (same mesh, same rigid body) at the others."""
    objects = [template]
    for _ in matrices[1:]:
        copy = template.copy()  # shares the mesh datablock; copies the rigid-body settings
        collection.objects.link(copy)
        objects.append(copy)
    width = len(str(len(matrices)))
    for index, (obj, matrix) in enumerate(zip(objects, matrices)):
        obj.name = f"{prefix}.{index:0{width}d}"
        obj.matrix_world = matrix
    return objects


def new_object(name: str, mesh: bpy.types.Mesh, collection: bpy.types.Collection) -> bpy.types.Object:
    obj = bpy.data.objects.new(name, mesh)
    collection.objects.link(obj)
    return obj


# ------------------------------------------------------------------------------------------------
# physics scene
# ------------------------------------------------------------------------------------------------
def setup_world(scene: bpy.types.Scene, world: dict[str, Any]) -> bpy.types.RigidBodyWorld:
    """Rigid-body world with the request's fps, scaled gravity, substeps and solver iterations."""
    scene.render.fps, scene.render.fps_base = int(world["fps"]), 1.0
    scene.use_gravity = True
    scene.gravity = (0.0, 0.0, -world["gravity"] * world["scale"])
    bpy.ops.rigidbody.world_add()
    rbw = scene.rigidbody_world
    rbw.collection = bpy.data.collections.new("RigidBodyWorld")
    rbw.enabled = True
    rbw.time_scale = 1.0
    rbw.substeps_per_frame = int(world["substeps"])
    rbw.solver_iterations = int(world["iterations"])
    rbw.use_split_impulse = bool(world["split_impulse"])
    rbw.effector_weights.gravity = 1.0
    frames = int(world["frames"])  # every frame the run may step, relaxation included
    rbw.point_cache.frame_start = 1
    rbw.point_cache.frame_end = frames + 1
    scene.frame_start, scene.frame_end = 1, frames + 1
    return rbw


def make_rigid(obj: bpy.types.Object, body: dict[str, Any]) -> None:
    """Give ``obj`` a rigid body (one operator call) with the settings in ``body``."""
    view_layer = bpy.context.view_layer
    for other in view_layer.objects.selected:
        other.select_set(False)
    view_layer.objects.active = obj
    obj.select_set(True)
    bpy.ops.rigidbody.object_add(type=body["type"])
    obj.select_set(False)
    rb = obj.rigid_body
    rb.collision_shape = body["shape"]
    rb.mesh_source = "BASE"
    rb.use_margin = True  # use our margin for every shape, not Blender's 0.04 default
    rb.collision_margin = body["margin"]
    rb.friction = body["friction"]
    rb.restitution = body["restitution"]
    rb.use_deactivation = False
    if body["type"] == "ACTIVE":
        rb.mass = body["mass"]
        rb.linear_damping = body["linear_damping"]
        rb.angular_damping = body["angular_damping"]


def ensure_simulated(rbw: bpy.types.RigidBodyWorld, objects: Sequence[bpy.types.Object]) -> None:
    """Make sure every object is in the rigid-body world's collection (Blender links copies itself)."""
    present = {obj.name for obj in rbw.collection.objects}
    for obj in objects:
        if obj.name not in present:
            rbw.collection.objects.link(obj)


def build_container(
    scene: bpy.types.Scene, rbw: bpy.types.RigidBodyWorld, container: dict[str, Any], surface: dict[str, Any]
) -> list[bpy.types.Object]:
    """Passive floor (top face at z = 0), ceiling and a ring of box slabs tangent to the inner radius.

    Lengths are already in scene units. Slabs are as thick as ``container["thickness"]`` and
    overlap their neighbours, so the inner faces form a closed polygon with no gap to tunnel into.
    """
    collection = new_collection(scene, "Container")
    radius, thick, top, slabs = (container[k] for k in ("radius", "thickness", "top", "slabs"))
    outer = radius + thick
    body = {**surface, "type": "PASSIVE", "shape": "BOX"}
    plate = box_mesh("plate", (2.2 * outer, 2.2 * outer, thick))
    floor = new_object("floor", plate, collection)
    floor.location = (0.0, 0.0, -thick / 2)
    ceiling = new_object("ceiling", plate, collection)
    ceiling.location = (0.0, 0.0, top + thick / 2)
    height = top + 2 * thick
    width = 2.0 * outer * math.tan(math.pi / slabs) * 1.02
    slab = new_object("wall", box_mesh("slab", (thick, width, height)), collection)
    matrices = []
    for k in range(slabs):
        angle = 2.0 * math.pi * k / slabs
        centre = ((radius + thick / 2) * math.cos(angle), (radius + thick / 2) * math.sin(angle), top / 2)
        matrices.append(Matrix.LocRotScale(Vector(centre), Quaternion((0.0, 0.0, 1.0), angle), None))
    for obj in (floor, ceiling, slab):
        make_rigid(obj, body)
    walls = instances(slab, collection, matrices, "wall")
    objects = [floor, ceiling, *walls]
    ensure_simulated(rbw, objects)
    return objects


def build_particles(
    scene: bpy.types.Scene,
    rbw: bpy.types.RigidBodyWorld,
    particle: dict[str, Any],
    spawn: dict[str, np.ndarray],
    scale: float,
    surface: dict[str, Any],
) -> list[bpy.types.Object]:
    """The active particles at their spawn transforms, all sharing one mesh (scene units)."""
    kind = particle["kind"]
    d, length = particle["diameter"] * scale, particle["length"] * scale
    mesh = particle_mesh("particle", kind, d, length, physics=True)
    collection = new_collection(scene, "Particles")
    template = new_object("particle", mesh, collection)
    volume = particle["volume"] * scale**3
    make_rigid(
        template,
        {
            **surface,
            "type": "ACTIVE",
            "shape": particle["shape"],
            "mass": particle["density"] * volume,
            "linear_damping": particle["linear_damping"],
            "angular_damping": particle["angular_damping"],
        },
    )
    template.rigid_body.kinematic = True  # every particle waits in the hopper until released
    check_box_sized(template, particle["shape"], d)
    matrices = transforms(spawn["centres"] * scale, spawn.get("orientations"))
    particles = instances(template, collection, matrices, "particle")
    ensure_simulated(rbw, particles)
    return particles


def check_box_sized(obj: bpy.types.Object, shape: str, diameter: float) -> None:
    """Blender sizes SPHERE and BOX shapes from the bounding box: make sure it is d × d × d."""
    bpy.context.view_layer.update()
    if shape in ("SPHERE", "BOX") and max(abs(x - diameter) for x in obj.dimensions) > 1e-6 * diameter:
        raise RuntimeError(f"{shape} particle's bounding box {tuple(obj.dimensions)} is not {diameter} wide")


# ------------------------------------------------------------------------------------------------
# simulation
# ------------------------------------------------------------------------------------------------
def read_transforms(objects: Sequence[bpy.types.Object], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Depsgraph-evaluated centres (SI) and orientation quaternions (w, x, y, z, with w >= 0)."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    matrices = [obj.evaluated_get(depsgraph).matrix_world for obj in objects]
    centres = np.array([m.translation for m in matrices], dtype=np.float64) / scale
    quaternions = np.array([m.to_quaternion() for m in matrices], dtype=np.float64)
    quaternions /= np.linalg.norm(quaternions, axis=1, keepdims=True)
    quaternions *= np.where(quaternions[:, :1] < 0.0, -1.0, 1.0)
    return centres, quaternions


def turn_angles(before: np.ndarray, after: np.ndarray, axis_only: bool) -> np.ndarray:
    """Angle (rad) each particle turned between two orientations; ``axis_only``: of its local z axis.

    A cylinder spinning about its own axis keeps its shape in place, so only the tilt of
    its axis counts; any turn of a cube counts.
    """
    if axis_only:
        axis_before, axis_after = (
            np.stack([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)], axis=1)
            for w, x, y, z in (before.T, after.T)
        )
        return np.arccos(np.clip(np.sum(axis_before * axis_after, axis=1), -1.0, 1.0))
    return 2.0 * np.arccos(np.clip(np.abs(np.sum(before * after, axis=1)), 0.0, 1.0))


def speeds(
    before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray], dt: float, run: dict[str, Any]
) -> np.ndarray:
    """Each particle's speed over ``dt`` (m/s): centre displacement plus ``spin_reach`` × turn angle.

    ``spin_reach`` is the bounding radius of a non-sphere (0 for spheres, whose spin does not
    matter), so a cube turning in place counts as moving.
    """
    distance = np.linalg.norm(after[0] - before[0], axis=1)
    if run["spin_reach"] > 0.0:
        distance = distance + run["spin_reach"] * turn_angles(before[1], after[1], run["axis_only"])
    return distance / dt


class Pour:
    """The metered pour: particles wait in a hopper, are released band by band, and freeze once buried.

    *Hopper.* Waiting particles are kinematic bodies that keep their spawn lattice and are
    lowered together, at most ``hopper_speed``, until the lowest is ``gap`` above every
    released particle. Those whose bottom is within ``fall_height`` of the bed's top (the
    highest released particle slower than ``landed_speed``, or the floor) are made dynamic,
    so no particle falls further than that, however tall the column.

    *Freezing.* A released particle buried ``freeze_depth`` below the bed's top whose net
    speed is below ``freeze_speed`` becomes kinematic where it is. Bullet's iterative solver
    lets contacts sink in proportion to the weight they carry, so without this the bottom of
    a tall bed is squeezed into the floor and wall; frozen particles carry the bed above them
    rigidly and cost almost nothing. :meth:`thaw` makes them dynamic again.
    """

    def __init__(self, particles: Sequence[bpy.types.Object], run: dict[str, Any], scale: float) -> None:
        self.particles = particles
        self.scale = scale
        self.radius = run["bound_radius"]
        self.gap, self.fall_height = run["gap"], run["fall_height"]
        self.hopper_speed, self.landed_speed = run["hopper_speed"], run["landed_speed"]
        self.freeze_depth, self.freeze_speed = run["freeze_depth"], run["freeze_speed"]
        self.held = np.ones(len(particles), dtype=bool)
        self.frozen = np.zeros(len(particles), dtype=bool)
        self.bed_top = 0.0

    @property
    def waiting(self) -> int:
        return int(self.held.sum())

    def step(
        self, current: tuple[np.ndarray, np.ndarray], speed: np.ndarray, window_speed: np.ndarray, dt: float
    ) -> None:
        """Update the bed's top, then lower, release and freeze (applied at the next frame).

        ``speed`` is each particle's speed over the last frame, ``window_speed`` over the
        settle window.
        """
        centres = current[0]
        released = ~self.held
        tops = centres[:, 2] + self.radius
        self.bed_top = float(tops[released & (speed < self.landed_speed)].max(initial=0.0))
        if self.waiting:
            self._release(centres, max(self.bed_top, float(tops[released].max(initial=0.0))), dt)
        self._freeze(current, released & (window_speed < self.freeze_speed) & (tops < self.bed_top - self.freeze_depth))

    def _release(self, centres: np.ndarray, clear_top: float, dt: float) -> None:
        bottoms = centres[:, 2] - self.radius
        drop = min(max(float(bottoms[self.held].min()) - clear_top - self.gap, 0.0), self.hopper_speed * dt)
        release = self.held & (bottoms - drop <= self.bed_top + self.fall_height)
        if drop > 0.0:
            for index in np.flatnonzero(self.held):
                self.particles[index].location.z -= drop * self.scale
        for index in np.flatnonzero(release):
            self.particles[index].rigid_body.kinematic = False
        self.held &= ~release

    def _freeze(self, current: tuple[np.ndarray, np.ndarray], candidates: np.ndarray) -> None:
        centres, quaternions = current
        for index in np.flatnonzero(candidates & ~self.frozen):
            obj = self.particles[index]
            obj.matrix_world = transform(centres[index] * self.scale, quaternions[index])  # hold it where it is
            obj.rigid_body.kinematic = True
        self.frozen |= candidates

    def thaw(self) -> None:
        """Make the frozen particles dynamic again (at rest where they are)."""
        for index in np.flatnonzero(self.frozen):
            self.particles[index].rigid_body.kinematic = False
        self.frozen[:] = False


def set_damping(objects: Sequence[bpy.types.Object], linear: float, angular: float) -> None:
    """Damping of every body: the fraction of its linear / angular velocity lost per second."""
    for obj in objects:
        obj.rigid_body.linear_damping = linear
        obj.rigid_body.angular_damping = angular


def add_damping(objects: Sequence[bpy.types.Object], extra: float) -> None:
    """Remove a further fraction ``extra`` of the velocity per second: (1 - d) becomes (1 - d)(1 - extra)."""
    rb = objects[0].rigid_body  # all particles share their settings
    keep = 1.0 - extra
    set_damping(objects, 1.0 - (1.0 - rb.linear_damping) * keep, 1.0 - (1.0 - rb.angular_damping) * keep)


def relax(scene: bpy.types.Scene, particles: Sequence[bpy.types.Object], frames: int, iterations: int) -> None:
    """Push apart the contacts Bullet left penetrating (up to a few % of d), hardly moving the bed.

    Gravity off, at least ``iterations`` solver iterations, and damping 1: every body's
    velocity is zeroed at the start of each substep, so a substep only carries out the
    solver's penetration correction. This projects the bed onto non-overlapping positions,
    moving each particle by about its penetration depth.
    """
    scene.gravity = (0.0, 0.0, 0.0)
    rbw = scene.rigidbody_world
    rbw.solver_iterations = max(iterations, rbw.solver_iterations)
    set_damping(particles, 1.0, 1.0)
    for _ in range(frames):
        scene.frame_set(scene.frame_current + 1)


def simulate(
    scene: bpy.types.Scene, particles: Sequence[bpy.types.Object], run: dict[str, Any], scale: float, report: Report
) -> dict[str, Any]:
    """Step frame by frame: pour through the hopper, then wait for rest or the time limit.

    The evaluated transforms are read every frame. Once every particle is released the
    extra damping starts. Speeds for the stop are net displacements over the last
    ``settle_window`` frames (contact jitter cancels out, creeping does not); the bed has
    settled when the largest stays below ``rest_velocity`` for ``calm_checks`` frames in a row.
    """
    fps = scene.render.fps / scene.render.fps_base
    frames = math.ceil(run["max_time"] * fps - 1e-9)
    pour = Pour(particles, run, scale)
    scene.frame_set(1)
    history = deque([read_transforms(particles, scale)], maxlen=int(run["settle_window"]) + 1)
    released_at, calm, fastest, frame = math.nan, 0, math.inf, 1
    for frame in range(2, frames + 2):
        scene.frame_set(frame)
        t = (frame - 1) / fps
        current = read_transforms(particles, scale)
        history.append(current)
        window = speeds(history[0], current, (len(history) - 1) / fps, run)
        fastest = float(window.max(initial=0.0))
        was_waiting = pour.waiting
        pour.step(current, speeds(history[-2], current, 1.0 / fps, run), window, 1.0 / fps)
        if was_waiting and not pour.waiting:
            add_damping(particles, run["extra_damping"])
            released_at = t
        released_long_enough = not pour.waiting and t - released_at >= (len(history) - 1) / fps
        calm = calm + 1 if released_long_enough and fastest < run["rest_velocity"] else 0
        status = f"{pour.waiting} waiting" if pour.waiting else "all released"
        report(
            t / run["max_time"],
            f"t = {t:.3f} s (frame {frame}), {status}, {int(pour.frozen.sum())} frozen, max speed {fastest:.4g} m/s",
        )
        if calm >= run["calm_checks"]:
            break
    pour.thaw()
    settled = calm >= run["calm_checks"]
    return {
        "frames": frame,
        "simulated_time": (frame - 1) / fps,
        "settled": settled,
        "stop_reason": "settled" if settled else "max_time",
        "max_speed": fastest,
        "released_time": None if math.isnan(released_at) else released_at,
        "waiting": pour.waiting,
    }


def build_physics_scene(
    request: dict[str, Any], spawn: dict[str, np.ndarray]
) -> tuple[bpy.types.Scene, list[bpy.types.Object]]:
    """The scaled rigid-body scene of a ``"pack"`` request: world, container and waiting particles."""
    world, particle, scale = request["world"], request["particle"], request["world"]["scale"]
    scene = reset_scene()
    rbw = setup_world(scene, world)
    surface = {
        "friction": particle["friction"],
        "restitution": particle["restitution"],
        "margin": world["collision_margin"] * scale,
    }
    container = {k: v * scale if k != "slabs" else v for k, v in request["container"].items()}
    build_container(scene, rbw, container, surface)
    return scene, build_particles(scene, rbw, particle, spawn, scale, surface)


def pack(request: dict[str, Any], report: Report) -> dict[str, Any]:
    """The ``"pack"`` mode: build, simulate, relax, read back; returns the result summary."""
    work, particle, scale = Path(request["work_dir"]), request["particle"], request["world"]["scale"]
    with np.load(work / request["inputs"]) as data:
        spawn = {name: data[name] for name in data.files}
    timings: dict[str, float] = {}
    start = time.perf_counter()
    scene, particles = build_physics_scene(request, spawn)
    timings["build"] = time.perf_counter() - start
    report(BUILD_SHARE, f"built {len(particles)} particles and {request['container']['slabs']} wall slabs")

    start = time.perf_counter()
    run = request["run"]
    outcome = simulate(scene, particles, run, scale, scaled_report(report, BUILD_SHARE, BUILD_SHARE + SIMULATE_SHARE))
    timings["simulate"] = time.perf_counter() - start

    start = time.perf_counter()
    relax(scene, particles, int(run["relax_frames"]), int(run["relax_iterations"]))
    timings["relax"] = time.perf_counter() - start

    start = time.perf_counter()
    centres, orientations = read_transforms(particles, scale)
    arrays = {"centres": centres}
    if particle["kind"] != "sphere":
        arrays["orientations"] = orientations
    np.savez(work / request["outputs"], **arrays)
    timings["readback"] = time.perf_counter() - start
    report(1.0, f"{outcome['stop_reason']} after {outcome['simulated_time']:.2f} s simulated")
    return {**outcome, "count": len(particles), "timings": timings}


# ------------------------------------------------------------------------------------------------
# presentation scene and exports
# ------------------------------------------------------------------------------------------------
def material(name: str, rgba: tuple[float, float, float, float], roughness: float) -> bpy.types.Material:
    """A Principled material; alpha below 1 is blended (glTF exports it as BLEND)."""
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = rgba
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Alpha"].default_value = rgba[3]
    mat.diffuse_color = rgba
    if rgba[3] < 1.0 and hasattr(mat, "surface_render_method"):
        mat.surface_render_method = "BLENDED"
    return mat


def revolve(name: str, profile: Sequence[tuple[float, float]], sides: int) -> bpy.types.Mesh:
    """A closed solid of revolution about z from a closed ``(r, z)`` polygon; points with r = 0 are shared."""
    verts: list[tuple[float, float, float]] = []
    rings: list[list[int]] = []
    on_axis = 1e-9 * max(r for r, _ in profile)
    for r, z in profile:
        if r <= on_axis:
            verts.append((0.0, 0.0, z))
            rings.append([len(verts) - 1] * sides)
        else:
            base = len(verts)
            verts.extend(
                (r * math.cos(2 * math.pi * k / sides), r * math.sin(2 * math.pi * k / sides), z) for k in range(sides)
            )
            rings.append(list(range(base, base + sides)))
    faces = []
    for a, b in zip(rings, rings[1:] + rings[:1]):
        for k in range(sides):
            quad = [a[k], a[(k + 1) % sides], b[(k + 1) % sides], b[k]]
            face = list(dict.fromkeys(quad))  # a triangle where the profile touches the axis
            if len(face) >= 3:
                faces.append(face)
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    mesh.validate()
    bm = bmesh.new()
    bm.from_mesh(mesh)
    bmesh.ops.recalc_face_normals(bm, faces=bm.faces[:])
    bm.to_mesh(mesh)
    bm.free()
    smooth_with_sharp_edges(mesh)
    return mesh


def lid_profile(
    kind: str, radius: float, rim: float, thickness: float, z: float, up: bool
) -> list[tuple[float, float]]:
    """``(r, z)`` profile of a lid whose inner face is at height ``z``; ``up``: the lid lies above it.

    A flat lid is a disc out to ``rim`` (the wall's outer radius); a hemispherical lid is a
    shell of ``thickness`` on the column's inner radius.
    """
    sign = 1.0 if up else -1.0
    if kind == "flat":
        return [(0.0, z), (rim, z), (rim, z + sign * thickness), (0.0, z + sign * thickness)]
    outer, angles = radius + thickness, np.linspace(0.0, math.pi / 2, 16)
    inner_arc = [(radius * math.cos(a), z + sign * radius * math.sin(a)) for a in angles]
    outer_arc = [(outer * math.cos(a), z + sign * outer * math.sin(a)) for a in angles[::-1]]
    return [*inner_arc, *outer_arc]


def build_column(scene: bpy.types.Scene, container: dict[str, Any]) -> list[bpy.types.Object]:
    """The column wall (a tube of ``wall_thickness``) and its lids, as meshes in metres."""
    collection = new_collection(scene, "Column")
    radius, height, wall = container["diameter"] / 2, container["height"], container["wall_thickness"]
    glass = material("column", (0.75, 0.85, 0.95, 0.25), 0.05)
    parts = {"wall": [(radius, 0.0), (radius + wall, 0.0), (radius + wall, height), (radius, height)]}
    for end, z, up in (("bottom", 0.0, False), ("top", height, True)):
        kind = container[f"{end}_type"]
        if kind != "none" and container[f"{end}_thickness"] > 0:
            parts[f"{end}_lid"] = lid_profile(kind, radius, radius + wall, container[f"{end}_thickness"], z, up)
    objects = []
    for name, profile in parts.items():
        mesh = revolve(name, profile, VISUAL_SIDES * 2)
        mesh.materials.append(glass)
        objects.append(new_object(name, mesh, collection))
    return objects


def build_scene(request: dict[str, Any], report: Report) -> dict[str, Any]:
    """The ``"scene"`` mode: particles and column in metres, exported to each requested format."""
    work = Path(request["work_dir"])
    particle = request["particle"]
    with np.load(work / request["inputs"]) as data:
        centres = data["centres"]
        orientations = data["orientations"] if "orientations" in data.files else None
    timings: dict[str, float] = {}
    start = time.perf_counter()
    scene = reset_scene()
    units = scene.unit_settings
    units.system, units.scale_length, units.length_unit = "METRIC", 1.0, "MILLIMETERS"
    build_column(scene, request["container"])
    mesh = particle_mesh("particle", particle["kind"], particle["diameter"], particle["length"], physics=False)
    mesh.materials.append(material("particle", (0.8, 0.45, 0.15, 1.0), 0.4))
    collection = new_collection(scene, "Particles")
    if len(centres):
        instances(new_object("particle", mesh, collection), collection, transforms(centres, orientations), "particle")
    timings["build"] = time.perf_counter() - start
    report(0.3, f"built a scene of {len(centres)} particles")
    written = {}
    for index, (fmt, path) in enumerate(request["exports"].items()):
        start = time.perf_counter()
        export(fmt, Path(path))
        timings[f"export_{fmt}"] = time.perf_counter() - start
        written[fmt] = path
        report(0.3 + 0.7 * (index + 1) / len(request["exports"]), f"wrote {Path(path).name}")
    return {"written": written, "timings": timings, "count": len(centres)}


def export(fmt: str, path: Path) -> None:
    """Write the current scene as ``fmt`` (blend, gltf, glb or obj) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "blend":
        bpy.ops.wm.save_as_mainfile(filepath=str(path), compress=False, check_existing=False, copy=True)
    elif fmt in ("gltf", "glb"):
        bpy.ops.export_scene.gltf(
            filepath=str(path), export_format="GLB" if fmt == "glb" else "GLTF_SEPARATE", use_selection=False
        )
    elif fmt == "obj":  # z up, y forward: the file keeps the column frame's coordinates
        bpy.ops.wm.obj_export(filepath=str(path), forward_axis="Y", up_axis="Z", export_selected_objects=False)
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    if not path.is_file():
        raise RuntimeError(f"Blender did not write {path}")


# ------------------------------------------------------------------------------------------------
# entry point
# ------------------------------------------------------------------------------------------------
MODES: dict[str, Callable[[dict[str, Any], Report], dict[str, Any]]] = {"pack": pack, "scene": build_scene}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the request named on the command line; write ``result.json`` into its work folder."""
    args = list(sys.argv[1:] if argv is None else argv)
    protocol = Protocol()
    try:
        if len(args) != 1:
            raise ValueError("usage: python -m pipeline.packing.blender_child REQUEST.json")
        request = json.loads(Path(args[0]).read_text())
        mode = request.get("mode")
        if mode not in MODES:
            raise ValueError(f"unknown request mode {mode!r} (expected one of {sorted(MODES)})")
        print(f"bedflow blender child: mode {mode}, Blender {bpy.app.version_string}", flush=True)
        result = MODES[mode](request, protocol.report)
        result["blender"] = bpy.app.version_string
        (Path(request["work_dir"]) / request["result"]).write_text(json.dumps(result, indent=2))
    except Exception:  # noqa: BLE001 - reported to the parent through the log and the exit status
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
