"""Every bone's local rotation for a batch of frames, and which limb groups each frame shows.

The geometry of ``rigging.body``, ``rigging.hands`` and ``rigging.face`` for B frames at once: all
parts are computed for every frame (a hand not detected is solved from zeros, which the steps turn
into a defined frame) and the masks in :class:`Sight` say which groups count. A group that is not
seen has its rows ignored by the presence step, so nothing here needs a per-frame branch.

On arrays this small numpy's cost is per call, not per number, so the parts are solved side by
side in rounds: every landmark direction comes from one product per kind of landmarks; every
frame whose inputs are ready is built in one call (the torso's, the hands' and the head's, then
the limbs'); and each step down the chains (upper chest to arms, arm to forearm, thigh to shin
to foot, hand to finger joint by finger joint) is one call of turns for all of them. Every world
rotation is written into one array of slots, so that all the parent-relative rotations come from
one product of two takes, all the quaternions from one call, and one take puts them in the
skeleton's order.
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
from rigging.quaternion import (
    F64,
    cross,
    dot_last,
    frame_rows,
    from_matrix,
    multiply,
    multiply_conjugate,
    power,
    turns,
    unit,
)
from rigging.skeleton import BONE_INDEX, BONES, FINGER_BONES, REST

SIDES: Final = body.SIDES

# seen's columns are in this order; GROUP_NAMES must agree.
_GROUP_ORDER: Final = (
    "torso", "head", "leftArm", "rightArm", "leftHand", "rightHand",
    "leftFingers", "rightFingers", "leftLeg", "rightLeg",
)  # fmt: skip
if GROUP_NAMES != _GROUP_ORDER:  # pragma: no cover - a guard for whoever reorders the groups
    raise RuntimeError("rigging.presence.GROUP_NAMES changed order: update rigging.local_rotations")

# A frame's flags as numbers 0/1: every pose point's visibility, then what FrameStack.present
# lists first (left hand, right hand detected, face matrix given).
_N_POINTS: Final = len(P)
_N_FLAGS: Final = _N_POINTS + 3
_MATRIX_FLAG: Final = _N_POINTS + 2


def _sight_table() -> tuple[F64, F64]:
    """Weights (flags, 12) and thresholds (12): column j holds exactly when flags @ W[:, j] >= T[j].

    Columns: the groups of :data:`_GROUP_ORDER`, then each hand's twist known (detected, or the
    pose's pinky and index seen). A group needs all of its points (an AND: the sum of their
    flags reaches their count); "these points, and either those points or that flag" weighs the
    required points more than the rest can make up, so one sum still decides. Sums of small whole
    numbers are exact, and the thresholds sit half-way between them.
    """
    w = np.zeros((_N_FLAGS, 12))
    need = np.zeros(12)
    shoulders = (P.LEFT_SHOULDER, P.RIGHT_SHOULDER)

    def put(col: int, flags: tuple[int, ...], weight: float = 1.0) -> None:
        w[list(flags), col] = weight
        need[col] += weight * len(flags)

    put(0, shoulders)  # torso: the body is seen
    put(1, shoulders, 4.0)  # head: the body, and the nose and both ears or a face matrix
    put(1, (P.NOSE, P.LEFT_EAR, P.RIGHT_EAR))
    w[_MATRIX_FLAG, 1] = 3.0
    for s in (0, 1):
        arm = (*shoulders, P.LEFT_ELBOW + s, P.LEFT_WRIST + s)  # the body and the arm's points
        coarse, detected = (P.LEFT_PINKY + s, P.LEFT_INDEX + s), _N_POINTS + s
        put(2 + s, arm)
        put(4 + s, arm, 3.0)  # hand: the arm, and the hand detected or its coarse points seen
        put(4 + s, coarse)
        w[detected, 4 + s] = 2.0
        put(6 + s, (*arm, detected))  # fingers: the arm and the hand detected
        leg = (P.LEFT_HIP, P.LEFT_KNEE, P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX)
        put(8 + s, (*shoulders, *(p + s for p in leg)))
        put(10 + s, coarse)  # the hand's twist: detected or its coarse points seen
        w[detected, 10 + s] = 2.0
    return w, need - 0.5


_SIGHT_W, _SIGHT_AT = _sight_table()


@dataclass(frozen=True)
class Sight:
    """What each frame of a batch shows (views of one mask)."""

    seen: np.ndarray  # (B, groups) bool: the groups of rigging.presence.GROUP_NAMES seen
    body: np.ndarray  # (B,) bool: a pose with both shoulders in view (else nothing is solved)
    legs: np.ndarray  # (B, 2) bool: every point of the leg in view (and the body seen)
    hands_known: np.ndarray  # (B, 2) bool: the hand's twist is known (detected, or pinky and index seen)


def sight(stack: FrameStack, min_visibility: F64) -> Sight:
    """Visibility masks; ``min_visibility`` (B, 1). A frame without a pose has visibility 0.

    Every mask from one product of the frames' flags with a constant table (numpy's cost here is
    per call, and the groups are a dozen ANDs and ORs of the flags).
    """
    flags = np.empty((len(stack), _N_FLAGS))
    np.greater_equal(stack.pose[:, :, 3], min_visibility, out=flags[:, :_N_POINTS])
    flags[:, _N_POINTS:] = stack.present[:, :3]
    ok = flags @ _SIGHT_W >= _SIGHT_AT
    return Sight(seen=ok[:, :10], body=ok[:, 0], legs=ok[:, 8:10], hands_known=ok[:, 10:12])


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
_LIMB_REST_T_LEGS: Final = np.concatenate((body.ARM_REST_T, body.THIGH_REST_T))
# A forearm whose hand bends back further than this (cosine between hand and forearm) is not
# carried back from its hand: a wrist cannot bend so far, and at a half turn the way back is undefined.
_WRIST_BEND_MAX_COS: Final = -0.5
# The forearms' rest directions are +X (left) and -X (right): a hand's first column, signed.
_FOREARM_REST_X: Final = body.LOWER_ARM[:, :1].copy()
# Both upper arms' rest directions as rows: times the upper chest's transpose, where it carries them.
_UPPER_ARMS: Final = body.UPPER_ARM.copy()
# The directions the next bones of a chain have at rest: forearms and shins, then feet (columns).
_NEXT_REST: Final = np.concatenate((body.LOWER_ARM, body.LOWER_LEG))[..., None]
_FOOT_REST: Final = body.FOOT[..., None]
# The sideways rows of body.DIRECTIONS the arms' (and the legs') second round turns toward.
_FOREARM_AND_SHIN: Final = np.array([14, 15, 20, 21], dtype=np.intp)  # LOWER_ARM_DIR, LOWER_LEG_DIR
_ARM_AND_KNEE_BEND: Final = slice(14, 18)  # body.LOWER_ARM_DIR, then body.KNEE_BEND
_EYE3: Final = np.eye(3)
_ONES3: Final = np.ones((3, 1))
_ONES4: Final = np.ones((4, 1))

# solve_locals keeps every world rotation in one array of slots (B, slots, 3, 3): 0 the identity
# (the parent of the hips and of the fingers, whose turns are already local), 1 hips, 2 upper
# chest, 3 head, 4-5 hands, 6-7 upper arms, then forearms (8-9), or with the legs thighs (8-9),
# forearms (10-11), shins (12-13) and feet (14-15); then the fingers' turns, joint-major (10 per
# joint: left thumb to little, right thumb to little).
_WORLD: Final = slice(1, 6)
_HEAD: Final = 3
_FINGERS_AT: Final = {False: 10, True: 16}

# Then the quaternions are made in one call in this order (57 slots): 0-4 the shared rotations of
# spine, chest, upper chest, neck and head (slot 0 first holds the head's turn less its offset),
# 5 hips, 6 the spine's whole turn, 7 the head's, 8-9 upper arms, 10-11 forearms, 12-13 hands,
# 14-19 legs (thighs, shins, feet), 20-49 the fingers in FINGER_BONES order, 50-56 the bones that
# stay at rest. A slot not solved in a batch is made from the identity and then written over.
_SPINE_TURN, _HEAD_TURN = 6, 7
_LEGS_OUT: Final = slice(14, 20)
_FINGERS_OUT: Final = slice(20, 50)
_REST_OUT: Final = slice(50, 57)
_OUT_BONES: Final = (
    "spine", "chest", "upperChest", "neck", "head", "hips", "", "",
    "leftUpperArm", "rightUpperArm", "leftLowerArm", "rightLowerArm", "leftHand", "rightHand",
    "leftUpperLeg", "rightUpperLeg", "leftLowerLeg", "rightLowerLeg", "leftFoot", "rightFoot",
    *FINGER_BONES["left"], *FINGER_BONES["right"],
)  # fmt: skip
_AT_REST: Final = tuple(b for b in BONES if b not in _OUT_BONES)
# Each bone's slot among the quaternions: one take puts them in BONES order.
_BONE_SLOT: Final = np.array([(*_OUT_BONES, *_AT_REST).index(b) for b in BONES], dtype=np.intp)
_REST_Q: Final = REST_LOCALS[[BONE_INDEX[b] for b in _AT_REST]]
_REST_LEGS_Q: Final = REST_LOCALS[[BONE_INDEX[b] for b in _OUT_BONES[_LEGS_OUT]]]
_REST_FINGERS_Q: Final = REST_LOCALS[[BONE_INDEX[b] for b in _OUT_BONES[_FINGERS_OUT]]]
# From the whole spine's turn and the head's, the five shared ones (sums to 1 along each chain).
# The last share is the spine's turn up to the upper chest's joint (spine and chest: 0.4 + 0.3).
_SHARE_FROM: Final = np.array([_SPINE_TURN] * 3 + [0, 0, _SPINE_TURN], dtype=np.intp)
_SHARES: Final = np.array([0.4, 0.3, 0.3, 0.5, 0.5, 0.7])


def _torso_lengths() -> tuple[float, float, float, float]:
    """Heights along each spine bone's own +Y that the torso line (hips' midpoint to shoulders'
    midpoint) runs through at rest: in the hips (from the hip joints' midpoint to the spine's joint),
    the spine, the chest, and the upper chest (to the shoulder joints' midpoint)."""
    o = REST.offsets
    hips = o["spine"] - 0.5 * (o["leftUpperLeg"] + o["rightUpperLeg"])
    shoulders = 0.5 * (o["leftShoulder"] + o["leftUpperArm"] + o["rightShoulder"] + o["rightUpperArm"])
    parts = (hips, o["chest"], o["upperChest"], shoulders)
    # The rest skeleton's spine is straight up, which the correction below relies on.
    if any(abs(v[0]) > 1e-12 or abs(v[2]) > 1e-12 for v in parts):  # pragma: no cover
        raise RuntimeError("rigging.skeleton.REST: the torso's rest offsets must be vertical")
    a, b, c, e = (float(v[1]) for v in parts)
    return a, b, c, e


_TORSO_A, _TORSO_B, _TORSO_C, _TORSO_E = _torso_lengths()
# The +Y of the spine's, chest's and upper chest's rotations (in the hips' frame) mixed into the
# upper chest's part of the torso line (row 0) and the spine's and chest's (row 1).
_TORSO_MIX: Final = np.array([[0.0, 0.0, _TORSO_E], [_TORSO_B, _TORSO_C, 0.0]])
_TORSO_HIPS: Final = np.array([0.0, _TORSO_A, 0.0])


def _rotate_y_table() -> F64:
    """A unit quaternion's image of +Y as one linear map of the outer product q_i q_j (16, 3)."""
    t = np.zeros((4, 4, 3))
    x, y, z, w = range(4)
    t[x, y, 0] = t[y, x, 0] = 1.0
    t[w, z, 0] = t[z, w, 0] = -1.0
    t[w, w, 1], t[x, x, 1], t[y, y, 1], t[z, z, 1] = 1.0, -1.0, 1.0, -1.0
    t[y, z, 2] = t[z, y, 2] = 1.0
    t[w, x, 2] = t[x, w, 2] = 1.0
    return t.reshape(16, 3)


_ROTATE_Y: Final = _rotate_y_table()
_CONJ: Final = np.array([-1.0, -1.0, -1.0, 1.0])
_ALL_IDX: Final = np.arange(len(BONES))


def _relative_slots(legs: bool, fingers: bool) -> tuple[np.ndarray, np.ndarray]:
    """The world slots of each quaternion slot's parent and child (local = parent^T @ child)."""
    fa = 10 if legs else 8
    pairs = [(0, 0)] * 5 + [
        (0, 1),
        (1, 2),
        (2, 3),
        (2, 6),
        (2, 7),
        (6, fa),
        (7, fa + 1),
        (fa, 4),
        (fa + 1, 5),
    ]
    pairs += [(1, 8), (1, 9), (8, 12), (9, 13), (12, 14), (13, 15)] if legs else [(0, 0)] * 6
    at = _FINGERS_AT[legs]
    # FINGER_BONES order is side, finger, joint; the slots are joint-major.
    pairs += [
        (0, at + 10 * j + 5 * s + f) if fingers else (0, 0)
        for s in (0, 1)
        for f in range(5)
        for j in range(3)
    ]
    pairs += [(0, 0)] * len(_AT_REST)
    parents, children = np.array(pairs, dtype=np.intp).T
    return parents.copy(), children.copy()


_RELATIVE: Final = {
    (legs, fingers): _relative_slots(legs, fingers) for legs in (False, True) for fingers in (False, True)
}


def _straighten_torso(q: F64, to_upper_chest: F64, hips_w: F64, up: F64) -> None:
    """Bend the spine's shares so the torso line points where the landmarks' does, in ``q``.

    Shared out as they are, the three spine bones make a curve whose chord, from the hips' midpoint
    to the shoulders' midpoint, leans off the landmarks' torso line when the trunk leans sideways
    against the pelvis (up to 6 degrees in a walk). One small turn of the spine and chest together
    (the same for both, so the chest's own share is kept) swings their part of the chord until the
    whole chord lies along the landmarks' line; the upper chest gives the turn back, so its world
    rotation, and everything it carries, is unchanged. ``q`` holds the spine's, chest's and upper
    chest's shares in slots 0-2 and their whole turn in slot 6 (hips' frame); ``to_upper_chest``
    (B, 4) is the spine's and chest's shares together, ``hips_w`` (B, 3, 3) the hips' world
    rotation, ``up`` (B, 3) the landmarks' torso line (world).
    """
    n = len(q)
    spine, whole = q[:, 0], q[:, _SPINE_TURN]
    turned = np.empty((n, 3, 4))
    turned[:, 0] = spine
    turned[:, 1] = to_upper_chest
    turned[:, 2] = whole
    ys = (turned[..., :, None] * turned[..., None, :]).reshape(-1, 16).dot(_ROTATE_Y).reshape(n, 3, 3)
    parts = _TORSO_MIX @ ys  # (B, 2, 3): the upper chest's part, the spine's and chest's
    fixed = parts[:, 0] + _TORSO_HIPS  # the hips' and upper chest's parts, which stay
    bent = parts[:, 1]
    target = unit((up[:, None] @ hips_w)[:, 0])  # the landmarks' line in the hips' frame
    # The length l along the target at which the bent part, turned, closes the chord:
    # |l target - fixed| = |bent|.
    along = dot_last(target * fixed, _ONES3)
    sq = dot_last(np.concatenate((fixed * fixed, bent * bent), axis=1).reshape(n, 2, 3), _ONES3)[..., 0]
    length = along + np.sqrt(np.maximum(along * along - sq[:, :1] + sq[:, 1:], 0.0))
    goal = length * target - fixed
    # The shortest turn from bent to goal as a quaternion: (bent x goal, |bent||goal| + bent . goal),
    # kept off zero so that a degenerate row (no torso seen) is the identity.
    turn = np.empty((n, 4))
    turn[:, :3] = cross(bent, goal)
    turn[:, 3:] = np.sqrt(sq[:, 1:] * dot_last(goal * goal, _ONES3)) + dot_last(bent * goal, _ONES3) + 1e-12
    turn /= np.sqrt(dot_last(turn * turn, _ONES4))
    # spine' = turn * spine; upper chest' = conj(to_upper_chest) * conj(turn) * whole.
    pairs = multiply(np.stack((turn, turn * _CONJ), axis=1), np.stack((spine, whole), axis=1))
    q[:, 0] = pairs[:, 0]
    q[:, 2] = multiply(to_upper_chest * _CONJ, pairs[:, 1])


def avatar_points(stack: FrameStack, camera_t: F64) -> tuple[F64, F64]:
    """Pose (B, 33, 3) and hand (B, 2, 21, 3) points in the avatar frame, camera-corrected.

    ``camera_t`` (B, 3, 3) is each operator's camera correction, transposed (row vectors).
    """
    m = _TO_AVATAR_M @ camera_t  # the same numbers as flipping the axes first: the flips are exact
    return stack.pose[..., :3] @ m, stack.hands @ m[:, None]


def _first_frames(d: F64, palm: F64, detected: np.ndarray, n_detected: int, legs_seen: F64, out: F64) -> None:
    """World rotations of hips, upper chest, head (from the pose's points) and both hands into ``out``.

    ``d`` are the pose's directions (``body.DIRECTIONS``), ``palm`` (B, 2, 2, 3) both hands' own
    palm directions, used where ``detected`` (``n_detected`` of them); the hands not detected take
    the pose's. ``out`` is (B, 5, 3, 3).
    """
    f = d[:, body.FIRST_FRAMES].reshape(len(d), 2, 5, 3)  # (primaries, seconds) x 5 frames
    if n_detected == detected.size:  # the masked copy only for a batch with some hands missing
        f[:, :, body.POSE_HANDS] = palm.swapaxes(1, 2)
    elif n_detected:
        np.copyto(f[:, :, body.POSE_HANDS], palm.swapaxes(1, 2), where=detected[:, None, :, None])
    # The hips take the lean as much as the legs are seen; else they stay upright (the blend's
    # numbers exactly, when no frame shows its legs at all).
    if np.count_nonzero(legs_seen):
        seen = legs_seen[:, None]
        f[:, 1, 0] = seen * unit(f[:, 1, 1]) + (1.0 - seen) * body.Y
    else:
        f[:, 1, 0] = body.Y
    np.matmul(frame_rows(f[:, 0], f[:, 1]).swapaxes(-1, -2), _FIRST_REST_T, out=out)


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
    n = len(stack)
    detected = stack.detected
    # A part no frame of the batch needs is skipped (a single webcam frame rarely shows legs).
    # (np.count_nonzero: the quickest test of a small mask.)
    n_detected = int(np.count_nonzero(detected))
    any_hand, any_leg = n_detected > 0, int(np.count_nonzero(seen_by.legs)) > 0
    k = 4 if any_leg else 2  # the limbs' rows leading each round: arms, then thighs or shins
    fingers_at = _FINGERS_AT[any_leg]
    d = body.DIRECTIONS @ pts  # (B, 24, 3)
    h = hands.DIRECTIONS @ hand_pts  # (B, 2, 17, 3)
    w = np.empty((n, fingers_at + (30 if any_hand else 0), 3, 3))
    w[:, 0] = _EYE3
    # Hands: from their own landmarks when detected, else coarsely from the pose's hand points.
    _first_frames(d, h[:, :, hands.PALM], detected, n_detected, legs_seen, w[:, _WORLD])
    # Head: the face matrix when given, else the ears and nose of the pose.
    has_matrix = stack.has_matrix
    n_matrix = np.count_nonzero(has_matrix)
    if n_matrix:
        from_face = camera @ face.head_from_matrix(stack.face_matrix)
        if n_matrix == n:
            w[:, _HEAD] = from_face
        else:
            np.copyto(w[:, _HEAD], from_face, where=has_matrix[:, None, None])
    hands_w, upper_w = w[:, 4:6], w[:, 2]

    # Round 1 of turns: the upper arms carried by the upper chest (the twist a straight arm keeps),
    # [the thighs onto themselves, for their unit directions,] the forearms carried back from their
    # hands, the fingers' first joints. Each round's (from, to) pairs are written into one array for
    # one call of turns.
    kf = k + 2  # the fingers' rows
    pairs = np.empty((n, kf + (10 if any_hand else 0), 2, 3))
    np.matmul(_UPPER_ARMS, upper_w.swapaxes(-1, -2), out=pairs[:, :2, 0])
    pairs[:, :2, 1] = d[:, body.UPPER_ARM_DIR]
    if any_leg:
        pairs[:, 2:4] = d[:, body.THIGH_DIR, None]
    # The forearm's rest direction (+-X, along the hand's at rest) as each hand carries it, to the forearm.
    np.multiply(hands_w[..., :, 0], _FOREARM_REST_X, out=pairs[:, k:kf, 0])
    pairs[:, k:kf, 1] = d[:, body.LOWER_ARM_DIR]
    if any_hand:
        # Every phalanx seen from its hand, (B, 10 fingers, 3 joints, 3): the first joints' views.
        in_hand = (h[:, :, hands.PHALANGES] @ hands_w).reshape(n, 10, 3, 3)
        pairs[:, kf:, 0] = hands.REST_DIRS[0]
        pairs[:, kf:, 1] = in_hand[:, :, 0]
    turned, unit_pairs = turns(pairs)
    # The chest's +Z (its third column) as each upper arm's turn carries it: the straight arm's twist.
    fallback = (turned[:, :2] @ upper_w[:, None, :, 2, None])[..., 0]
    limbs = w[:, 6 : 8 + k]
    # The limbs' frames: upper arms (and thighs) by their bend planes ...
    if any_leg:
        ref = body.twist_reference(
            unit_pairs[:, :4, 1],
            d[:, _ARM_AND_KNEE_BEND],
            np.concatenate((fallback, d[:, body.HEEL_TO_TOE]), axis=1),
        )
        primaries, limb_rest_t = d[:, body.UPPER_ARM_DIR.start : body.THIGH_DIR.stop], _LIMB_REST_T_LEGS
    else:
        ref = body.twist_reference(unit_pairs[:, :2, 1], d[:, body.LOWER_ARM_DIR], fallback)
        primaries, limb_rest_t = d[:, body.UPPER_ARM_DIR], body.ARM_REST_T
    np.matmul(frame_rows(primaries, ref).swapaxes(-1, -2), limb_rest_t, out=limbs[:, :k])
    # ... and forearms by their hands, carried back along the wrist's bend: the wrist does not
    # twist (pronation is the forearm's), so the hand's local rotation is a pure bend, and a
    # bend of flexion and deviation together never shows as a twist the hand's limit would cut.
    np.matmul(turned[:, k:kf], hands_w, out=limbs[:, k:])

    # Round 2: forearms carried by the upper arms (and shins by the thighs), the fingers' second joints.
    pairs = np.empty((n, k + (10 if any_hand else 0), 2, 3))
    pairs[:, :k, 0] = (limbs[:, :k] @ _NEXT_REST[:k])[..., 0]
    pairs[:, :k, 1] = d.take(_FOREARM_AND_SHIN, axis=1) if any_leg else d[:, body.LOWER_ARM_DIR]
    if any_hand:
        later = in_hand[:, :, 1:] @ turned[:, kf:]  # joints 2 and 3 seen from joint 1
        pairs[:, k:, 0] = hands.REST_DIRS[1]
        pairs[:, k:, 1] = later[:, :, 0]
    turned2 = turns(pairs)[0]
    moved = turned2[:, :k] @ limbs[:, :k]
    # A hand unknown, or bent back beyond any wrist's reach, says nothing of the forearm's twist:
    # then the forearm carried by the upper arm.
    bend_cos = dot_last(unit_pairs[:, k:kf, 0] * unit_pairs[:, k:kf, 1], _ONES3)[..., 0]
    usable = seen_by.hands_known & (bend_cos > _WRIST_BEND_MAX_COS)
    if np.count_nonzero(usable) != usable.size:
        np.copyto(limbs[:, k:], moved[:, :2], where=~usable[..., None, None])
    if any_leg:
        w[:, 12:14] = moved[:, 2:4]

    # Round 3: the feet carried by the shins, the fingers' third joints.
    if any_leg or any_hand:
        feet = 2 if any_leg else 0
        pairs = np.empty((n, feet + (10 if any_hand else 0), 2, 3))
        if any_leg:
            pairs[:, :2, 0] = (moved[:, 2:4] @ _FOOT_REST)[..., 0]
            pairs[:, :2, 1] = d[:, body.FOOT_DIR]
        if any_hand:
            pairs[:, feet:, 0] = hands.REST_DIRS[2]
            pairs[:, feet:, 1] = (later[:, :, 1:] @ turned2[:, k:])[:, :, 0]
        turned3 = turns(pairs)[0]
        if any_leg:
            np.matmul(turned3[:, :2], moved[:, 2:4], out=w[:, 14:16])
        if any_hand:
            w[:, fingers_at : fingers_at + 10] = turned[:, kf:]
            w[:, fingers_at + 10 : fingers_at + 20] = turned2[:, k:]
            w[:, fingers_at + 20 :] = turned3[:, feet:]

    # Every parent-relative rotation (parent^T @ child) in one product, and every quaternion in
    # one call; then the shares, and the rest rotations where nothing was solved.
    parents, children = _RELATIVE[any_leg, any_hand]
    q = from_matrix(w.take(parents, axis=1).swapaxes(-1, -2) @ w.take(children, axis=1))
    # The spine's turn shared by spine, chest and upper chest, the head's (less its calibrated
    # offset) by neck and head: both shares in one call.
    q[:, 0] = multiply_conjugate(q[:, _HEAD_TURN], head_offset)
    shares = power(q.take(_SHARE_FROM, axis=1), _SHARES)
    q[:, 0:5] = shares[:, :5]
    _straighten_torso(q, shares[:, 5], w[:, 1], d[:, body.UP])
    q[:, _REST_OUT] = _REST_Q
    if not any_leg:
        q[:, _LEGS_OUT] = _REST_LEGS_Q
    if not any_hand:
        q[:, _FINGERS_OUT] = _REST_FINGERS_Q
    return seen_by.seen, clamp(q.take(_BONE_SLOT, axis=1), _ALL_IDX)
