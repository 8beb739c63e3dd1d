"""Hands and fingers from MediaPipe's 21 hand landmarks: the tables their solve uses.

The hand's orientation comes from its palm (wrist to middle knuckle, little to index knuckle).
Each finger bone is then the least rotation, in its parent's frame, that points it along its
phalanx: for a finger bending in its own plane that is exactly the flexion about the knuckle's
hinge, and at the base knuckle it also carries the spread. All ten fingers are solved together,
joint by joint, in ``rigging.local_rotations`` (alongside the arms and legs, whose turns share the
same calls).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from rigging.body import SIDES
from rigging.landmarks import FINGER_CHAINS, HandPoint
from rigging.quaternion import F64
from rigging.skeleton import FINGER_BONES, REST

# Rest directions of the finger bones: (3 joints, 2 sides x 5 fingers, 3).
REST_DIRS: Final = (
    np.array(
        [[REST.direction(b) for b in FINGER_BONES[side]] for side in SIDES]  # (2, 15, 3), finger-major
    )
    .reshape(2, 5, 3, 3)
    .transpose(2, 0, 1, 3)
    .reshape(3, 10, 3)
)


def _direction_table() -> F64:
    """The rows of :data:`DIRECTIONS`: the palm's two directions, then every phalanx."""
    table = np.zeros((2 + 3 * len(FINGER_CHAINS), 21))
    table[0, HandPoint.MIDDLE_MCP], table[0, HandPoint.WRIST] = 1.0, -1.0
    table[1, HandPoint.INDEX_MCP], table[1, HandPoint.PINKY_MCP] = 1.0, -1.0
    for f, chain in enumerate(FINGER_CHAINS):
        for j in range(3):
            table[2 + 3 * f + j, chain[j + 1]], table[2 + 3 * f + j, chain[j]] = 1.0, -1.0
    return table


#: A hand's directions as one linear map of its 21 points (one product for both hands of every
#: frame): row 0 wrist to middle knuckle, row 1 little to index knuckle, then the phalanges,
#: finger-major (thumb to little) in the order of the VRM finger bones.
DIRECTIONS: Final = _direction_table()
PALM: Final = slice(0, 2)
PHALANGES: Final = slice(2, 17)
