"""Hands and fingers from MediaPipe's 21 hand landmarks.

The hand's orientation comes from its palm (wrist to middle knuckle, little to index knuckle).
Each finger bone is then the least rotation, in its parent's frame, that points it along its
phalanx: for a finger bending in its own plane that is exactly the flexion about the knuckle's
hinge, and at the base knuckle it also carries the spread. The five fingers are solved together.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from rigging.body import hand_frame
from rigging.landmarks import FINGER_CHAINS, HandPoint
from rigging.quaternion import F64, from_two_vectors, to_matrix
from rigging.skeleton import FINGER_BONES, REST

_CHAINS: Final = np.array(FINGER_CHAINS)  # (5 fingers, 4 points)


def _rest_dirs(side: str) -> F64:
    """Rest directions of the finger bones, shape (3 joints, 5 fingers, 3)."""
    bones = FINGER_BONES[side]  # thumb x3, index x3, ... in finger-major order
    dirs = np.array([REST.direction(b) for b in bones]).reshape(5, 3, 3)
    return np.ascontiguousarray(dirs.transpose(1, 0, 2))


_REST_DIRS: Final[dict[str, F64]] = {side: _rest_dirs(side) for side in ("left", "right")}


def hand_world(side: str, hand: F64) -> F64:
    """World rotation of the hand from its landmarks (already in the avatar frame)."""
    along = hand[HandPoint.MIDDLE_MCP] - hand[HandPoint.WRIST]
    across = hand[HandPoint.INDEX_MCP] - hand[HandPoint.PINKY_MCP]
    return hand_frame(side, along, across)


def fingers(side: str, hand: F64, hand_rot: F64) -> F64:
    """Local rotations of the 15 finger bones, in ``FINGER_BONES[side]`` order, shape (15, 4).

    ``hand_rot`` is the hand's world rotation matrix; ``hand`` the 21 landmarks in the avatar frame.
    """
    pts = hand[_CHAINS]  # (5, 4, 3)
    phalanges = pts[:, 1:] - pts[:, :-1]  # (5, 3, 3): finger, joint, xyz
    rest = _REST_DIRS[side]
    locals_: list[F64] = []
    parent = np.broadcast_to(hand_rot, (5, 3, 3))
    for joint in range(3):
        observed = np.einsum("fji,fj->fi", parent, phalanges[:, joint])  # into the parent's frame
        q = from_two_vectors(rest[joint], observed)
        locals_.append(q)
        parent = parent @ to_matrix(q)
    # (3 joints, 5 fingers, 4) -> finger-major (15, 4)
    return np.stack(locals_, axis=1).reshape(15, 4)
