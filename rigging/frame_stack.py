"""Many tracking frames as one set of arrays with a leading batch axis, for the batched solver.

What a frame leaves out (nobody detected, no hand, no face matrix, no blendshapes) becomes a
harmless placeholder plus a mask: missing landmarks are zeros with visibility 0, so they are never
seen; a missing face matrix is the identity. The solver then computes every part for every frame
in the same few numpy calls and lets the masks decide what counts, instead of branching per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Final

import numpy as np

from rigging.face import BLENDSHAPES, blendshape_row
from rigging.frame import HAND_POINTS, POSE_POINTS, FrameError, TrackingFrame
from rigging.quaternion import F64

_NO_POSE: Final = np.zeros((POSE_POINTS, 4))
_NUMBER_KINDS: Final = "fiu"  # float, signed and unsigned integer arrays
_NO_HAND: Final = np.zeros((HAND_POINTS, 3))
_NO_MATRIX: Final = np.eye(4)
_NO_SHAPES: Final = [0.0] * len(BLENDSHAPES)
_SHAPES: Final = {
    "pose_world": (POSE_POINTS, 4),
    "pose_image": (POSE_POINTS, 4),
    "left_hand_world": (HAND_POINTS, 3),
    "right_hand_world": (HAND_POINTS, 3),
    "face_matrix": (4, 4),
}
_FIELDS: Final = attrgetter(
    "t_ms",
    "pose_world",
    "pose_image",
    "left_hand_world",
    "right_hand_world",
    "face_matrix",
    "face_blendshapes",
)


@dataclass(frozen=True)
class FrameStack:
    """Frames side by side: every array's first axis is the frame (B)."""

    t_ms: F64  # (B, 1)
    pose: F64  # (B, 33, 4), zeros where nobody was detected
    image: F64  # (B, 33, 4), zeros where not given
    hands: F64  # (B, 2, 21, 3): left, right; zeros where not detected
    detected: np.ndarray  # (B, 2) bool: the hand was detected
    face_matrix: F64  # (B, 4, 4), identity where not given
    has_matrix: np.ndarray  # (B,) bool
    blendshapes: F64  # (B, 30) in rigging.face.BLENDSHAPES order, zeros where not given
    has_blendshapes: np.ndarray  # (B,) bool

    def __len__(self) -> int:
        return len(self.t_ms)


def shape_error(frame: TrackingFrame) -> FrameError | None:
    """The error for a frame built in code with an array of the wrong shape or of no numbers.

    (``parse_frame`` checks frames that come as JSON; this keeps one bad frame built in code from
    failing the stacking of a whole batch.)
    """
    for name, shape in _SHAPES.items():
        value = getattr(frame, name)
        if value is None:
            continue
        if getattr(value, "shape", None) != shape:
            return FrameError(name, f"expected an array of shape {list(shape)}, got {list(np.shape(value))}")
        if value.dtype.kind not in _NUMBER_KINDS:
            return FrameError(name, f"expected an array of numbers, got {value.dtype}")
    return None


def stack_frames(frames: Sequence[TrackingFrame]) -> FrameStack:
    """One :class:`FrameStack` of ``frames`` (their shapes already checked).

    numpy's cost here is per call: each field of all frames is taken in one C-level pass
    (``attrgetter``, ``zip``), and what has one shape is stacked by one ``np.array`` call (pose and
    image together, the four presence masks together); the stack's fields are views of those.
    """
    n = len(frames)
    if n == 0:
        return _EMPTY
    times, poses, images, lefts, rights, matrices, shapes = zip(*map(_FIELDS, frames), strict=True)
    points = _stacked([_NO_POSE if p is None else p for p in poses + images])  # (2B, 33, 4)
    hands = [_NO_HAND if h is None else h for pair in zip(lefts, rights, strict=True) for h in pair]
    flags = np.array([v is not None for v in lefts + rights + matrices + shapes]).reshape(4, n)
    return FrameStack(
        t_ms=np.array(times, dtype=np.float64).reshape(n, 1),
        pose=points[:n],
        image=points[n:],
        hands=_stacked(hands).reshape(n, 2, HAND_POINTS, 3),
        detected=flags[:2].T,
        face_matrix=_stacked([_NO_MATRIX if m is None else m for m in matrices]),
        has_matrix=flags[2],
        blendshapes=np.array(
            [_NO_SHAPES if w is None else blendshape_row(w) for w in shapes], dtype=np.float64
        ).reshape(n, len(BLENDSHAPES)),
        has_blendshapes=flags[3],
    )


def _stacked(arrays: list[F64]) -> F64:
    # np.array of same-shaped arrays stacks them in C, without the Python loop of np.stack.
    return np.array(arrays, dtype=np.float64)


_EMPTY: Final = FrameStack(
    t_ms=np.zeros((0, 1)),
    pose=np.zeros((0, POSE_POINTS, 4)),
    image=np.zeros((0, POSE_POINTS, 4)),
    hands=np.zeros((0, 2, HAND_POINTS, 3)),
    detected=np.zeros((0, 2), dtype=bool),
    face_matrix=np.zeros((0, 4, 4)),
    has_matrix=np.zeros(0, dtype=bool),
    blendshapes=np.zeros((0, len(BLENDSHAPES))),
    has_blendshapes=np.zeros(0, dtype=bool),
)
