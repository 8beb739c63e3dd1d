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
from rigging.presence import GROUP_ID, GROUPED_BONES, GROUPS, ease_step, seen_amounts
from rigging.quaternion import F64, IDENTITY, from_two_vectors, multiply
from rigging.rotation_filter import rotation_filter_step
from rigging.skeleton import BONE_INDEX, BONES
from rigging.solver_options import SolverOptions
from rigging.solver_state import initial_state, layouts, pack, settings_vector, view

logger = logging.getLogger(__name__)

#: Bones the solver drives, in wire order (eyes, jaw and toes stay at rest: the eyes move through
#: the look expressions, which every VRM maps to its own eyes).
DRIVEN_BONES: Final[tuple[str, ...]] = tuple(b for g in GROUPS.values() for b in g if not b.endswith("Toes"))
_DRIVEN_IDX: Final = np.array(sorted(BONES.index(b) for b in DRIVEN_BONES))
_DRIVEN_NAMES: Final = [BONES[i] for i in _DRIVEN_IDX]
# Where each driven bone sits among the grouped bones presence eases.
_DRIVEN_IN_GROUPED: Final = np.array([list(GROUPED_BONES).index(i) for i in _DRIVEN_IDX])
_LEG_GROUPS: Final = [GROUP_ID["leftLeg"], GROUP_ID["rightLeg"]]
_HEAD_BONES: Final = [BONE_INDEX["neck"], BONE_INDEX["head"]]
_STATE, _STATE_SIZE, _SETTINGS, _SETTINGS_SIZE = layouts(len(_DRIVEN_IDX))
_EXPRESSION_NAMES: Final = face.EXPRESSION_NAMES
_MIN_DT_S: Final = 1e-4


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
        self._settings = self._settings_vector()
        self._state = initial_state(_STATE, _STATE_SIZE, self._calibration)

    @property
    def options(self) -> SolverOptions:
        return self._options

    @options.setter
    def options(self, options: SolverOptions) -> None:
        self._options = options
        self._settings = self._settings_vector()

    @property
    def calibration(self) -> Calibration:
        return self._calibration

    @calibration.setter
    def calibration(self, calibration: Calibration) -> None:
        self._calibration = calibration
        self._settings = self._settings_vector()

    def _settings_vector(self) -> F64:
        return settings_vector(_SETTINGS, _SETTINGS_SIZE, self._options, self._calibration)

    def reset(self) -> None:
        """Forget the past (filters, presence, last timestamp); keep the calibration."""
        # A new vector, never an in-place wipe: poses already returned may share the old one's memory.
        self._state = initial_state(_STATE, _STATE_SIZE, self._calibration)

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
        spots = spots[has_spot & np.array([f.pose_world is not None for f in usable])]
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
        state = solver._state
        last = float(state[_STATE["last_t"].start])
        if state[_STATE["has_last"].start] and frame.t_ms <= last:
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
    state = np.array([s._state for s in solvers])  # (B, state size): a copy, written below
    settings = np.array([s._settings for s in solvers])
    st, se = _STATE, _SETTINGS
    t = stack.t_ms  # (B, 1)
    min_vis, ease = view(settings, se["min_visibility"]), view(settings, se["ease_ms"])
    was_seen = view(state, st["seen"]) > 0.5
    since = view(state, st["since"])

    seen_by = sight(stack, min_vis)
    pts, hand_pts = avatar_points(stack, view(settings, se["camera_t"]))
    legs_seen = seen_amounts(was_seen[:, _LEG_GROUPS], since[:, _LEG_GROUPS], seen_by.legs, t, ease).max(
        axis=1
    )
    seen, tracked = solve_locals(
        stack, seen_by, pts, hand_pts, legs_seen, view(settings, se["camera"]), view(settings, se["head"])
    )

    new_since, start, shown = ease_step(
        was_seen, since, view(state, st["start"]), view(state, st["shown"]), seen, tracked, t, ease
    )
    rotations = shown[:, _DRIVEN_IN_GROUPED]
    hips = _hips_position(state, settings, stack, seen_by, pts)
    # A face not seen relaxes toward neutral through the same filter.
    if stack.has_blendshapes.any():
        expressions = np.where(stack.has_blendshapes[:, None], face.expression_matrix(stack.blendshapes), 0.0)
    else:
        expressions = np.zeros((n, len(_EXPRESSION_NAMES)))

    # The filters: a solver's first frame since a reset starts them where it is; only the rows of
    # solvers whose filters run are stepped.
    use = view(settings, se["filter"])[:, 0] > 0.5
    warm_mask = use & (view(state, st["has_last"])[:, 0] > 0.5)
    # Rows as a slice when all filter (the usual case for a single solver): views, not copies.
    warm: slice | np.ndarray = slice(None) if warm_mask.all() else np.flatnonzero(warm_mask)
    velocity = np.zeros((n, len(_DRIVEN_IDX), 3))
    hips_dx = np.zeros((n, 3))
    expressions_dx = np.zeros_like(expressions)
    if warm_mask.any():
        dt = np.maximum((t[warm] - view(state, st["last_t"])[warm]) / 1000.0, _MIN_DT_S)
        rot = view(settings, se["rot_filter"])[warm]
        rotations[warm], velocity[warm] = rotation_filter_step(
            rotations[warm],
            view(state, st["rot_q"])[warm],
            view(state, st["rot_velocity"])[warm],
            dt,
            rot[:, 0:1],
            rot[:, 1:2],
        )
        hips[warm], hips_dx[warm] = one_euro_step(
            hips[warm],
            view(state, st["hips_x"])[warm],
            view(state, st["hips_dx"])[warm],
            dt,
            view(settings, se["hips_filter"])[warm],
        )
        expressions[warm], expressions_dx[warm] = one_euro_step(
            expressions[warm],
            view(state, st["expr_x"])[warm],
            view(state, st["expr_dx"])[warm],
            dt,
            view(settings, se["expr_filter"])[warm],
        )
    # The filter's own state keeps the unclipped value, as the one-at-a-time filter did.
    filtered_expressions = expressions
    expressions = np.minimum(np.maximum(expressions, 0.0), 1.0)

    new_state = pack(
        st,
        {
            "last_t": t,
            "has_last": np.ones((n, 1)),
            "seen": seen.astype(np.float64),
            "since": new_since,
            "start": start,
            "shown": shown,
            "rot_q": rotations,
            "rot_velocity": velocity,
            "hips_x": hips,
            "hips_dx": hips_dx,
            "expr_x": filtered_expressions,
            "expr_dx": expressions_dx,
            "hips_ref": view(state, st["hips_ref"]),  # written by _hips_position
            "has_ref": view(state, st["has_ref"]),
        },
    )
    for solver, row in zip(solvers, new_state, strict=True):
        solver._state = row

    times = t[:, 0].tolist()
    weights = expressions.tolist()
    return [
        AvatarPose(
            t_ms=times[i],
            hips_position=hips[i],
            bones=dict(zip(_DRIVEN_NAMES, rotations[i], strict=True)),
            expressions={name: w for name, w in zip(_EXPRESSION_NAMES, weights[i], strict=True) if w > 1e-3},
        )
        for i in range(n)
    ]


def _hips_position(state: F64, settings: F64, stack: FrameStack, seen_by: Sight, pts: F64) -> F64:
    """Displacement of the hips from their rest spot (B, 3), in metres; updates the reference spot."""
    st, se = _STATE, _SETTINGS
    spot, has_spot = image_spot(
        pts, stack.image, view(settings, se["min_visibility"]), view(settings, se["focal"])
    )
    has_spot &= seen_by.body
    ref, has_ref = view(state, st["hips_ref"]), view(state, st["has_ref"])
    # The first spot seen becomes the reference, unless the calibration gave one.
    first = has_spot[:, None] & (has_ref < 0.5)
    ref[:] = np.where(first, spot, ref)
    has_ref[:] = np.where(first, 1.0, has_ref)
    out = np.where(has_spot[:, None], spot - ref, 0.0)
    if seen_by.legs.any():  # webcam operators' legs are mostly out of view: then the height stays 0
        out[:, 1] = hips_height(pts, seen_by.legs)
    return np.asarray(np.where(seen_by.body[:, None], out, 0.0), dtype=np.float64)


__all__ = ["DRIVEN_BONES", "Retargeter", "SolverOptions", "solve_batch"]
