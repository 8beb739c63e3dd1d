"""One tracking frame of MediaPipe results, parsed and checked.

The JSON form is a public contract (``avatar-care retarget`` reads it, capture writes it)::

    {"t_ms": float,
     "pose_world": [[x, y, z, visibility] x 33] | null,
     "pose_image": [[x, y, z, visibility] x 33] | null,
     "left_hand_world": [[x, y, z] x 21] | null,
     "right_hand_world": [[x, y, z] x 21] | null,
     "face_blendshapes": {name: weight} | null,
     "face_matrix": [16 floats, row-major 4x4] | null}

Coordinates are MediaPipe's world landmarks: metres, origin at the midpoint of the hips, x toward
the image's right, y down, z away from the camera; the image is not mirrored, so the person's own
left is toward +x. ``left_hand_world`` is the person's own left hand.

The rule for bad input (documented in docs/retargeting.md):

* a frame that cannot be used at all raises :class:`FrameError` naming the field: not a JSON
  object, ``t_ms`` missing or not a finite number, an array of the wrong length or shape, a value
  of the wrong type. ``pose_world`` must be present (``null`` means nobody was detected); the other
  keys may be left out and then count as ``null``.
* a frame whose damage is local is repaired and the repair is counted in ``warnings``: a pose
  landmark with a NaN or infinite number gets visibility 0 (so the limb eases to rest), a hand with
  one is dropped, a blendshape with one is dropped, a face matrix with one is dropped.

Ordering (timestamps must increase) is checked by the consumer, which knows the previous frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

POSE_POINTS: Final = 33
HAND_POINTS: Final = 21

FloatArray = NDArray[np.float64]


class FrameError(ValueError):
    """A tracking frame that cannot be used; ``field`` names the offending part."""

    def __init__(self, field: str, message: str, line: int | None = None) -> None:
        self.field = field
        self.message = message
        self.line = line
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{field}: {message}")

    def at_line(self, line: int) -> FrameError:
        return FrameError(self.field, self.message, line)


@dataclass(frozen=True)
class TrackingFrame:
    """MediaPipe results for one camera frame, as arrays."""

    t_ms: float
    pose_world: FloatArray | None = None  # (33, 4): x, y, z, visibility
    pose_image: FloatArray | None = None  # (33, 4): normalized image x, y, z, visibility
    left_hand_world: FloatArray | None = None  # (21, 3), the person's own left hand
    right_hand_world: FloatArray | None = None  # (21, 3)
    face_blendshapes: dict[str, float] | None = None
    face_matrix: FloatArray | None = None  # (4, 4)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def to_json(self) -> dict[str, Any]:
        def arr(a: FloatArray | None) -> list[Any] | None:
            return None if a is None else np.round(a, 6).tolist()

        return {
            "t_ms": self.t_ms,
            "pose_world": arr(self.pose_world),
            "pose_image": arr(self.pose_image),
            "left_hand_world": arr(self.left_hand_world),
            "right_hand_world": arr(self.right_hand_world),
            "face_blendshapes": self.face_blendshapes,
            "face_matrix": None if self.face_matrix is None else arr(self.face_matrix.reshape(16)),
        }


def _number_array(value: Any, name: str, shape: tuple[int, ...]) -> FloatArray:
    if not isinstance(value, list):
        raise FrameError(name, f"expected a list, got {type(value).__name__}")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FrameError(name, f"expected numbers of shape {list(shape)}: {exc}") from None
    if arr.shape != shape:
        raise FrameError(name, f"expected shape {list(shape)}, got {list(arr.shape)}")
    return arr


_NUMBER_TYPES: Final = frozenset({float, int})
_LIST_TYPE: Final = frozenset({list})


def _only_numbers(value: Any) -> bool:
    """Whether ``value`` is a list of numbers, or a list of lists of numbers, with no bool in it.

    Looks at each element's type in C (``map``, ``chain``) instead of a Python call per number;
    ``False`` means only that the exact walk (:func:`_check_no_bools`) must look for the culprit.
    """
    if not isinstance(value, list):
        return False
    kinds = set(map(type, value))
    if kinds <= _NUMBER_TYPES:
        return True
    return kinds <= _LIST_TYPE and set(map(type, chain.from_iterable(value))) <= _NUMBER_TYPES


def _check_no_bools(value: Any, name: str) -> None:
    # json gives True/False for true/false, and numpy would take them as 1/0 without a word.
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_no_bools(v, f"{name}[{i}]")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FrameError(name, f"expected a number, got {json_type(value)}")


def json_type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _first_bad(arr: FloatArray, name: str) -> str | None:
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size == 0:
        return None
    idx = "".join(f"[{int(i)}]" for i in bad[0])
    return f"{name}{idx} is {arr[tuple(bad[0])]}"


# The repairs of the bad-input rule, shared by every form a frame arrives in (JSON, binary).
def repair_pose(arr: FloatArray, name: str, warnings: list[str]) -> FloatArray:
    """Pose landmarks (33, 4): a point with a NaN or infinite number is set invisible."""
    bad_rows = ~np.all(np.isfinite(arr), axis=1)
    if bad_rows.any():
        warnings.append(f"{_first_bad(arr, name)}: {int(bad_rows.sum())} landmark(s) set invisible")
        arr[bad_rows] = 0.0
    arr[:, 3] = np.clip(arr[:, 3], 0.0, 1.0)
    return arr


def repair_hand(arr: FloatArray, name: str, warnings: list[str]) -> FloatArray | None:
    """Hand landmarks (21, 3): a hand with a NaN or infinite number is dropped."""
    bad = _first_bad(arr, name)
    if bad:
        warnings.append(f"{bad}: hand dropped")
        return None
    return arr


def repair_matrix(flat: FloatArray, warnings: list[str]) -> FloatArray | None:
    """The face matrix (16,), row-major: dropped when any number is NaN or infinite."""
    bad = _first_bad(flat, "face_matrix")
    if bad:
        warnings.append(f"{bad}: face matrix dropped")
        return None
    return flat.reshape(4, 4)


def add_blendshape(shapes: dict[str, float], key: str, weight: float, warnings: list[str]) -> None:
    """One blendshape weight, clipped to [0, 1]; a NaN or infinite one is dropped."""
    if not math.isfinite(weight):
        warnings.append(f"face_blendshapes.{key} is {weight}: dropped")
        return
    shapes[key] = float(min(1.0, max(0.0, weight)))


def _quick_blendshapes(raw: dict[Any, Any]) -> dict[str, float] | None:
    """The clamped weights in a few array calls when all are finite numbers; else None."""
    values = list(raw.values())
    if not set(map(type, values)) <= _NUMBER_TYPES:
        return None
    try:
        weights = np.array(values, dtype=np.float64)
    except OverflowError:  # an integer too large for a float
        return None
    if not np.isfinite(weights).all():
        return None
    return dict(zip(map(str, raw), np.clip(weights, 0.0, 1.0).tolist(), strict=True))


def parse_frame(obj: Any) -> TrackingFrame:
    """Check and convert one decoded JSON frame; raise :class:`FrameError` if it is unusable."""
    if not isinstance(obj, dict):
        raise FrameError("<frame>", f"expected a JSON object, got {json_type(obj)}")
    if "t_ms" not in obj:
        raise FrameError("t_ms", "missing")
    t = obj["t_ms"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        raise FrameError("t_ms", f"expected a finite number, got {t!r}")
    if "pose_world" not in obj:
        raise FrameError("pose_world", "missing (use null when nobody is detected)")
    warnings: list[str] = []

    def pose(name: str) -> FloatArray | None:
        value = obj.get(name)
        if value is None:
            return None
        if not _only_numbers(value):
            _check_no_bools(value, name)
        return repair_pose(_number_array(value, name, (POSE_POINTS, 4)), name, warnings)

    def hand(name: str) -> FloatArray | None:
        value = obj.get(name)
        if value is None:
            return None
        if not _only_numbers(value):
            _check_no_bools(value, name)
        return repair_hand(_number_array(value, name, (HAND_POINTS, 3)), name, warnings)

    pose_world = pose("pose_world")
    pose_image = pose("pose_image")
    left = hand("left_hand_world")
    right = hand("right_hand_world")

    shapes: dict[str, float] | None = None
    raw_shapes = obj.get("face_blendshapes")
    if raw_shapes is not None:
        if not isinstance(raw_shapes, dict):
            raise FrameError("face_blendshapes", f"expected an object, got {json_type(raw_shapes)}")
        shapes = _quick_blendshapes(raw_shapes)
        if shapes is None:  # something to refuse or repair: the exact loop says what
            shapes = {}
            for key, weight in raw_shapes.items():
                if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                    raise FrameError(f"face_blendshapes.{key}", f"expected a number, got {json_type(weight)}")
                add_blendshape(shapes, str(key), weight, warnings)

    matrix: FloatArray | None = None
    raw_matrix = obj.get("face_matrix")
    if raw_matrix is not None:
        if not _only_numbers(raw_matrix):
            _check_no_bools(raw_matrix, "face_matrix")
        matrix = repair_matrix(_number_array(raw_matrix, "face_matrix", (16,)), warnings)

    return TrackingFrame(
        t_ms=float(t),
        pose_world=pose_world,
        pose_image=pose_image,
        left_hand_world=left,
        right_hand_world=right,
        face_blendshapes=shapes,
        face_matrix=matrix,
        warnings=tuple(warnings),
    )
