"""Rigid-body packing with Blender's Bullet physics, and Blender scene exports.

The ``bpy`` work runs in a child process (:mod:`pipeline.packing.blender_child`):
Blender's state is global and heavy, so this module never imports ``bpy``. It
plans the run (spawn column, container, physics settings; numpy only), writes a
JSON request, runs the child with an argument list, forwards the child's JSON
progress lines to the caller's callback, and turns the child's result files into
a :class:`~pipeline.packing.model.Packing` it then checks.

The physics, as run by the child:

* **Scale.** Bullet works badly with millimetre bodies, so the scene is scaled by
  ``s = 1/d`` (particle diameter 1 unit); gravity is scaled by ``s`` as well, so
  the motion in time is unchanged, and results are scaled back to SI.
* **Container.** A passive floor whose top face is z = 0, a passive ceiling above
  the spawn column and a ring of 48-256 passive box slabs, each one bounding
  diameter thick, whose inner faces are tangent to ``R - clearance``. The polygon
  has enough sides that its corners lie within 0.25 % of d of the circle.
  Particles always rest on the flat floor at z = 0: the lid types shape the
  exported column, not the packing.
* **Particles.** Shape SPHERE for spheres and BOX for cubes (Bullet's exact
  primitives; a cube as a CONVEX_HULL with zero margin let cubes sink 20 % of d
  into each other), CONVEX_HULL for cylinders (a 32-sided hull circumscribing the
  true cylinder); collision margin ``packing.collision_margin`` with
  ``use_margin`` on. All particles share one mesh. Mass = density × volume in
  scaled units. Bullet multiplies the friction (and restitution) of the two
  bodies in contact, so every body gets ``sqrt(friction)`` and
  ``sqrt(restitution)``: particle-particle and particle-wall contacts then have
  the spec's coefficients. Blender has no rolling friction, so
  ``particles.rolling_friction`` is not used.
* **Pour.** The particles start, without overlap, in a jittered lattice column
  (spacing 1.1 × bounding diameter, randomly shifted and turned layer by layer,
  random orientations) from ``numpy.random.default_rng(particles.seed)``. They
  wait there as kinematic bodies (a hopper) that is lowered onto the growing bed
  and releases them band by band: no particle falls further than ``fall_height``,
  set so that the impact speed is at most ``SAFE_TRAVEL`` × its smallest dimension
  per substep (with 20 substeps about 0.96 m/s, a 35 mm fall for 5 mm particles).
  A short bed is released at once; a tall one cannot tunnel through the floor.
* **Freezing.** Bullet lets loaded contacts sink in proportion to the weight on
  them, so the bottom of a tall bed would be squeezed into the floor and wall. A
  released particle more than ``FREEZE_DEPTH`` bounding diameters under the bed's
  top that moves slower than ``rest_velocity`` becomes kinematic where it is; it
  is made dynamic again for the relaxation. This bounds the load and the cost of
  a tall bed (2000 spheres in a 25 mm tube: 18 s).
* **Damping.** Bodies lose ``linear_damping`` / ``angular_damping`` of their
  velocity per second (Bullet's damping). Once every particle has been released,
  ``packing.damping`` is added on top: a body then keeps ``(1 - d)(1 - damping)``
  of its velocity per second: the pour is not slowed, the settling is faster.
* **Stop.** The depsgraph-evaluated transforms are read every frame (24 fps).
  A particle's speed is its net centre displacement over the last
  ``SETTLE_WINDOW`` frames / that time, plus bounding radius × turn angle / time
  for non-spheres (the tilt of a cylinder's axis, any turn of a cube), so contact
  jitter cancels out and creeping does not. The bed has settled when, after the
  release, the largest speed stays below ``rest_velocity`` for ``CALM_CHECKS``
  frames. Otherwise the run stops at ``max_time`` with ``settled = False`` (a
  pour still unfinished then is a :class:`PackingError`).
* **Relaxation.** Bullet leaves loaded contacts penetrating (with the default 20
  substeps and 20 iterations up to about 5 % of d, 1 % on average, which also
  lowers the porosity by some 0.03). After the stop, ``RELAX_FRAMES`` frames are
  run with gravity off, ``RELAX_ITERATIONS`` solver iterations and every velocity
  zeroed each substep: the solver's penetration correction alone moves the
  particles, by about their penetration depth. In a bed up to ~15 d tall this
  leaves less than 1 % of d; in taller ones it cannot undo much (raise
  ``packing.iterations``: 50 halves the penetrations). ``simulated_time`` does
  not include this pass. Spheres then go through the native packer's last step
  (:func:`~pipeline.packing.native.remove_overlaps`, timed as ``polish``): no
  overlap is left beyond 1e-7 d, as with the native engine (a 60-sphere bed had
  74 pairs up to 0.22 % of d before it). Cylinders and cubes keep what Bullet
  leaves; the packing report counts those deeper than the contact gap.
* **Checks.** A particle more than 5 % of d outside the wall or below the floor
  has escaped: a :class:`PackingError`. So is a particle whose top is above the
  column height; the error names how many particles lie fully below it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .. import children
from ..progress import ProgressCallback, no_progress
from .model import Container, Packing, PackingError, contact_fields, packing_digest
from .native import centre_reach, remove_overlaps
from .shapes import check_contained, particle_count

if TYPE_CHECKING:
    from ..spec import BedSpec

ENGINE = "rigid_body"
CHILD_MODULE = "pipeline.packing.blender_child"
EXPORT_FORMATS = ("blend", "gltf", "glb", "obj")
#: Bullet collision shape of each particle kind.
COLLISION_SHAPES = {"sphere": "SPHERE", "cylinder": "CONVEX_HULL", "cube": "BOX"}
#: Frames per simulated second (transforms are read back every frame).
FPS = 24
#: Frames over which particle speeds are measured for the stop, and consecutive calm frames needed.
SETTLE_WINDOW = 6
CALM_CHECKS = 2
#: The pour: largest travel per substep (fraction of the smallest particle dimension) that sets the
#: impact speed, smallest release height and the gap kept under the hopper (bounding diameters).
SAFE_TRAVEL = 0.4
MIN_FALL = 0.5
HOPPER_GAP = 0.25
#: Particles this deep under the bed's top (bounding diameters) and slower than FREEZE_SPEED × rest_velocity freeze.
FREEZE_DEPTH = 8.0
FREEZE_SPEED = 1.0
#: Penetration relaxation after the stop (gravity off, velocities zeroed every substep): frames, solver iterations.
RELAX_FRAMES = 4
RELAX_ITERATIONS = 100
#: Spawn lattice spacing, in bounding diameters (>= 1.1 leaves room for the jitter).
SPAWN_SPACING = 1.1
#: How far (fraction of d) a particle may be outside the wall or below the floor before it has escaped.
#: Largest distance (fraction of d) of the wall polygon's corners outside the circle; sets the slab count.
WALL_POLYGON_TOLERANCE = 0.0025
WALL_SLABS = (48, 256)
#: Log lines quoted in a child failure.
LOG_TAIL = 30
#: Child time limit: measured seconds per particle and substep at 20 solver iterations (spheres, 2-core
#: machine: 1000 spheres take 9 µs), relative cost of the shapes, safety factor and fixed allowance (s).
COST_PER_BODY_STEP = 1e-5
SHAPE_COST = {"sphere": 1.0, "cube": 2.0, "cylinder": 5.0}
TIMEOUT_FACTOR = 4.0
TIMEOUT_FLOOR = 300.0


# ------------------------------------------------------------------------------------------------
# errors and the child process
# ------------------------------------------------------------------------------------------------
class BlenderChildError(PackingError):
    """The Blender child failed or timed out; carries the tail of its log."""

    def __init__(self, message: str, log_tail: Sequence[str], log_path: Path | None, returncode: int | None) -> None:
        self.log_tail = list(log_tail)
        self.log_path = log_path
        self.returncode = returncode
        where = f" (full log: {log_path})" if log_path is not None else ""
        tail = "".join(f"\n  | {line}" for line in self.log_tail)
        super().__init__(f"{message}{where}; last {len(self.log_tail)} log lines:{tail}")


class _Log:
    """The child's stdout and stderr, written to a file as they arrive; keeps the last lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tail: deque[str] = deque(maxlen=LOG_TAIL)
        self._lock = threading.Lock()
        self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, line: str) -> None:
        line = line.rstrip("\n")
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            self.tail.append(line)

    def pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.write(line)

    def close(self) -> None:
        self._file.close()


def progress_line(line: str) -> tuple[float, str] | None:
    """``(fraction, message)`` from a child line ``{"progress": f, "message": m}``, else None."""
    start = line.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(line[start:])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("progress"), (int, float)):
        return None
    return float(data["progress"]), str(data.get("message", ""))


def _child_env() -> dict[str, str]:
    """The environment of the child: this checkout first on the import path."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def run_child(
    request: dict[str, Any], work_dir: Path, timeout: float, progress: ProgressCallback
) -> dict[str, Any]:
    """Run the Blender child on ``request`` in ``work_dir`` and return its ``result.json``.

    Progress lines are forwarded to ``progress`` as they come; stdout and stderr go to
    ``work_dir/blender.log``. A non-zero exit, a timeout or a missing result raises
    :class:`BlenderChildError` with the last ``LOG_TAIL`` lines of the log.
    """
    request = {**request, "work_dir": str(work_dir), "result": "result.json"}
    request_path = work_dir / "request.json"
    request_path.write_text(json.dumps(request, indent=2))
    command = [sys.executable, "-m", CHILD_MODULE, str(request_path)]
    proc = children.popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, env=_child_env(), cwd=work_dir
    )
    log = _Log(work_dir / "blender.log")
    timed_out = threading.Event()

    def kill_on_timeout() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, kill_on_timeout)
    stderr_reader = threading.Thread(target=log.pump, args=(proc.stderr,), daemon=True)
    timer.start()
    stderr_reader.start()
    try:
        assert proc.stdout is not None
        with children.tracked(proc):
            for line in proc.stdout:
                log.write(line)
                parsed = progress_line(line)
                if parsed is not None:
                    progress(*parsed)
            returncode = proc.wait()
    except BaseException:
        children.kill_group(proc.pid)
        proc.wait()
        raise
    finally:
        timer.cancel()
        stderr_reader.join(timeout=10)
        log.close()
    if returncode != 0:
        reason = f"timed out after {timeout:.0f} s" if timed_out.is_set() else f"exited with status {returncode}"
        raise BlenderChildError(f"Blender child ({request['mode']}) {reason}", log.tail, log.path, returncode)
    result_path = work_dir / request["result"]
    if not result_path.is_file():
        raise BlenderChildError(f"Blender child ({request['mode']}) wrote no result", log.tail, log.path, returncode)
    return json.loads(result_path.read_text())


@contextmanager
def _work_folder(work_dir: Path | None) -> Iterator[Path]:
    """``work_dir`` (created, kept), or a temporary folder removed unless the child failed."""
    if work_dir is not None:
        work_dir = Path(work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        yield work_dir
        return
    folder = Path(tempfile.mkdtemp(prefix="bedflow-blender-"))
    keep = False
    try:
        yield folder
    except BlenderChildError:
        keep = True  # the error names the log in this folder
        raise
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _save_transforms(path: Path, centres: np.ndarray, orientations: np.ndarray | None) -> None:
    """Centres and (if any) orientations as an ``.npz`` for the child."""
    arrays = {"centres": centres}
    if orientations is not None:
        arrays["orientations"] = orientations
    np.savez(path, **arrays)


def _load_transforms(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    with np.load(path) as data:
        return data["centres"], data["orientations"] if "orientations" in data.files else None


# ------------------------------------------------------------------------------------------------
# geometry helpers (numpy)
# ------------------------------------------------------------------------------------------------
def random_quaternions(rng: np.random.Generator, count: int) -> np.ndarray:
    """Uniformly random unit quaternions (w, x, y, z), w >= 0 (Shoemake's method)."""
    u1, u2, u3 = rng.random((3, count))
    a, b = np.sqrt(1.0 - u1), np.sqrt(u1)
    t2, t3 = 2.0 * np.pi * u2, 2.0 * np.pi * u3
    q = np.stack([a * np.sin(t2), a * np.cos(t2), b * np.sin(t3), b * np.cos(t3)], axis=1)
    return q * np.where(q[:, :1] < 0.0, -1.0, 1.0)


# ------------------------------------------------------------------------------------------------
# planning
# ------------------------------------------------------------------------------------------------
def wall_slab_count(radius: float, diameter: float) -> int:
    """Slabs whose tangent polygon's corners stay within ``WALL_POLYGON_TOLERANCE`` × d of the circle."""
    needed = math.pi * math.sqrt(radius / (2.0 * WALL_POLYGON_TOLERANCE * diameter))
    low, high = WALL_SLABS
    return int(min(high, max(low, math.ceil(needed))))


@dataclass(frozen=True)
class SpawnColumn:
    """Non-overlapping start transforms (SI) and the top of the column they fill."""

    centres: np.ndarray
    orientations: np.ndarray | None
    top: float


def _layer_points(rng: np.random.Generator, spacing: float, rho_max: float) -> np.ndarray:
    """Points of a square grid, randomly shifted and turned, within ``rho_max`` of the axis."""
    if rho_max < spacing:  # narrow column: keep the axis on the grid so the layer is never empty
        shift = np.zeros(2)
    else:
        shift = rng.random(2) * spacing
    n = int(math.ceil(rho_max / spacing)) + 1
    grid = np.arange(-n, n + 1) * spacing
    points = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2) + shift
    angle = rng.random() * 2.0 * np.pi
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = points @ turn.T
    return points[np.hypot(points[:, 0], points[:, 1]) <= rho_max + 1e-12]


def spawn_column(spec: "BedSpec", count: int) -> SpawnColumn:
    """A jittered lattice column of ``count`` particles above the floor, inside ``R - clearance``.

    Lattice spacing ``a = SPAWN_SPACING × b`` (b: bounding diameter) and a jitter of at most
    ``(a - b)/2`` per axis keep any two particles apart; lattice points lie within
    ``R - clearance - b/2 - √2 × jitter`` of the axis so jittered particles stay inside.
    The last layer is a random subset. Same seed, same column.
    """
    p = spec.particles
    rng = np.random.default_rng(p.seed)
    b = p.circumscribed_diameter()
    a = SPAWN_SPACING * b
    free = spec.bed.diameter / 2.0 - spec.bed.clearance - b / 2.0 - 0.01 * b
    jitter = min(0.45 * (a - b), max(0.0, free) / (2.0 * math.sqrt(2.0)))
    rho_max = max(0.0, free - math.sqrt(2.0) * jitter)
    z0 = b / 2.0 + jitter + 0.05 * b
    layers: list[np.ndarray] = []
    placed = 0
    while placed < count:
        xy = _layer_points(rng, a, rho_max)
        if placed + len(xy) > count:
            xy = xy[np.sort(rng.choice(len(xy), count - placed, replace=False))]
        z = np.full((len(xy), 1), z0 + len(layers) * a)
        layers.append(np.hstack([xy, z]))
        placed += len(xy)
    centres = np.vstack(layers) + rng.uniform(-jitter, jitter, (count, 3))
    orientations = None if p.kind == "sphere" else random_quaternions(rng, count)
    return SpawnColumn(centres, orientations, float(centres[:, 2].max() + b / 2.0))


def _pack_request(spec: "BedSpec", column: SpawnColumn) -> dict[str, Any]:
    """The child's ``"pack"`` request (SI; the child applies ``world.scale``)."""
    p, pk = spec.particles, spec.packing
    b = p.circumscribed_diameter()
    radius = spec.bed.diameter / 2.0 - spec.bed.clearance
    return {
        "mode": "pack",
        "inputs": "spawn.npz",
        "outputs": "packing.npz",
        "particle": {
            "kind": p.kind,
            "shape": COLLISION_SHAPES[p.kind],
            "diameter": p.diameter,
            "length": p.length,
            "volume": p.volume(),
            "density": p.density,
            "friction": math.sqrt(p.friction),  # Bullet multiplies the two bodies' coefficients
            "restitution": math.sqrt(p.restitution),
            "linear_damping": p.linear_damping,
            "angular_damping": p.angular_damping,
        },
        "container": {
            "radius": radius,
            "thickness": b,
            "top": max(column.top, spec.bed.height) + 2.0 * b,
            "slabs": wall_slab_count(radius, p.diameter),
        },
        "world": {
            "scale": 1.0 / p.diameter,
            "gravity": pk.gravity,
            "fps": FPS,
            "frames": math.ceil(pk.max_time * FPS) + RELAX_FRAMES + 1,
            "substeps": pk.substeps,
            "iterations": pk.iterations,
            "collision_margin": pk.collision_margin,
            "split_impulse": True,
        },
        "run": {
            "max_time": pk.max_time,
            "rest_velocity": pk.rest_velocity,
            "extra_damping": pk.damping,
            "calm_checks": CALM_CHECKS,
            "relax_frames": RELAX_FRAMES,
            "relax_iterations": RELAX_ITERATIONS,
            "bound_radius": b / 2.0,
            "spin_reach": 0.0 if p.kind == "sphere" else b / 2.0,
            "axis_only": p.kind == "cylinder",
            "settle_window": SETTLE_WINDOW,
            **pour_settings(spec),
        },
    }


def pour_settings(spec: "BedSpec") -> dict[str, float]:
    """The hopper's settings (SI): release ``fall_height``, ``hopper_speed``, ``landed_speed``, ``gap``.

    A particle may travel ``SAFE_TRAVEL`` × its smallest dimension per substep, which caps
    the impact speed at ``v``; the fall height and the hopper's speed are chosen so the
    impact stays below ``v`` (hopper speed² + 2 g × fall height <= v²), and never below
    ``MIN_FALL`` bounding diameters, so the pour always moves on.
    """
    p, pk = spec.particles, spec.packing
    b = p.circumscribed_diameter()
    size = min(p.diameter, p.length) if p.kind == "cylinder" else p.diameter
    v = SAFE_TRAVEL * size * pk.substeps * FPS
    fall_height = max(MIN_FALL * b, 0.75 * v**2 / (2.0 * pk.gravity))
    return {
        "fall_height": fall_height,
        "hopper_speed": 0.5 * max(v, math.sqrt(2.0 * pk.gravity * b)),
        "landed_speed": 0.25 * math.sqrt(2.0 * pk.gravity * fall_height),
        "gap": HOPPER_GAP * b,
        "freeze_depth": FREEZE_DEPTH * b,
        "freeze_speed": FREEZE_SPEED * pk.rest_velocity,
    }


def pack_timeout(spec: "BedSpec", count: int) -> float:
    """A generous wall-time limit (s) for packing ``count`` particles of ``spec``."""
    pk = spec.packing
    steps = (pk.max_time * FPS * pk.iterations + RELAX_FRAMES * RELAX_ITERATIONS) * pk.substeps / 20.0
    estimate = COST_PER_BODY_STEP * SHAPE_COST[spec.particles.kind] * steps * count
    return TIMEOUT_FLOOR + TIMEOUT_FACTOR * estimate


# ------------------------------------------------------------------------------------------------
# checks
# ------------------------------------------------------------------------------------------------
# ------------------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------------------
def pack_rigid_body(
    spec: "BedSpec", progress: ProgressCallback | None = None, *, work_dir: Path | None = None
) -> Packing:
    """Pack ``spec``'s particles with Blender rigid-body physics (see the module docstring).

    ``progress(fraction, message)`` receives the child's progress as it runs. With
    ``work_dir`` the request, log (``blender.log``) and raw results are kept there;
    otherwise they live in a temporary folder, removed on success and kept (and named
    in the error) on failure. Raises :class:`PackingError` when the child fails, a
    particle escapes or the particles do not fit below ``bed.height``.
    """
    report = progress or no_progress
    started = time.perf_counter()
    count = particle_count(spec)
    column = spawn_column(spec, count)
    request = _pack_request(spec, column)
    report(0.0, f"starting Blender to pack {count} {spec.particles.kind}s")
    with _work_folder(work_dir) as folder:
        _save_transforms(folder / request["inputs"], column.centres, column.orientations)
        result = run_child(request, folder, pack_timeout(spec, count), report)
        centres, orientations = _load_transforms(folder / request["outputs"])
    if spec.particles.kind == "sphere":
        polish_started = time.perf_counter()
        centres = remove_overlaps(centres, spec.particles.diameter, centre_reach(spec))
        result["timings"]["polish"] = time.perf_counter() - polish_started
    if result["waiting"]:
        raise PackingError(
            f"the pour did not finish within packing.max_time = {spec.packing.max_time:g} s: "
            f"{result['waiting']} of {count} particles were still waiting to be released; raise "
            f"packing.max_time (or packing.substeps, which lets particles fall faster)"
        )
    timings = {key: float(value) for key, value in result["timings"].items()}
    timings["total"] = time.perf_counter() - started
    packing = Packing(
        container=Container.from_spec(spec),
        kind=spec.particles.kind,
        diameter=spec.particles.diameter,
        length=spec.particles.length,
        centres=centres,
        orientations=orientations,
        engine=ENGINE,
        digest=packing_digest(spec),
        seed=spec.particles.seed,
        **contact_fields(spec),
        settled=bool(result["settled"]),
        stop_reason=str(result["stop_reason"]),
        simulated_time=float(result["simulated_time"]),
        timings=timings,
        spec=spec.to_dict(),
    )
    check_contained(packing, advice=": raise packing.substeps and packing.iterations")
    report(1.0, f"packed {count} particles ({packing.stop_reason} after {packing.simulated_time:.2f} s simulated)")
    return packing


def write_blender_exports(
    packing: Packing,
    out_dir: Path,
    formats: Sequence[str],
    progress: ProgressCallback | None = None,
    *,
    work_dir: Path | None = None,
) -> dict[str, Path]:
    """Build a Blender scene of ``packing`` (any engine's) and write ``packing.<format>`` files.

    ``formats`` is a subset of ``blend``, ``gltf`` (with ``packing.bin`` beside it), ``glb``
    and ``obj``. The scene holds the particles (one shared mesh) and the column wall and
    lids, in metres; the OBJ keeps the column frame (z up), glTF is y-up as its standard
    says. Returns ``{format: path}``.
    """
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown:
        raise PackingError(f"Blender cannot export {unknown} (choose from {list(EXPORT_FORMATS)})")
    chosen = list(dict.fromkeys(formats))
    if not chosen:
        return {}
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {fmt: out_dir / f"packing.{fmt}" for fmt in chosen}
    request = {
        "mode": "scene",
        "inputs": "transforms.npz",
        "particle": {"kind": packing.kind, "diameter": packing.diameter, "length": packing.length},
        "container": asdict(packing.container),
        "exports": {fmt: str(path) for fmt, path in paths.items()},
    }
    timeout = TIMEOUT_FLOOR + 0.05 * packing.count * len(chosen)
    with _work_folder(work_dir) as folder:
        _save_transforms(folder / request["inputs"], packing.centres, packing.orientations)
        run_child(request, folder, timeout, progress or no_progress)
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise PackingError(f"Blender did not write {missing}")
    return paths


__all__ = [
    "BlenderChildError",
    "EXPORT_FORMATS",
    "pack_rigid_body",
    "particle_count",
    "spawn_column",
    "write_blender_exports",
]
