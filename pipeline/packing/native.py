"""The native packer: equal spheres poured into a cylinder with a flat bottom.

Method: position-based dynamics (Müller et al. 2007, "Position based dynamics")
of spheres under gravity, a model of pouring:

1. *Fill*: the spheres start at random, non-overlapping positions (random
   sequential addition) in a loose column above the bottom, seeded.
2. *Pour*: each step integrates gravity, caps the fall speed (a terminal
   velocity of a quarter diameter per step, which keeps contacts resolvable),
   then projects the positions onto the constraints with Gauss–Seidel sweeps: no
   two spheres closer than d, every sphere inside the wall and above the bottom
   (the wall and bottom have the particles' friction too).
   Velocities follow from the corrected positions, so contacts are perfectly
   inelastic. Static friction at contacts follows Macklin et al. (2014, "Unified
   particle physics"): relative sliding during a step is cancelled while it is
   below ``friction`` × the penetration resolved, so a bed keeps the looser
   structure of a real pour (higher friction, higher porosity).
3. *Sleep*: as in rigid-body engines (Bullet's deactivation), spheres buried
   more than ``SLEEP_DEPTH`` below the lowest still-falling sphere and at rest for
   a window of steps stop moving and act as fixed supports. Only the few active
   layers near the surface are solved, so a step costs O(active spheres) and tall
   beds neither creep nor compact under the solver's residual error.
4. *Settle*: stop when every sphere is slower than ``rest_velocity`` (averaged
   over ``WINDOW`` steps, which filters solver jitter), or at ``max_time`` of
   simulated time (reported as such).
5. *Polish*: without gravity, project until no overlap exceeds 1e-7 d (lower
   spheres weighted heavier, so the small expansion runs upwards).

Pairs come from a KD-tree neighbour list with a skin, rebuilt when a sphere has
moved half the skin or when spheres fell asleep. The time step is
``0.05 sqrt(d/g)``, so ``max_time`` and ``rest_velocity`` keep their physical
meaning. Restitution and rolling friction do not enter (contacts are inelastic);
``linear_damping`` (and ``packing.damping`` once the pour is over) damp
velocities as Blender does (fraction lost per second).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from numba import njit
from scipy.spatial import cKDTree

from ..progress import ProgressCallback, no_progress
from ..spec import BedSpec
from .model import Container, Packing, PackingError, contact_fields, packing_digest
from .shapes import check_contained, particle_count

#: Overlap left by the final projection, as a fraction of d.
POLISH_TOLERANCE = 1e-7
#: Gauss–Seidel sweeps per time step while pouring, at most ...
SWEEPS = 60
#: ... or fewer, once no overlap is deeper than this (diameters).
POUR_TOLERANCE = 1e-3
#: Terminal fall speed, in diameters per step.
TERMINAL_SPEED = 0.25
#: Steps over which the rest test averages speeds.
WINDOW = 20
#: Resting spheres this many diameters below the lowest falling sphere fall asleep.
SLEEP_DEPTH = 5.0
#: Windows in a row a sphere must be at rest before it may fall asleep.
SLEEP_WINDOWS = 3
#: A sphere faster than this (diameters per step, averaged over a window) is still falling.
FALLING_SPEED = 0.2 * TERMINAL_SPEED
#: While polishing, inverse mass ∝ exp(-POLISH_MASS_SCALING × height): lower spheres are heavier.
POLISH_MASS_SCALING = 2.0


@dataclass
class _State:
    """Positions, velocities and sleep flags, lengths in particle diameters (d = 1)."""

    x: np.ndarray
    v: np.ndarray
    wall: float  # largest radial position of a centre
    asleep: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    quiet: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # windows at rest in a row

    def __post_init__(self) -> None:
        if len(self.asleep) != len(self.x):
            self.asleep = np.zeros(len(self.x), dtype=np.bool_)
            self.quiet = np.zeros(len(self.x), dtype=np.int64)


def _random_fill(rng: np.random.Generator, count: int, wall: float, solid_fraction: float = 0.25) -> np.ndarray:
    """Random sequential addition of unit-diameter spheres in a column of centre radius ``wall``.

    Vectorised in rounds: a batch of uniform candidates is thinned against the
    spheres already placed (KD-tree) and against each other.
    """
    column_area = math.pi * (wall + 0.5) ** 2
    height = max(2.0, count * (math.pi / 6.0) / (solid_fraction * column_area))
    placed = np.empty((0, 3))
    while len(placed) < count:
        missing = count - len(placed)
        batch = rng.random((max(256, 2 * missing), 3))
        rho = wall * np.sqrt(batch[:, 0])
        theta = 2.0 * math.pi * batch[:, 1]
        candidates = np.column_stack([rho * np.cos(theta), rho * np.sin(theta), 0.5 + height * batch[:, 2]])
        if len(placed):
            distance, _ = cKDTree(placed).query(candidates, k=1, distance_upper_bound=1.0)
            candidates = candidates[~np.isfinite(distance)]
        clashes = cKDTree(candidates).query_pairs(1.0, output_type="ndarray")
        keep = np.ones(len(candidates), dtype=bool)
        keep[clashes[:, 1]] = False  # of each clashing pair, drop the later candidate
        accepted = candidates[keep][:missing]
        placed = np.vstack([placed, accepted])
        if len(accepted) < 0.01 * missing + 1:  # the column is nearly jammed: make it taller
            height *= 1.25
    return placed


@njit(cache=True)
def _clamp(x: np.ndarray, x0: np.ndarray, i: int, wall: float, mu: float) -> None:
    """Push sphere ``i`` back inside the wall and above the bottom, with static friction on both.

    Friction: the slip along the container surface since ``x0`` is undone while it
    is below ``mu`` × the penetration pushed back (as for particle contacts).
    """
    rho = math.sqrt(x[i, 0] * x[i, 0] + x[i, 1] * x[i, 1])
    if rho > wall:
        depth = rho - wall
        nx, ny = x[i, 0] / rho, x[i, 1] / rho
        x[i, 0] = wall * nx
        x[i, 1] = wall * ny
        if mu > 0.0:
            sx, sy, sz = x[i, 0] - x0[i, 0], x[i, 1] - x0[i, 1], x[i, 2] - x0[i, 2]
            sn = sx * nx + sy * ny
            tx, ty = sx - sn * nx, sy - sn * ny
            if math.sqrt(tx * tx + ty * ty + sz * sz) < mu * depth:
                x[i, 0] -= tx
                x[i, 1] -= ty
                x[i, 2] -= sz
    if x[i, 2] < 0.5:
        depth = 0.5 - x[i, 2]
        x[i, 2] = 0.5
        if mu > 0.0:
            sx, sy = x[i, 0] - x0[i, 0], x[i, 1] - x0[i, 1]
            if math.sqrt(sx * sx + sy * sy) < mu * depth:
                x[i, 0] = x0[i, 0]
                x[i, 1] = x0[i, 1]


@njit(cache=True)
def _clamp_all(x: np.ndarray, x0: np.ndarray, wall: float, mu: float) -> None:
    for i in range(x.shape[0]):
        _clamp(x, x0, i, wall, mu)


@njit(cache=True)
def _gauss_seidel(x: np.ndarray, x0: np.ndarray, asleep: np.ndarray, pi: np.ndarray, pj: np.ndarray,
                  wall: float, mu: float, sweeps: int, tolerance: float, mass_scaling: float) -> float:
    """Project unit spheres ``x`` onto non-overlap and container constraints, in place.

    Gauss–Seidel sweeps over the candidate pairs (ordered bottom-up). A sleeping
    sphere does not move: its partner takes the whole correction. With ``mu`` > 0
    the tangential slip of a contact since ``x0`` is cancelled while below ``mu`` ×
    the penetration (static friction). ``mass_scaling`` > 0 makes lower spheres
    heavier (inverse mass ∝ exp(-mass_scaling × depth)). Returns the deepest
    overlap met in the last sweep.
    """
    deepest = 0.0
    for _ in range(sweeps):
        deepest = 0.0
        for k in range(pi.shape[0]):
            i, j = pi[k], pj[k]
            dx, dy, dz = x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2]
            dist2 = dx * dx + dy * dy + dz * dz
            if dist2 >= 1.0:
                continue
            dist = math.sqrt(dist2)
            if dist < 1e-12:
                dx, dy, dz, dist = 0.0, 0.0, 1.0, 1.0
            overlap = 1.0 - dist
            if overlap > deepest:
                deepest = overlap
            nx, ny, nz = dx / dist, dy / dist, dz / dist
            if asleep[i]:
                share = 1.0  # j takes it all
            elif asleep[j]:
                share = 0.0
            elif mass_scaling > 0.0:
                share = 1.0 / (1.0 + math.exp(-mass_scaling * dz))
            else:
                share = 0.5
            cx, cy, cz = overlap * nx, overlap * ny, overlap * nz
            if mu > 0.0:
                sx = (x[j, 0] - x0[j, 0]) - (x[i, 0] - x0[i, 0])
                sy = (x[j, 1] - x0[j, 1]) - (x[i, 1] - x0[i, 1])
                sz = (x[j, 2] - x0[j, 2]) - (x[i, 2] - x0[i, 2])
                sn = sx * nx + sy * ny + sz * nz
                tx, ty, tz = sx - sn * nx, sy - sn * ny, sz - sn * nz
                if math.sqrt(tx * tx + ty * ty + tz * tz) < mu * overlap:
                    cx, cy, cz = cx - tx, cy - ty, cz - tz
            if share < 1.0:
                x[i, 0] -= (1.0 - share) * cx
                x[i, 1] -= (1.0 - share) * cy
                x[i, 2] -= (1.0 - share) * cz
                _clamp(x, x0, i, wall, mu)
            if share > 0.0:
                x[j, 0] += share * cx
                x[j, 1] += share * cy
                x[j, 2] += share * cz
                _clamp(x, x0, j, wall, mu)
        if deepest <= tolerance:
            break
    return deepest


class _Projector:
    """Constraint projection over a KD-tree neighbour list with a skin."""

    def __init__(self, skin: float) -> None:
        self.skin = skin
        self.pi = np.empty(0, dtype=np.int64)
        self.pj = np.empty(0, dtype=np.int64)
        self.reference: np.ndarray | None = None
        self.rebuilds = 0

    def invalidate(self) -> None:
        self.reference = None

    def neighbours(self, s: _State, x: np.ndarray) -> None:
        """Rebuild the pair list when a sphere has moved half the skin since the last build."""
        if self.reference is not None:
            moved = x - self.reference
            if np.einsum("ij,ij->i", moved, moved).max() < (0.5 * self.skin) ** 2:
                return
        pairs = cKDTree(x).query_pairs(1.0 + self.skin, output_type="ndarray")
        pairs = pairs[~(s.asleep[pairs[:, 0]] & s.asleep[pairs[:, 1]])]  # two sleepers never interact
        order = np.argsort(np.minimum(x[pairs[:, 0], 2], x[pairs[:, 1], 2]), kind="stable")
        self.pi = np.ascontiguousarray(pairs[order, 0], dtype=np.int64)
        self.pj = np.ascontiguousarray(pairs[order, 1], dtype=np.int64)
        self.reference = x.copy()
        self.rebuilds += 1

    def project(self, s: _State, x: np.ndarray, friction: float, sweeps: int, tolerance: float = 0.0,
                mass_scaling: float = 0.0) -> float:
        """Project ``x`` onto the constraints in place; return the deepest overlap of the last sweep."""
        self.neighbours(s, x)
        return _gauss_seidel(x, s.x, s.asleep, self.pi, self.pj, s.wall, friction, sweeps, tolerance, mass_scaling)


def pack_native(spec: BedSpec, progress: ProgressCallback | None = None) -> Packing:
    """Pack ``spec``'s spheres with the native position-based-dynamics packer.

    Raises :class:`PackingError` if the spheres do not fit below the column
    height, naming how many do.
    """
    spec.validate()
    report = progress or no_progress
    p = spec.particles
    if p.kind != "sphere":
        raise PackingError(f"the native packer packs spheres only, not {p.kind}s; use packing.method = rigid_body")
    d = p.diameter
    count = particle_count(spec)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    wall = centre_reach(spec) / d
    x = _random_fill(np.random.default_rng(p.seed), count, wall)
    state = _State(x=x, v=np.zeros_like(x), wall=wall)
    timings["fill"] = time.perf_counter() - started
    report(0.02, f"placed {count} spheres")

    started = time.perf_counter()
    settled, simulated = _pour(state, spec, report)
    timings["pour"] = time.perf_counter() - started

    started = time.perf_counter()
    _polish(state)
    timings["polish"] = time.perf_counter() - started
    report(1.0, f"packed {count} spheres ({'settled' if settled else 'max_time reached'})")

    packing = Packing(
        container=Container.from_spec(spec),
        kind="sphere",
        diameter=d,
        length=p.length,
        centres=state.x * d,
        engine="native",
        digest=packing_digest(spec),
        seed=p.seed,
        **contact_fields(spec),
        settled=settled,
        stop_reason="settled" if settled else "max_time",
        simulated_time=simulated,
        timings=timings,
        spec=spec.to_dict(),
    )
    check_contained(packing)
    return packing


def _pour(s: _State, spec: BedSpec, report: ProgressCallback) -> tuple[bool, float]:
    """Integrate gravity with projected constraints until at rest; return (settled, simulated time)."""
    p, pk = spec.particles, spec.packing
    d, g = p.diameter, pk.gravity
    dt = 0.05 * math.sqrt(d / g)  # physical time step (s)
    gravity_step = g * dt * dt / d  # velocity gained per step, in d per step
    rest = pk.rest_velocity * dt / d  # rest speed in d per step
    linear = (1.0 - p.linear_damping) ** dt
    extra = (1.0 - pk.damping) ** dt
    projector = _Projector(skin=0.3)
    landing = float(s.x[:, 2].max()) / TERMINAL_SPEED + 2 * WINDOW  # steps for the top sphere to land
    max_steps = max(1, int(pk.max_time / dt))
    window_start = s.x.copy()
    for step in range(1, max_steps + 1):
        awake = ~s.asleep
        s.v[awake, 2] -= gravity_step
        s.v *= linear * extra if step > landing else linear
        speed = np.sqrt(np.einsum("ij,ij->i", s.v, s.v))
        fast = speed > TERMINAL_SPEED
        if fast.any():
            s.v[fast] *= (TERMINAL_SPEED / speed[fast])[:, None]
        x_new = s.x + s.v
        _clamp_all(x_new, s.x, s.wall, p.friction)
        projector.project(s, x_new, friction=p.friction, sweeps=SWEEPS, tolerance=POUR_TOLERANCE)
        s.v = x_new - s.x
        s.x = x_new
        if step % WINDOW == 0:
            moved = s.x - window_start
            speeds = np.sqrt(np.einsum("ij,ij->i", moved, moved)) / WINDOW
            window_start = s.x.copy()
            vmax = float(speeds.max())
            report(0.02 + 0.9 * min(1.0, step / (2 * landing)),
                   f"t = {step * dt:.3f} s, max speed {vmax * d / dt:.3g} m/s, {int(s.asleep.sum())} at rest")
            if vmax < rest:
                return True, step * dt
            if _fall_asleep(s, speeds, rest):
                projector.invalidate()
    return False, max_steps * dt


def _fall_asleep(s: _State, speeds: np.ndarray, rest: float) -> bool:
    """Put to sleep the resting spheres buried below the lowest falling one; True if any did.

    "Falling" is faster than ``FALLING_SPEED`` (a sphere still arriving), so a few
    spheres jittering under the load of the bed do not keep the whole bed awake.
    """
    falling = speeds >= FALLING_SPEED
    front = float(s.x[falling, 2].min()) if falling.any() else math.inf
    s.quiet = np.where(speeds < rest, s.quiet + 1, 0)
    sleepy = ~s.asleep & (s.quiet >= SLEEP_WINDOWS) & (s.x[:, 2] < front - SLEEP_DEPTH)
    if not sleepy.any():
        return False
    s.asleep |= sleepy
    s.v[sleepy] = 0.0
    return True


def centre_reach(spec: BedSpec) -> float:
    """How far from the axis a sphere's centre may lie (m): the wall, less the clearance and a radius."""
    return spec.bed.diameter / 2.0 - spec.bed.clearance - spec.particles.diameter / 2.0


def remove_overlaps(centres: np.ndarray, diameter: float, reach: float) -> np.ndarray:
    """Centres (m) of equal spheres moved apart until no two overlap by more than ``POLISH_TOLERANCE`` × d, each
    centre within ``reach`` of the axis and at least d/2 above the floor: the last step of the native packer,
    also run on the spheres another engine (Blender) packed. The spheres move by about their overlaps."""
    state = _State(x=np.array(centres, dtype=np.float64) / diameter, v=np.zeros_like(centres, dtype=np.float64),
                   wall=reach / diameter)
    _clamp_all(state.x, state.x.copy(), state.wall, 0.0)  # a sphere touching no other: the polish sees pairs only
    _polish(state)
    return state.x * diameter


def _polish(s: _State) -> None:
    """Remove the last overlaps without gravity (everyone awake, lower spheres heavier)."""
    s.asleep[:] = False
    projector = _Projector(skin=0.05)
    for _ in range(400):
        deepest = projector.project(s, s.x, friction=0.0, sweeps=50, tolerance=POLISH_TOLERANCE,
                                    mass_scaling=POLISH_MASS_SCALING)
        if deepest <= POLISH_TOLERANCE:
            return
    raise PackingError(f"could not remove overlaps (deepest {deepest:.2e} d); report this packing's spec")
