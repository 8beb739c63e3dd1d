"""Many tracking frames as one set of arrays with a leading batch axis, for the batched solver.

What a frame leaves out (nobody detected, no hand, no face matrix, no blendshapes) becomes a
harmless placeholder plus a mask: missing landmarks are zeros with visibility 0, so they are never
seen; a missing face matrix is the identity. The solver then computes every part for every frame
in the same few numpy calls and lets the masks decide what counts, instead of branching per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
    # (B, 4) bool: left hand, right hand, face matrix, blendshapes given; the three masks above are
    # views of it.
    present: np.ndarray

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


def _stacked(arrays: list[F64]) -> F64:
    # np.array of same-shaped arrays stacks them in C, without the Python loop of np.stack. One
    # array needs no copy: a view with the batch axis added (the solve only reads its inputs).
    if len(arrays) == 1:
        return np.asarray(arrays[0], dtype=np.float64)[None]
    return np.array(arrays, dtype=np.float64)


def stack_frames(frames: Sequence[TrackingFrame]) -> FrameStack:
    """One :class:`FrameStack` of ``frames`` (their shapes already checked)."""
    n = len(frames)
    hands = _stacked(
        [h if h is not None else _NO_HAND for f in frames for h in (f.left_hand_world, f.right_hand_world)]
    )
    # What each frame has, in one array (one call, not three): both hands, face matrix, blendshapes.
    present = np.array(
        [
            (
                f.left_hand_world is not None,
                f.right_hand_world is not None,
                f.face_matrix is not None,
                f.face_blendshapes is not None,
            )
            for f in frames
        ],
        dtype=bool,
    ).reshape(n, 4)
    return FrameStack(
        t_ms=np.array([[f.t_ms] for f in frames], dtype=np.float64),
        pose=_stacked([f.pose_world if f.pose_world is not None else _NO_POSE for f in frames]),
        image=_stacked([f.pose_image if f.pose_image is not None else _NO_POSE for f in frames]),
        hands=hands.reshape(n, 2, HAND_POINTS, 3),
        detected=present[:, 0:2],
        face_matrix=_stacked([f.face_matrix if f.face_matrix is not None else _NO_MATRIX for f in frames]),
        has_matrix=present[:, 2],
        blendshapes=np.array(
            [
                blendshape_row(f.face_blendshapes) if f.face_blendshapes is not None else _NO_SHAPES
                for f in frames
            ],
            dtype=np.float64,
        ).reshape(n, len(BLENDSHAPES)),
        has_blendshapes=present[:, 3],
        present=present,
    )
