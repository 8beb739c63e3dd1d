"""Every bone's local rotation for a batch of frames, and which limb groups each frame shows.

The geometry of ``rigging.body``, ``rigging.hands`` and ``rigging.face`` for B frames at once: all
parts are computed for every frame (a hand not detected is solved from zeros, which the steps turn
into a defined frame) and the masks in :class:`Sight` say which groups count. A group that is not
seen has its rows ignored by the presence step, so nothing here needs a per-frame branch.

On arrays this small numpy's cost is per call, not per number, so the parts are solved side by
side in rounds: every landmark direction comes from one product per kind of landmarks; every
frame whose inputs are ready is built in one call (the torso's, the hands' and the head's, then
the limbs'); and each step down the chains (upper chest to arms, arm to forearm, thigh to shin
to foot, hand to finger joint by finger joint) is one call of turns for all of them.
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
from rigging.quaternion import F64, conjugate, frame_rows, from_matrix, multiply, power, turns, unit
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


# The avatar frame's change of axes as a matrix (rows): folded into each operator's camera
# correction, it costs no call of its own.
_TO_AVATAR_M: Final = to_avatar(np.eye(3))
# The head's rest frame, inverted, as rigging.face defines it: ears along +X and the nose along +Y
# make the observed frame the identity, which leaves the rest part alone.
_HEAD_REST_T: Final = face.head_from_points(
    np.array([[0.0, 1.0, 0.0] if i == P.NOSE else [0.5, 0.0, 0.0] if i == P.LEFT_EAR
              else [-0.5, 0.0, 0.0] if i == P.RIGHT_EAR else [0.0, 0.0, 0.0] for i in range(len(P))])
)  # fmt: skip
# Rest frames of the first round (hips, upper chest, head, left hand, right hand) and of the limbs'
# round (upper arms, [thighs,] forearms), each product with one stacked table.
_FIRST_REST_T: Final = np.concatenate(
    (body.TORSO_REST_T[None], body.TORSO_REST_T[None], _HEAD_REST_T[None], body.HAND_REST_T)
)
_LIMB_REST_T: Final = np.concatenate((body.ARM_REST_T, body.FOREARM_REST_T))
_LIMB_REST_T_LEGS: Final = np.concatenate((body.ARM_REST_T, body.THIGH_REST_T, body.FOREARM_REST_T))
_ARM_ROWS: Final = [10, 11, 14, 15]  # body.UPPER_ARM_DIR, then body.LOWER_ARM_DIR
# Where the upper chest carries both upper arms, and its +Z: the columns of one product.
_UPPER_ARMS_AND_Z: Final = np.array([*body.UPPER_ARM, body.Z]).T.copy()
# The directions the next bones of a chain have at rest: forearms and shins, then feet (columns).
_NEXT_REST: Final = np.concatenate((body.LOWER_ARM, body.LOWER_LEG))[..., None]
_FOOT_REST: Final = body.FOOT[..., None]
# The sideways rows of body.DIRECTIONS the arms' (and the legs') second round turns toward.
_FOREARM_AND_SHIN: Final = [14, 15, 20, 21]  # body.LOWER_ARM_DIR, then body.LOWER_LEG_DIR
_ARM_AND_KNEE_BEND: Final = slice(14, 18)  # body.LOWER_ARM_DIR, then body.KNEE_BEND
# Parent and child of each relative rotation, as slots of the world rotations solve_locals stacks:
# 0 hips, 1 upper chest, 2 head, 3-4 hands, 5-6 upper arms, 7-8 forearms, 9-10 thighs, 11-12 shins,
# 13-14 feet. Spine's whole turn, head's, upper arms (shoulders at rest), forearms, hands, legs.
_PARENTS: Final = [0, 1, 1, 1, 5, 6, 7, 8]
_CHILDREN: Final = [1, 2, 5, 6, 7, 8, 3, 4]
_LEG_PARENTS: Final = [*_PARENTS, 0, 0, 9, 10, 11, 12]
_LEG_CHILDREN: Final = [*_CHILDREN, 9, 10, 11, 12, 13, 14]


def avatar_points(stack: FrameStack, camera_t: F64) -> tuple[F64, F64]:
    """Pose (B, 33, 3) and hand (B, 2, 21, 3) points in the avatar frame, camera-corrected.

    ``camera_t`` (B, 3, 3) is each operator's camera correction, transposed (row vectors).
    """
    m = _TO_AVATAR_M @ camera_t  # the same numbers as flipping the axes first: the flips are exact
    return stack.pose[..., :3] @ m, stack.hands @ m[:, None]


def _pairs(n: int, parts: list[tuple[F64, F64]]) -> F64:
    """Several parts' (from, to) direction pairs side by side, (n, rows, 2, 3), for one call of turns."""
    out = np.empty((n, sum(b.shape[1] for _, b in parts), 2, 3))
    start = 0
    for a, b in parts:
        stop = start + b.shape[1]
        out[:, start:stop, 0] = a
        out[:, start:stop, 1] = b
        start = stop
    return out


def _first_frames(d: F64, palm: F64, detected: np.ndarray, legs_seen: F64) -> F64:
    """World rotations of hips, upper chest, head (from the pose's points) and both hands, (B, 5, 3, 3).

    ``d`` are the pose's directions (``body.DIRECTIONS``), ``palm`` (B, 2, 2, 3) both hands' own
    palm directions, used where ``detected``; the hands not detected take the pose's.
    """
    f = d[:, body.FIRST_FRAMES].reshape(len(d), 2, 5, 3)  # (primaries, seconds) x 5 frames
    np.copyto(f[:, :, body.POSE_HANDS], palm.swapaxes(1, 2), where=detected[:, None, :, None])
    # The hips take the lean as much as the legs are seen; else they stay upright.
    seen = legs_seen[:, None]
    f[:, 1, 0] = seen * unit(f[:, 1, 1]) + (1.0 - seen) * body.Y
    return np.asarray(frame_rows(f[:, 0], f[:, 1]).swapaxes(-1, -2) @ _FIRST_REST_T, dtype=np.float64)


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
    detected = stack.detected
    # A part no frame of the batch needs is skipped (a single webcam frame rarely shows legs).
    any_hand, any_leg = bool(detected.any()), bool(seen_by.legs.any())
    d = body.DIRECTIONS @ pts  # (B, 24, 3)
    h = hands.DIRECTIONS @ hand_pts  # (B, 2, 17, 3)
    # Hands: from their own landmarks when detected, else coarsely from the pose's hand points.
    world = _first_frames(d, h[:, :, hands.PALM], detected, legs_seen)
    # Head: the face matrix when given, else the ears and nose of the pose.
    has_matrix = stack.has_matrix
    if has_matrix.any():
        from_face = camera @ face.head_from_matrix(stack.face_matrix)
        world[:, 2] = (
            from_face if has_matrix.all() else np.where(has_matrix[:, None, None], from_face, world[:, 2])
        )
    hands_w, upper_w = world[:, 3:5], world[:, 1]
    # Every phalanx seen from its hand, (B, 10 fingers, 3 joints, 3): the first joints' views.
    in_hand = (h[:, :, hands.PHALANGES] @ hands_w).reshape(n, 10, 3, 3)

    # Round 1 of turns: the upper arms carried by the upper chest (the twist a straight arm keeps),
    # the fingers' first joints.
    carried = (upper_w @ _UPPER_ARMS_AND_Z).swapaxes(1, 2)  # rows: both upper arms, the chest's +Z
    parts = [(carried[:, :2], d[:, body.UPPER_ARM_DIR])]
    if any_hand:
        parts.append((hands.REST_DIRS[0], in_hand[:, :, 0]))
    turned, unit_pairs = turns(_pairs(n, parts))
    fallback = (turned[:, :2] @ carried[:, 2, None, :, None])[..., 0]
    if any_leg:
        ref = body.twist_reference(
            np.concatenate((unit_pairs[:, :2, 1], unit(d[:, body.THIGH_DIR])), axis=1),
            d[:, _ARM_AND_KNEE_BEND],
            np.concatenate((fallback, d[:, body.HEEL_TO_TOE]), axis=1),
        )
        primaries, limb_rest_t, k = (
            d[:, body.UPPER_ARM_DIR.start : body.LOWER_ARM_DIR.stop],
            _LIMB_REST_T_LEGS,
            4,
        )
    else:
        ref = body.twist_reference(unit_pairs[:, :2, 1], d[:, body.LOWER_ARM_DIR], fallback)
        primaries, limb_rest_t, k = d[:, _ARM_ROWS], _LIMB_REST_T, 2
    # The limbs' frames: upper arms (and thighs) by their bend planes, forearms by the palms.
    across = hands_w[..., :, 2]  # the hands' thumb-side directions (their rest +Z)
    limbs = frame_rows(primaries, np.concatenate((ref, across), axis=1)).swapaxes(-1, -2) @ limb_rest_t

    # Round 2: forearms carried by the upper arms (and shins by the thighs), the fingers' second joints.
    ahead = (limbs[:, :k] @ _NEXT_REST[:k])[..., 0]
    parts = [(ahead, d[:, _FOREARM_AND_SHIN] if any_leg else d[:, body.LOWER_ARM_DIR])]
    if any_hand:
        later = in_hand[:, :, 1:] @ turned[:, 2:]  # joints 2 and 3 seen from joint 1
        parts.append((hands.REST_DIRS[1], later[:, :, 0]))
    turned2, unit_pairs2 = turns(_pairs(n, parts))
    moved = turned2[:, :k] @ limbs[:, :k]
    u2 = unit_pairs2[:, :2, 1]
    # A palm nearly along the forearm says nothing of its twist: then the carried forearm.
    perp = across - np.add.reduce(across * u2, axis=-1, keepdims=True) * u2
    coarse = vis[:, _COARSE_HAND_VIS].reshape(n, 2, 2).all(axis=1)
    hands_known = detected | coarse
    usable = hands_known & (np.sqrt(np.add.reduce(perp * perp, axis=-1)) > 0.2)
    lower = np.where(usable[..., None, None], limbs[:, k:], moved[:, :2])

    # Round 3: the feet carried by the shins, the fingers' third joints.
    parts = []
    if any_leg:
        parts.append(((moved[:, 2:4] @ _FOOT_REST)[..., 0], d[:, body.FOOT_DIR]))
    if any_hand:
        parts.append((hands.REST_DIRS[2], (later[:, :, 1:] @ turned2[:, k:])[:, :, 0]))
    turned3 = turns(_pairs(n, parts))[0] if parts else turned2

    stacked = [world, limbs[:, :2], lower]
    parents, children, bones = _PARENTS, _CHILDREN, _UPPER_BONES
    if any_leg:
        stacked += [limbs[:, 2:4], moved[:, 2:4], turned3[:, :2] @ moved[:, 2:4]]
        parents, children, bones = _LEG_PARENTS, _LEG_CHILDREN, _UPPER_BONES + _LEG_BONES
    w = np.concatenate(stacked, axis=1)
    # Every parent-relative rotation in one product (parent^T @ child).
    matrices = [w[:, :1], w[:, parents].swapaxes(-1, -2) @ w[:, children]]
    if any_hand:
        # The fingers' local rotations, (B, 10 fingers, 3 joints, 3, 3): FINGER_BONES order.
        fingers = np.empty((n, 10, 3, 3, 3))
        fingers[:, :, 0] = turned[:, 2:]
        fingers[:, :, 1] = turned2[:, k:]
        fingers[:, :, 2] = turned3[:, 2 if any_leg else 0 :]
        matrices.append(fingers.reshape(n, 30, 3, 3))
        bones = bones + _FINGER_BONES
    q = from_matrix(np.concatenate(matrices, axis=1))
    # The spine's turn shared by spine, chest and upper chest, the head's (less its calibrated
    # offset) by neck and head: both shares in one call.
    head_turn = multiply(q[:, 2:3], conjugate(head_offset[:, None]))
    shared = power(np.concatenate((q[:, (1, 1, 1)], head_turn[:, (0, 0)]), axis=1), _SHARES)
    local = REST_LOCALS[None].repeat(n, axis=0)
    local[:, bones] = np.concatenate((q[:, 0:1], shared, q[:, 3:]), axis=1)

    from_points = vis[:, _HEAD_VIS].all(axis=1)
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
