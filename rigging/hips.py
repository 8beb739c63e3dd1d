"""Where the hips are: their displacement from the rest spot, for a batch of frames.

Height: with the feet seen, the hips stand above the lowest foot point by less than the straight
leg's length when the operator crouches or sits. Sideways and depth: the hips' motion in the image,
scaled to metres by the torso's known size in the world landmarks (the spot is measured from the
calibrated one, or from the first frame that shows it).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from rigging.landmarks import PosePoint as P
from rigging.quaternion import F64

# Index arrays made once, used with take: numpy turns a list index into an array on every call,
# and take is quicker than indexing with an array.
_LEG_JOINTS: Final = np.array(
    [P.LEFT_HIP, P.RIGHT_HIP, P.LEFT_KNEE, P.RIGHT_KNEE, P.LEFT_ANKLE, P.RIGHT_ANKLE]
)
_FEET: Final = np.array([P.LEFT_HEEL, P.RIGHT_HEEL, P.LEFT_FOOT_INDEX, P.RIGHT_FOOT_INDEX])


def _picks(rows: int, cols: int, terms: list[list[tuple[int, int, float]]]) -> F64:
    """A table (rows * cols, len(terms)) whose product with flattened points (B, rows * cols)
    gives each term's weighted sum of (point, coordinate) entries."""
    table = np.zeros((rows * cols, len(terms)))
    for column, term in enumerate(terms):
        for point, coordinate, weight in term:
            table[point * cols + coordinate, column] = weight
    return table


# What the spot needs from the image, as one product with the flattened landmarks: both
# shoulders' visibility, their x apart, and the hips' mean x (halves, exact as 0.5 (a + b) is).
# A product rather than picking and subtracting: numpy's cost here is per call, and a
# coefficient of 0 leaves the other (finite) landmarks out exactly.
_IMAGE_PICKS: Final = _picks(
    33,
    4,
    [
        [(P.LEFT_SHOULDER, 3, 1.0)],
        [(P.RIGHT_SHOULDER, 3, 1.0)],
        [(P.LEFT_SHOULDER, 0, 1.0), (P.RIGHT_SHOULDER, 0, -1.0)],
        [(P.LEFT_HIP, 0, 0.5), (P.RIGHT_HIP, 0, 0.5)],
    ],
)
# The world shoulders' vector, left minus right, likewise.
_SHOULDERS: Final = _picks(
    33, 3, [[(P.LEFT_SHOULDER, k, 1.0), (P.RIGHT_SHOULDER, k, -1.0)] for k in range(3)]
)
_SUM3: Final = np.ones((3, 1))
_X: Final = np.array([1.0, 0.0, 0.0])
_MINUS_Z: Final = np.array([0.0, 0.0, -1.0])
# Below any real height or length, and finite: no leg seen gives _NONE - _NONE = 0, not inf - inf.
_NONE: Final = -1e300


def focal_length(camera_fov_deg: float) -> float:
    """The camera's focal length in image widths for a horizontal field of view."""
    return 0.5 / math.tan(math.radians(camera_fov_deg) / 2.0)


def image_spot(pts: F64, image: F64, min_visibility: F64, focal: F64) -> tuple[F64, np.ndarray]:
    """Where the image puts the hips (B, 3): x sideways and z = minus the distance, in metres.

    ``pts`` (B, 33, 3) avatar-frame world points, ``image`` (B, 33, 4) image landmarks (zeros when
    not given), ``min_visibility`` and ``focal`` (B, 1). The mask (B, 1) says where there is a
    spot: both shoulders seen in the image, and a torso neither too small in the world nor in the
    image.
    """
    c = image.reshape(len(image), -1) @ _IMAGE_PICKS
    seen = np.minimum(c[:, 0:1], c[:, 1:2]) >= min_visibility
    shoulders = pts.reshape(len(pts), -1) @ _SHOULDERS
    width_world = np.sqrt((shoulders * shoulders) @ _SUM3)
    width_image = np.abs(c[:, 2:3])
    ok = seen & (width_world >= 0.05) & (width_image >= 0.01)
    # Where there is no spot the width may be 0: the floor only keeps that unused quotient finite.
    distance = focal * width_world / np.maximum(width_image, 0.01)
    # (x, 0, -distance), x = (u - 0.5) distance / focal with u the hips' mean x, in one broadcast
    # against constant rows.
    spot = distance * ((c[:, 3:4] - 0.5) / focal * _X + _MINUS_Z)
    return spot, ok


def hips_height(pts: F64, legs: np.ndarray) -> F64:
    """The hips' height change (B,) from the seen legs ``legs`` (B, 2); 0 where no leg is seen."""
    joints = pts.take(_LEG_JOINTS, axis=1)
    hip, knee, ankle = joints[:, 0:2], joints[:, 2:4], joints[:, 4:6]
    feet_y = pts.take(_FEET, axis=1)[:, :, 1]
    sole = np.minimum(feet_y[:, 0:2], feet_y[:, 2:4])  # (B, 2)
    hip_mid_y = 0.5 * (hip[:, 0, 1] + hip[:, 1, 1])
    heights = hip_mid_y[:, None] - sole
    thighs, shins = knee - hip, ankle - knee
    lengths = np.sqrt((thighs * thighs).sum(-1)) + np.sqrt((shins * shins).sum(-1)) + (ankle[..., 1] - sole)
    height = np.where(legs, heights, _NONE).max(axis=1) - np.where(legs, lengths, _NONE).max(axis=1)
    return np.asarray(np.where(legs.any(axis=1), height, 0.0), dtype=np.float64)
