"""Hands and fingers from MediaPipe's 21 hand landmarks, both hands at once.

The hand's orientation comes from its palm (wrist to middle knuckle, little to index knuckle).
Each finger bone is then the least rotation, in its parent's frame, that points it along its
phalanx: for a finger bending in its own plane that is exactly the flexion about the knuckle's
hinge, and at the base knuckle it also carries the spread. All ten fingers are solved together.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from rigging.body import SIDES, hand_frames
from rigging.landmarks import FINGER_CHAINS, HandPoint
from rigging.quaternion import F64, rotation_between
from rigging.skeleton import FINGER_BONES, REST

_CHAINS: Final = np.array(FINGER_CHAINS)  # (5 fingers, 4 points)
_PALM: Final = [HandPoint.MIDDLE_MCP, HandPoint.WRIST, HandPoint.INDEX_MCP, HandPoint.PINKY_MCP]

# Rest directions of the finger bones: (3 joints, 2 sides x 5 fingers, 3).
_REST_DIRS: Final = (
    np.array(
        [[REST.direction(b) for b in FINGER_BONES[side]] for side in SIDES]  # (2, 15, 3), finger-major
    )
    .reshape(2, 5, 3, 3)
    .transpose(2, 0, 1, 3)
    .reshape(3, 10, 3)
)


def hand_worlds(hands: F64) -> F64:
    """World rotations of both hands (..., 2, 3, 3) from their landmarks (..., 2, 21, 3), avatar frame."""
    palm = hands[..., _PALM, :]
    return hand_frames(palm[..., 0, :] - palm[..., 1, :], palm[..., 2, :] - palm[..., 3, :])


def fingers(hands: F64, hand_rot: F64) -> F64:
    """Local rotation matrices of the finger bones, (..., 2, 15, 3, 3) in ``FINGER_BONES[side]`` order.

    ``hands`` are both hands' landmarks (..., 2, 21, 3) in the avatar frame; ``hand_rot`` their
    world rotations (..., 2, 3, 3).
    """
    lead = hands.shape[:-3]
    pts = hands[..., _CHAINS, :]  # (..., 2, 5, 4, 3)
    # (..., 10 fingers, 3 joints, xyz)
    phalanges = (pts[..., 1:, :] - pts[..., :-1, :]).reshape(*lead, 10, 3, 3)
    parent = np.repeat(hand_rot, 5, axis=-3)  # (..., 10, 3, 3)
    out = np.empty((*lead, 10, 3, 3, 3))
    for joint in range(3):
        # the phalanx seen from its parent bone: parent^T v
        observed = (phalanges[..., joint, None, :] @ parent)[..., 0, :]
        local = rotation_between(_REST_DIRS[joint], observed)
        out[..., joint, :, :] = local
        parent = parent @ local
    return out.reshape(*lead, 2, 15, 3, 3)
