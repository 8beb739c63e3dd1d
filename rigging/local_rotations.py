"""Every bone's local rotation for a batch of frames, and which limb groups each frame shows.

The geometry of ``rigging.body``, ``rigging.hands`` and ``rigging.face`` for B frames at once: all
parts are computed for every frame (a hand not detected is solved from zeros, which the helpers
turn into a defined frame) and the masks in :class:`Sight` say which groups count. A group that
is not seen has its rows ignored by the presence step, so nothing here needs a per-frame branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from rigging import body, face, hands
from rigging.frame_stack import FrameStack
from rigging.landmarks import PosePoint as P
from rigging.landmarks import to_avatar
from rigging.limits import clamp
from rigging.presence import GROUP_NAMES, REST_LOCALS
from rigging.quaternion import F64, conjugate, from_matrix, multiply, power
from rigging.skeleton import BONE_INDEX, BONES, FINGER_BONES

SIDES: Final = body.SIDES
# Visibility columns picked in one call, arranged (joint, side) so that .all over the joints
# gives (B, 2): left, right.
_ARM_VIS: Final = [
    P.LEFT_SHOULDER,
    P.RIGHT_SHOULDER,
    P.LEFT_ELBOW,
    P.RIGHT_ELBOW,
    P.LEFT_WRIST,
    P.RIGHT_WRIST,
]
_LEG_VIS: Final = [
    p + o for p in (P.LEFT_HIP, P.LEFT_KNEE, P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX) for o in (0, 1)
]
_COARSE_HAND_VIS: Final = [P.LEFT_PINKY, P.RIGHT_PINKY, P.LEFT_INDEX, P.RIGHT_INDEX]
_HEAD_VIS: Final = [P.NOSE, P.LEFT_EAR, P.RIGHT_EAR]

# How the rotation between hips and shoulders is shared along the spine (sums to 1), then how the
# head's turn is shared by neck and head.
_SHARES: Final = np.array([0.4, 0.3, 0.3, 0.5, 0.5])
# The bones written from the solved rotations, in the order solve_locals assembles them. The
# shoulders are not among them: they stay at rest.
_UPPER_BONES: Final = [
    BONE_INDEX[b]
    for b in ("hips", "spine", "chest", "upperChest", "neck", "head",
              "leftUpperArm", "rightUpperArm", "leftLowerArm", "rightLowerArm", "leftHand", "rightHand")
]  # fmt: skip
_LEG_BONES: Final = [
    BONE_INDEX[b]
    for b in ("leftUpperLeg", "rightUpperLeg", "leftLowerLeg", "rightLowerLeg", "leftFoot", "rightFoot")
]
_FINGER_BONES: Final = [BONE_INDEX[b] for b in (*FINGER_BONES["left"], *FINGER_BONES["right"])]
_ALL_IDX: Final = np.arange(len(BONES))
# seen's columns are assembled in this order; GROUP_NAMES must agree.
_GROUP_ORDER: Final = (
    "torso", "head", "leftArm", "rightArm", "leftHand", "rightHand",
    "leftFingers", "rightFingers", "leftLeg", "rightLeg",
)  # fmt: skip
if GROUP_NAMES != _GROUP_ORDER:  # pragma: no cover - a guard for whoever reorders the groups
    raise RuntimeError("rigging.presence.GROUP_NAMES changed order: update rigging.local_rotations")


@dataclass(frozen=True)
class Sight:
    """What each frame of a batch shows."""

    vis: np.ndarray  # (B, 33) bool: landmark visible enough
    body: np.ndarray  # (B,) bool: a pose with both shoulders in view (else nothing is solved)
    legs: np.ndarray  # (B, 2) bool: every point of the leg in view (and the body seen)


def sight(stack: FrameStack, min_visibility: F64) -> Sight:
    """Visibility masks; ``min_visibility`` (B, 1). A frame without a pose has visibility 0."""
    vis = stack.pose[:, :, 3] >= min_visibility
    body_seen = vis[:, P.LEFT_SHOULDER] & vis[:, P.RIGHT_SHOULDER]
    legs = vis[:, _LEG_VIS].reshape(-1, 5, 2).all(axis=1) & body_seen[:, None]
    return Sight(vis=vis, body=body_seen, legs=legs)


def avatar_points(stack: FrameStack, camera_t: F64) -> tuple[F64, F64]:
    """Pose (B, 33, 3) and hand (B, 2, 21, 3) points in the avatar frame, camera-corrected.

    ``camera_t`` (B, 3, 3) is each operator's camera correction, transposed (row vectors).
    """
    return to_avatar(stack.pose) @ camera_t, to_avatar(stack.hands) @ camera_t[:, None]


def _t(m: F64) -> F64:
    """Transpose of each matrix in a stack (the inverse of a rotation)."""
    return np.swapaxes(m, -1, -2)


def solve_locals(
    stack: FrameStack,
    seen_by: Sight,
    pts: F64,
    hand_pts: F64,
    legs_seen: F64,
    camera: F64,
    head_offset: F64,
) -> tuple[np.ndarray, F64]:
    """Which groups each frame shows (B, groups) and the local rotations of every bone (B, 55, 4).

    ``legs_seen`` (B,) is how much the legs will be shown (it sets how the torso's lean is shared);
    ``camera`` (B, 3, 3) the camera correction, ``head_offset`` (B, 4) the calibrated head turn.
    """
    vis = seen_by.vis
    n = len(stack)
    torso = body.torso(pts, legs_seen)
    hips_w, upper_w = torso[:, 0], torso[:, 1]

    # Hands: from their own landmarks when detected, else coarsely from the pose's hand points.
    # A part no frame of the batch needs is skipped (a single webcam frame rarely shows legs).
    detected = stack.detected
    coarse = vis[:, _COARSE_HAND_VIS].reshape(n, 2, 2).all(axis=1)
    any_hand, all_hands = bool(detected.any()), bool(detected.all())
    if all_hands:
        hands_w = hands.hand_worlds(hand_pts)
    elif any_hand:
        hands_w = np.where(detected[..., None, None], hands.hand_worlds(hand_pts), body.hands_from_pose(pts))
    else:
        hands_w = body.hands_from_pose(pts)
    hands_known = detected | coarse
    upper, lower = body.arms(upper_w, pts, hands_w, hands_known)

    # Head: the face matrix when given, else the ears and nose of the pose.
    from_points = vis[:, _HEAD_VIS].all(axis=1)
    has_matrix = stack.has_matrix
    if has_matrix.all():
        head_w = camera @ face.head_from_matrix(stack.face_matrix)
    elif has_matrix.any():
        head_w = np.where(
            has_matrix[:, None, None],
            camera @ face.head_from_matrix(stack.face_matrix),
            face.head_from_points(pts),
        )
    else:
        head_w = face.head_from_points(pts)

    # Every parent-relative rotation in one product (parent^T @ child): the spine's whole turn, the
    # head's, both upper arms (shoulders at rest), both forearms, both hands, then the legs.
    parents = [hips_w[:, None], upper_w[:, None], upper_w[:, None], upper_w[:, None], upper, lower]
    children = [upper_w[:, None], head_w[:, None], upper, lower, hands_w]
    bones = _UPPER_BONES
    any_leg = bool(seen_by.legs.any())
    if any_leg:
        thigh, shin, foot = body.legs(pts)
        parents += [hips_w[:, None], hips_w[:, None], thigh, shin]
        children += [thigh, shin, foot]
        bones = bones + _LEG_BONES
    relative = _t(np.concatenate(parents, axis=1)) @ np.concatenate(children, axis=1)
    matrices = [hips_w[:, None], relative]
    if any_hand:
        matrices.append(hands.fingers(hand_pts, hands_w).reshape(n, 30, 3, 3))
        bones = bones + _FINGER_BONES
    q = from_matrix(np.concatenate(matrices, axis=1))
    # The spine's turn shared by spine, chest and upper chest, the head's (less its calibrated
    # offset) by neck and head: both shares in one call.
    head_turn = multiply(q[:, 2:3], conjugate(head_offset[:, None]))
    shared = power(np.concatenate((q[:, (1, 1, 1)], head_turn[:, (0, 0)]), axis=1), _SHARES)
    local = np.repeat(REST_LOCALS[None], n, axis=0)
    local[:, bones] = np.concatenate((q[:, 0:1], shared, q[:, 3:]), axis=1)

    arm = vis[:, _ARM_VIS].reshape(n, 3, 2).all(axis=1)
    head_seen = stack.has_matrix | from_points
    seen = (
        np.concatenate(
            (
                np.ones((n, 1), dtype=bool),
                head_seen[:, None],
                arm,
                arm & hands_known,
                arm & detected,
                seen_by.legs,
            ),
            axis=1,
        )
        & seen_by.body[:, None]
    )
    return seen, clamp(local, _ALL_IDX)
