"""The retargeting solver: one tracking frame in, one VRM humanoid pose out.

The steps, in the order a frame goes through them:

1. axes: MediaPipe world to the avatar frame (``rigging.landmarks``), then the calibration's
   camera correction;
2. world orientation of each bone by swing-twist alignment (``rigging.body``, ``rigging.hands``,
   ``rigging.face``), composed down the hierarchy into local rotations;
3. joint limits as swing-twist cones (``rigging.limits``);
4. presence: limbs not seen ease to rest and back (``rigging.presence``);
5. one temporal filter on the result (``rigging.rotation_filter``, ``rigging.one_euro``), driven by
   the frames' timestamps;
6. expressions from the blendshapes (``rigging.face``) and the hips' displacement.

:func:`solve_batch` runs these steps for the frames of many independent solvers (one per operator)
at once, on arrays with a leading batch axis: numpy's cost on arrays this small is per call, not
per number, so a batch of 50 costs little more than one frame. Each solver keeps its own state;
frames differ in what they hold, and masks (``rigging.frame_stack``) rather than per-frame
branches decide what counts. ``Retargeter.solve`` is a batch of one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

import numpy as np

from rigging import face
from rigging.calibration import Calibration, mean_quaternion
from rigging.frame import FrameError, TrackingFrame
from rigging.frame_stack import FrameStack, shape_error, stack_frames
from rigging.hips import hips_height, image_spot
from rigging.landmarks import PosePoint as P
from rigging.landmarks import to_avatar
from rigging.local_rotations import Sight, avatar_points, sight, solve_locals
from rigging.one_euro import one_euro_step
from rigging.pose import AvatarPose
from rigging.presence import GROUP_ID, GROUPED_BONES, GROUPS, ease_step, progress, seen_amounts
from rigging.quaternion import F64, IDENTITY, from_two_vectors, multiply
from rigging.rotation_filter import rotation_filter_step
from rigging.skeleton import BONE_INDEX, BONES
from rigging.solver_options import SolverOptions
from rigging.solver_state import fields, initial_state, layouts, pack, settings_vector, view

logger = logging.getLogger(__name__)

#: Bones the solver drives, in wire order (eyes, jaw and toes stay at rest: the eyes move through
#: the look expressions, which every VRM maps to its own eyes).
DRIVEN_BONES: Final[tuple[str, ...]] = tuple(b for g in GROUPS.values() for b in g if not b.endswith("Toes"))
_DRIVEN_IDX: Final = np.array(sorted(BONES.index(b) for b in DRIVEN_BONES))
_DRIVEN_NAMES: Final = [BONES[i] for i in _DRIVEN_IDX]
_N_DRIVEN: Final = len(_DRIVEN_IDX)
# The driven bones lead the grouped bones presence eases, so they are a slice of them.
if list(GROUPED_BONES[:_N_DRIVEN]) != list(_DRIVEN_IDX):  # pragma: no cover - a guard for whoever reorders
    raise RuntimeError("rigging.presence.GROUPED_BONES must start with the driven bones")
_LEGS: Final = slice(GROUP_ID["leftLeg"], GROUP_ID["leftLeg"] + 2)
if GROUP_ID["rightLeg"] != GROUP_ID["leftLeg"] + 1:  # pragma: no cover
    raise RuntimeError("rigging.presence.GROUPS must keep the legs side by side")
_HEAD_BONES: Final = [BONE_INDEX["neck"], BONE_INDEX["head"]]
_STATE, _STATE_SIZE, _SETTINGS, _SETTINGS_SIZE = layouts(len(_DRIVEN_IDX))
_EXPRESSION_NAMES: Final = face.EXPRESSION_NAMES
_N_EXPRESSIONS: Final = len(_EXPRESSION_NAMES)
_MIN_DT_S: Final = 1e-4
# Columns of ones for a batch's rows, sliced rather than made (np.ones is a Python-level wrapper);
# read only: the state packs a copy, and progress 1 is only read.
_ONES: Final = np.ones((256, 1))
_ONES_BY_GROUP: Final = np.ones((256, len(GROUPS)))
_ONES.flags.writeable = _ONES_BY_GROUP.flags.writeable = False
# The fields the filters read.
_FILTER_MEMORY: Final = ("last_t", "rot_q", "rot_velocity", "euro_x", "euro_dx")
_FILTER_SETTINGS: Final = ("rot_min_cutoff", "rot_beta", "euro_min_cutoff", "euro_beta", "euro_d_cutoff")


def _torso_up(pts: F64) -> F64:
    return np.asarray(
        0.5 * (pts[P.LEFT_SHOULDER] + pts[P.RIGHT_SHOULDER] - pts[P.LEFT_HIP] - pts[P.RIGHT_HIP]),
        dtype=np.float64,
    )


class Retargeter:
    """Stateful solver for one operator: keeps the filters, presence and calibration.

    Its memory (presence, filters, last timestamp, hips reference) and settings (options,
    calibration) live in two flat vectors that :func:`solve_batch` stacks with other solvers'.
    """

    def __init__(self, options: SolverOptions | None = None, calibration: Calibration | None = None) -> None:
        self._options = options or SolverOptions()
        self._calibration = calibration or Calibration()
        self._settings, self._settings_fields = self._settings_vector()
        self._state = initial_state(_STATE, _STATE_SIZE, self._calibration)
        # The previous frame's timestamp (also in the state), None since a reset: batches check it.
        self._last_t: float | None = None

    @property
    def options(self) -> SolverOptions:
        return self._options

    @options.setter
    def options(self, options: SolverOptions) -> None:
        self._options = options
        self._settings, self._settings_fields = self._settings_vector()

    @property
    def calibration(self) -> Calibration:
        return self._calibration

    @calibration.setter
    def calibration(self, calibration: Calibration) -> None:
        self._calibration = calibration
        self._settings, self._settings_fields = self._settings_vector()

    def _settings_vector(self) -> tuple[F64, dict[str, F64]]:
        """The settings as a vector, and its fields as a batch of one reads them (made once here)."""
        vector = settings_vector(_SETTINGS, _SETTINGS_SIZE, self._options, self._calibration)
        vector.flags.writeable = False  # its fields are handed to the solve as they are
        return vector, fields(vector[None], _SETTINGS)

    def reset(self) -> None:
        """Forget the past (filters, presence, last timestamp); keep the calibration."""
        # A new vector, never an in-place wipe: poses already returned may share the old one's memory.
        self._state = initial_state(_STATE, _STATE_SIZE, self._calibration)
        self._last_t = None

    # -- the public step -------------------------------------------------------------------
    def solve(self, frame: TrackingFrame) -> AvatarPose:
        result = solve_batch([self], [frame])[0]
        if isinstance(result, FrameError):
            raise result
        return result

    def calibrate(self, frames: Sequence[TrackingFrame]) -> Calibration:
        """Learn the neutral pose from frames of the operator holding still; apply it from now on."""
        min_vis = self._options.min_visibility
        ups = [
            _torso_up(to_avatar(f.pose_world))
            for f in frames
            if f.pose_world is not None
            and bool(np.all(f.pose_world[[P.LEFT_SHOULDER, P.RIGHT_SHOULDER], 3] >= min_vis))
        ]
        if not ups:
            raise ValueError("calibration needs frames in which the shoulders are seen")
        camera = from_two_vectors(np.mean(ups, axis=0), np.array([0.0, 1.0, 0.0]))
        # With the camera corrected, measure the habitual head turn and the neutral hips spot: every
        # frame solved at once by a solver with no filter and no easing, which has no memory to keep.
        trial = Retargeter(SolverOptions(filter=False, ease_ms=0.0), Calibration(camera=camera))
        usable = [f for f in frames if shape_error(f) is None]
        stack = stack_frames(usable)
        settings = np.repeat(trial._settings[None], len(usable), axis=0)
        pts, seen, tracked = _locals_without_memory(stack, settings)
        heads = multiply(tracked[:, _HEAD_BONES[0]], tracked[:, _HEAD_BONES[1]])[seen[:, GROUP_ID["head"]]]
        spots, has_spot = image_spot(
            pts, stack.image, view(settings, _SETTINGS["min_visibility"]), view(settings, _SETTINGS["focal"])
        )
        spots = spots[has_spot[:, 0] & np.array([f.pose_world is not None for f in usable])]
        head = mean_quaternion(heads) if len(heads) else IDENTITY.copy()
        self.calibration = Calibration(
            camera=camera, head=head, hips=np.mean(spots, axis=0) if len(spots) else None
        )
        self.reset()
        return self.calibration


def _locals_without_memory(stack: FrameStack, settings: F64) -> tuple[F64, np.ndarray, F64]:
    """Points, groups seen and local rotations for solvers that do not ease (ease 0)."""
    seen_by = sight(stack, view(settings, _SETTINGS["min_visibility"]))
    pts, hand_pts = avatar_points(stack, view(settings, _SETTINGS["camera_t"]))
    legs_seen = np.asarray(seen_by.legs.any(axis=1), dtype=np.float64)
    seen, tracked = solve_locals(
        stack,
        seen_by,
        pts,
        hand_pts,
        legs_seen,
        view(settings, _SETTINGS["camera"]),
        view(settings, _SETTINGS["head"]),
    )
    return pts, seen, tracked


def _check_batch(solvers: Sequence[Retargeter], frames: Sequence[TrackingFrame]) -> list[FrameError | None]:
    """Each slot's error, if its frame cannot be solved: wrong shapes, or a timestamp not increasing."""
    if len(solvers) != len(frames):
        raise ValueError(f"{len(solvers)} solvers for {len(frames)} frames")
    if len({id(s) for s in solvers}) != len(solvers):
        raise ValueError("a solver appears twice in one batch (its frames must be solved in order)")
    errors: list[FrameError | None] = []
    for solver, frame in zip(solvers, frames, strict=True):
        last = solver._last_t
        if last is not None and frame.t_ms <= last:
            errors.append(FrameError("t_ms", f"{frame.t_ms} does not come after the previous frame's {last}"))
        else:
            errors.append(shape_error(frame))
    return errors


def solve_batch(
    solvers: Sequence[Retargeter], frames: Sequence[TrackingFrame]
) -> list[AvatarPose | FrameError]:
    """Solve ``frames[i]`` with ``solvers[i]`` for every i, all in one pass of array calls.

    The solvers are independent (one per operator) and each keeps its own state; the same solver
    may not appear twice. A frame that cannot be solved (its timestamp does not come after its
    solver's previous frame, or an array has the wrong shape or holds no numbers) gives its
    :class:`FrameError` in its slot and leaves its solver untouched; the other slots are solved
    as if it were not there.
    """
    errors = _check_batch(solvers, frames)
    if errors and errors.count(None) == len(errors):  # the usual case: every frame is solved
        return list(_solve_stack(list(solvers), stack_frames(frames)))
    ok = [i for i, e in enumerate(errors) if e is None]
    if len(ok) < len(errors):  # the callers count and report these; this is for tracing a batch
        logger.debug("batch of %d: %d frame(s) refused", len(errors), len(errors) - len(ok))
    if not ok:
        return [e for e in errors if e is not None]
    poses = iter(_solve_stack([solvers[i] for i in ok], stack_frames([frames[i] for i in ok])))
    return [next(poses) if e is None else e for e in errors]


def _solve_stack(solvers: list[Retargeter], stack: FrameStack) -> list[AvatarPose]:
    """The poses of ``stack``'s frames, one per solver, and each solver's new state."""
    n = len(stack)
    # Each solver's memory and settings as rows, and their fields as views of those rows.
    # (a batch of one reads its solver's row itself: nothing below writes into the memory read)
    m = fields(solvers[0]._state[None] if n == 1 else np.array([s._state for s in solvers]), _STATE)
    # (a batch of one reads its solver's settings fields, made with its settings)
    c = solvers[0]._settings_fields if n == 1 else fields(np.array([s._settings for s in solvers]), _SETTINGS)
    t = stack.t_ms  # (B, 1)
    min_vis, ease = c["min_visibility"], c["ease_ms"]
    was_seen = m["seen"] > 0.5
    # How far each group's transition has come, once for the legs' read-ahead and the easing.
    # Usually every group has arrived (progress 1), which one comparison tells exactly: progress
    # divides the time since the toggle, less any hold, by the group's ease, and no group's hold
    # and ease add up to more than the settling time.
    if np.count_nonzero(t - m["since"] >= c["settle_ms"]) == m["since"].size:
        k = _ONES_BY_GROUP[:n] if n <= len(_ONES_BY_GROUP) else np.ones_like(m["since"])
    else:
        k = progress(m["since"], t, ease, was_seen)

    seen_by = sight(stack, min_vis)
    pts, hand_pts = avatar_points(stack, c["camera_t"])
    legs_seen = np.maximum.reduce(seen_amounts(was_seen[:, _LEGS], k[:, _LEGS], seen_by.legs, ease), axis=1)
    seen, tracked = solve_locals(stack, seen_by, pts, hand_pts, legs_seen, c["camera"], c["head"])

    since, start, shown = ease_step(was_seen, m["since"], m["start"], m["shown"], seen, tracked, t, ease, k)
    rotations = shown[:, :_N_DRIVEN]  # the driven bones lead the grouped ones
    hips, hips_ref, has_ref = _hips_position(m, c, stack, seen_by, pts)
    # A face not seen has no blendshapes (zeros), which make every expression 0: it relaxes toward
    # neutral through the same filter. (np.count_nonzero: the quickest test of a small mask.)
    if np.count_nonzero(stack.has_blendshapes):
        values = np.concatenate((hips, face.expression_matrix(stack.blendshapes)), axis=1)
    else:
        values = np.concatenate((hips, np.zeros((n, _N_EXPRESSIONS))), axis=1)
    rotations, velocity, values, rates = _filter(m, c, t, rotations, values)

    new_state = pack(
        _STATE,
        {
            "last_t": t,
            "has_last": _ONES[:n] if n <= len(_ONES) else np.ones((n, 1)),
            "seen": seen.astype(np.float64),
            "since": since,
            "start": start,
            "shown": shown,
            "rot_q": rotations,
            "rot_velocity": velocity,
            # The filter's own state keeps the unclipped expressions, as the one-at-a-time filter did.
            "euro_x": values,
            "euro_dx": rates,
            "hips_ref": hips_ref,
            "has_ref": has_ref,
        },
    )
    times = t[:, 0].tolist()
    for solver, row, t_ms in zip(solvers, new_state, times, strict=True):
        solver._state = row
        solver._last_t = t_ms
    return _poses(times, values, rotations)


def _filter(
    m: dict[str, F64], c: dict[str, F64], t: F64, rotations: F64, values: F64
) -> tuple[F64, F64, F64, F64]:
    """The filtered rotations, their velocities, the filtered hips and expressions, their rates.

    ``m`` and ``c`` are the fields of the solvers' memory and settings. A solver's first frame
    since a reset starts its filters where it is, as does a solver that does not filter; only the
    other rows are stepped. ``values`` are the hips then the expressions.
    """
    warm = (c["filter"] * m["has_last"])[:, 0] > 0.5
    n_warm = np.count_nonzero(warm)
    if n_warm == len(warm):  # the usual case: every row, and views rather than copies of the state
        return _filter_rows(m, c, t, rotations, values)
    velocity = np.zeros((len(t), _N_DRIVEN, 3))
    rates = np.zeros_like(values)
    if n_warm:
        rows = np.flatnonzero(warm)
        rotations, values = rotations.copy(), values.copy()
        rotations[rows], velocity[rows], values[rows], rates[rows] = _filter_rows(
            {name: m[name][rows] for name in _FILTER_MEMORY},
            {name: c[name][rows] for name in _FILTER_SETTINGS},
            t[rows],
            rotations[rows],
            values[rows],
        )
    return rotations, velocity, values, rates


def _filter_rows(
    m: dict[str, F64], c: dict[str, F64], t: F64, rotations: F64, values: F64
) -> tuple[F64, F64, F64, F64]:
    """One step of the rotation filter and of the One Euro filter of the hips and expressions."""
    dt = np.maximum((t - m["last_t"]) / 1000.0, _MIN_DT_S)  # (B, 1)
    rotations, velocity = rotation_filter_step(
        rotations, m["rot_q"], m["rot_velocity"], dt[:, :, None], c["rot_min_cutoff"], c["rot_beta"]
    )
    # The hips' and the expressions' filters in one step: the same dt, parameters per column.
    values, rates = one_euro_step(
        values, m["euro_x"], m["euro_dx"], dt, c["euro_min_cutoff"], c["euro_beta"], c["euro_d_cutoff"]
    )
    return rotations, velocity, values, rates


def _poses(times: list[float], values: F64, rotations: F64) -> list[AvatarPose]:
    """The poses of a batch: its timestamps, filtered hips and expressions, and bone rotations.

    Each pose keeps its rotations' (n, 4) block too, which the encoder then takes as it is.
    """
    hips = values[:, :3]
    weights = np.minimum(np.maximum(values[:, 3:], 0.0), 1.0).tolist()
    flat = rotations.reshape(-1, 4)
    rows = list(flat)  # every bone's row of the batch in one call
    poses = []
    for i, t_ms in enumerate(times):
        at = i * _N_DRIVEN
        poses.append(
            AvatarPose._of_rows(
                t_ms,
                hips[i],
                _DRIVEN_NAMES,
                flat[at : at + _N_DRIVEN],
                rows[at : at + _N_DRIVEN],
                {name: w for name, w in zip(_EXPRESSION_NAMES, weights[i], strict=True) if w > 1e-3},
            )
        )
    return poses


def _hips_position(
    m: dict[str, F64], c: dict[str, F64], stack: FrameStack, seen_by: Sight, pts: F64
) -> tuple[F64, F64, F64]:
    """Displacement of the hips from their rest spot (B, 3), in metres; the new reference spot and
    whether there is one (``m`` and ``c``: the fields of the solvers' memory and settings)."""
    spot, has_spot = image_spot(pts, stack.image, c["min_visibility"], c["focal"])
    has_spot &= seen_by.body[:, None]
    ref, has_ref = m["hips_ref"], m["has_ref"]
    # The first spot seen becomes the reference, unless the calibration gave one.
    first = has_spot & (has_ref < 0.5)
    if np.count_nonzero(first):
        ref = np.where(first, spot, ref)
        has_ref = np.where(first, 1.0, has_ref)
    # Without the body seen there is no spot, and no legs for a height: all stays 0.
    out = np.where(has_spot, spot - ref, 0.0)
    # Webcam operators' legs are mostly out of view: then the height stays 0.
    if np.count_nonzero(seen_by.legs):
        out[:, 1] = hips_height(pts, seen_by.legs)
    return out, ref, has_ref


__all__ = ["DRIVEN_BONES", "Retargeter", "SolverOptions", "solve_batch"]
