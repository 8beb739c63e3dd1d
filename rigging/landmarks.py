"""MediaPipe landmark layouts and the one change of axes from MediaPipe world to the avatar frame."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray


class PosePoint(IntEnum):
    """MediaPipe pose landmarks (33). "left" is the person's own left."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


class HandPoint(IntEnum):
    """MediaPipe hand landmarks (21)."""

    WRIST = 0
    THUMB_CMC = 1
    THUMB_MCP = 2
    THUMB_IP = 3
    THUMB_TIP = 4
    INDEX_MCP = 5
    INDEX_PIP = 6
    INDEX_DIP = 7
    INDEX_TIP = 8
    MIDDLE_MCP = 9
    MIDDLE_PIP = 10
    MIDDLE_DIP = 11
    MIDDLE_TIP = 12
    RING_MCP = 13
    RING_PIP = 14
    RING_DIP = 15
    RING_TIP = 16
    PINKY_MCP = 17
    PINKY_PIP = 18
    PINKY_DIP = 19
    PINKY_TIP = 20


#: Landmark chains of each finger in the order of the VRM finger bones (thumb, index, middle,
#: ring, little): bone k of a finger spans points ``chain[k] -> chain[k + 1]``.
FINGER_CHAINS: Final[tuple[tuple[int, int, int, int], ...]] = (
    (1, 2, 3, 4),
    (5, 6, 7, 8),
    (9, 10, 11, 12),
    (13, 14, 15, 16),
    (17, 18, 19, 20),
)

# MediaPipe world is x right, y down, z away from the camera; the avatar frame is x = avatar's
# left (the person faces the camera, so their left is image right), y up, z toward the camera.
_TO_AVATAR: Final = np.array([1.0, -1.0, -1.0])


def to_avatar(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """MediaPipe world coordinates (..., >=3) to the avatar frame: X = x, Y = -y, Z = -z."""
    return np.asarray(points[..., :3] * _TO_AVATAR, dtype=np.float64)
