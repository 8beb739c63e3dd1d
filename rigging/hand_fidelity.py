"""How faithfully the avatar's hands show the tracked ones: finger segments, hand direction, palm.

The avatar's hand is put on the rest skeleton by forward kinematics (``rigging.kinematics``) and read
as the same 21 points MediaPipe gives (wrist, each finger's joints and tip), so both hands go
through one geometry: the direction of every phalanx (15 segments, thumb to little, base to tip),
the hand's own direction (wrist to middle knuckle), the palm's normal, and each joint's bend. Both
are in the avatar frame; the tracked hand's points come through ``rigging.landmarks.to_avatar``.

Where the two differ, :class:`HandFidelity` names a cause per hand and frame:

* ``arm not in view``: the hand was found but its arm's landmarks were not seen, so the solver
  cannot place the hand (it eases to rest with its arm);
* ``arm easing in``: the arm came into view less than an ease time ago and is still gliding from
  rest (``rigging.presence``), so the hand is not where the landmarks put it yet;
* ``bent past a joint's limit``: the solved pose holds a joint of the hand at the edge of its cone
  (``rigging.limits``), which only happens when the landmarks bend it further than a hand can;

and, from the tracked points alone, what a hand cannot do:

* ``bent too far``: a finger joint bent toward the palm past what joints allow
  (:data:`FORWARD_LIMIT_DEG`): a finger folded through the palm;
* ``bent backwards``: a finger joint bent backwards (toward the back of the hand) past what joints
  allow (:data:`BACKWARD_LIMIT_DEG`);
* ``phalanx collapsed``: a phalanx shorter than :data:`COLLAPSE_RATIO` of its usual length for the
  hand's size (:data:`USUAL_LENGTHS`), which leaves its direction to the tracker's noise.

The first three are the solver's (what it shows differs from the landmarks for a reason of its
own: :data:`SOLVER_CAUSES`); the last three say what the tracker got wrong, whether or not it
made the avatar differ (the solver shows a finger bent backwards as it is tracked).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from rigging.frame import TrackingFrame
from rigging.frame_stack import stack_frames
from rigging.kinematics import pose_joints
from rigging.landmarks import FINGER_CHAINS, HandPoint, to_avatar
from rigging.limits import CONES
from rigging.local_rotations import sight
from rigging.pose import AvatarPose
from rigging.presence import ARRIVE, GROUP_ID
from rigging.quaternion import F64, swing_twist
from rigging.skeleton import FINGER_BONES, REST

SIDES: Final = ("left", "right")
ARM_NOT_IN_VIEW: Final = "arm not in view"
ARM_EASING_IN: Final = "arm easing in"
PAST_LIMIT: Final = "bent past a joint's limit"
BENT_TOO_FAR: Final = "bent too far"
BENT_BACKWARDS: Final = "bent backwards"
COLLAPSED: Final = "phalanx collapsed"
SOLVER_CAUSES: Final = (ARM_NOT_IN_VIEW, ARM_EASING_IN, PAST_LIMIT)
TRACKER_CAUSES: Final = (BENT_TOO_FAR, BENT_BACKWARDS, COLLAPSED)
#: Every cause, in the order reports list them.
CAUSES: Final = SOLVER_CAUSES + TRACKER_CAUSES

#: How far a finger joint can bend toward the palm, in degrees: base knuckle, middle joint, end
#: joint. About 20 degrees over the usual range of motion (90, 110 and 90).
FORWARD_LIMIT_DEG: Final = (110.0, 130.0, 110.0)
#: How far a finger joint can bend backwards, in degrees, likewise: generous for loose-jointed
#: hands (passive extension of about 45, 10 and 20 degrees is usual).
BACKWARD_LIMIT_DEG: Final = (60.0, 30.0, 40.0)
#: Each phalanx's usual length over the palm's (wrist to middle knuckle) in MediaPipe's hand world
#: landmarks, thumb to little, base to tip: the medians of 1,412 tracked hands of 14 people's
#: webcam clips, to two places (the tracker's hand model keeps these proportions closely).
USUAL_LENGTHS: Final = np.array(
    [0.35, 0.32, 0.29, 0.25, 0.28, 0.25, 0.30, 0.27, 0.33, 0.22, 0.25, 0.27, 0.19, 0.22, 0.21]
)
#: A phalanx shorter than this share of its usual length for the hand's size has collapsed.
COLLAPSE_RATIO: Final = 0.4
_LIMIT_MARGIN_DEG: Final = 0.05  # a solved joint this close to its cone's edge was held there

# The 21 points' joints on the skeleton: the wrist is the hand bone's joint, then for each finger
# its three bones' joints and the last one's tip.
_JOINTS: Final = {
    side: [f"{side}Hand"]
    + [
        name
        for f in range(5)
        for name in (
            *FINGER_BONES[side][3 * f : 3 * f + 3],
            f"{FINGER_BONES[side][3 * f + 2]}Tip",
        )
    ]
    for side in SIDES
}
_FROM: Final = np.array([chain[j] for chain in FINGER_CHAINS for j in range(3)])
_TO: Final = np.array([chain[j + 1] for chain in FINGER_CHAINS for j in range(3)])
# The bones whose limits move the hand or its fingers, per side.
_LIMITED: Final = {side: (f"{side}LowerArm", f"{side}Hand", *FINGER_BONES[side]) for side in SIDES}


def _unit(v: F64) -> F64:
    return np.asarray(v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12), dtype=np.float64)


def angles(a: F64, b: F64) -> F64:
    """Degrees between unit vectors, row by row."""
    return np.asarray(np.degrees(np.arccos(np.clip(np.sum(a * b, axis=-1), -1.0, 1.0))), dtype=np.float64)


@dataclass(frozen=True)
class HandShape:
    """One hand's geometry in the avatar frame."""

    segments: F64  # (15, 3) unit phalanx directions, thumb to little, base to tip
    lengths: F64  # (15,) phalanx lengths over the palm's length (wrist to middle knuckle)
    direction: F64  # (3,) wrist to middle knuckle, unit
    normal: F64  # (3,) the palm's normal, toward the palm's side
    #: (4, 3) index to little: the bend at the base knuckle (from the hand's direction), middle
    #: and end joint in degrees, positive toward the palm (a finger bent backwards is negative).
    flexion: F64


def hand_points(pose: AvatarPose, side: str) -> F64:
    """The avatar's ``side`` hand as MediaPipe's 21 points (avatar frame), by forward kinematics."""
    joints = pose_joints(pose)
    return np.array([joints[name] for name in _JOINTS[side]])


def hand_shape(points: F64, side: str) -> HandShape:
    """The geometry of the ``side`` hand's 21 points (avatar frame)."""
    seg = points[_TO] - points[_FROM]
    palm = points[HandPoint.MIDDLE_MCP] - points[HandPoint.WRIST]
    palm_len = max(float(np.linalg.norm(palm)), 1e-12)
    direction = palm / palm_len
    across = points[HandPoint.INDEX_MCP] - points[HandPoint.PINKY_MCP]
    # The left hand's palm faces down at rest (wrist to middle knuckle +X, little to index +Z):
    # X x Z = -Y is its palm's side; the right hand mirrors that.
    normal = _unit((1.0 if side == "left" else -1.0) * np.cross(direction, across))
    # Fingers bend about this axis: it turns the hand's direction toward the palm's side.
    axis = _unit(np.cross(direction, normal))
    segments = _unit(seg)
    flexion = np.zeros((4, 3))
    for f in range(1, 5):
        # The base knuckle's bend from the hand's direction: the solver aligns the hands' directions,
        # so the avatar's and the tracked hand's bends are alike where their segments are, whatever
        # each hand's knuckles' spread.
        parents = (direction, segments[3 * f], segments[3 * f + 1])
        for j, a in enumerate(parents):
            b = segments[3 * f + j]
            toward_palm = _unit(np.cross(axis, a))
            flexion[f - 1, j] = math.degrees(math.atan2(float(b @ toward_palm), float(b @ a)))
    return HandShape(segments, np.linalg.norm(seg, axis=1) / palm_len, direction, normal, flexion)


def tracker_causes(shape: HandShape) -> set[str]:
    """What the tracked hand does that a hand cannot (see the module)."""
    causes = set()
    if np.any(shape.flexion > np.array(FORWARD_LIMIT_DEG)):
        causes.add(BENT_TOO_FAR)
    if np.any(shape.flexion < -np.array(BACKWARD_LIMIT_DEG)):
        causes.add(BENT_BACKWARDS)
    if np.any(shape.lengths < COLLAPSE_RATIO * USUAL_LENGTHS):
        causes.add(COLLAPSED)
    return causes


def at_limit(pose: AvatarPose, side: str) -> bool:
    """Whether the pose holds the forearm, hand or a finger of ``side`` at the edge of its cone."""
    for bone in _LIMITED[side]:
        q = pose.bones.get(bone)
        if q is None:
            continue
        q = q if q[3] >= 0 else -q
        swing, twist = swing_twist(q, REST.direction(bone))
        swing_deg = math.degrees(2.0 * math.acos(min(1.0, abs(float(swing[3])))))
        twist_deg = math.degrees(2.0 * math.acos(min(1.0, abs(float(twist[3])))))
        cone = CONES[bone]
        if swing_deg >= cone.swing_deg - _LIMIT_MARGIN_DEG or twist_deg >= cone.twist_deg - _LIMIT_MARGIN_DEG:
            return True
    return False


@dataclass(frozen=True)
class HandSample:
    """One tracked hand in one frame against the avatar's."""

    t_ms: float
    side: str
    errors: F64  # (15,) degrees between each phalanx of the avatar and of the tracked hand
    hand_error: float  # degrees between the hands' directions (wrist to middle knuckle)
    palm_error: float  # degrees between the palms' normals
    tracked: HandShape
    avatar: HandShape
    causes: frozenset[str]


class HandFidelity:
    """Compares a solver's poses with the hands of the frames it solved, frame by frame.

    Built with the solver's ease and visibility threshold, it follows which arms the solver sees
    and since when (as ``rigging.presence`` does), to name the frames whose arm is still easing in.
    """

    def __init__(self, ease_ms: float = 300.0, min_visibility: float = 0.5) -> None:
        self.ease_ms = ease_ms
        self.min_visibility = np.array([[min_visibility]])
        self._groups = {side: (GROUP_ID[f"{side}Arm"], GROUP_ID[f"{side}Hand"]) for side in SIDES}
        self._seen = {side: False for side in SIDES}
        self._since = {side: -math.inf for side in SIDES}

    def step(self, frame: TrackingFrame, pose: AvatarPose) -> list[HandSample]:
        """The samples of the hands ``frame`` shows (none, one or two); ``pose`` solved from it."""
        seen = sight(stack_frames([frame]), self.min_visibility).seen[0]
        samples = []
        for side in SIDES:
            groups = self._groups[side]
            arm_seen = bool(seen[list(groups)].all())
            if arm_seen and not self._seen[side]:
                self._since[side] = frame.t_ms
            self._seen[side] = arm_seen
            hand = frame.left_hand_world if side == "left" else frame.right_hand_world
            if hand is None:
                continue
            tracked = hand_shape(to_avatar(hand), side)
            avatar = hand_shape(hand_points(pose, side), side)
            causes = tracker_causes(tracked)
            if not arm_seen:
                causes.add(ARM_NOT_IN_VIEW)
            elif frame.t_ms - self._since[side] < self.ease_ms * float(ARRIVE[groups[0]]):
                causes.add(ARM_EASING_IN)
            if at_limit(pose, side):
                causes.add(PAST_LIMIT)
            samples.append(
                HandSample(
                    t_ms=frame.t_ms,
                    side=side,
                    errors=angles(tracked.segments, avatar.segments),
                    hand_error=float(angles(tracked.direction, avatar.direction)),
                    palm_error=float(angles(tracked.normal, avatar.normal)),
                    tracked=tracked,
                    avatar=avatar,
                    causes=frozenset(causes),
                )
            )
        return samples


@dataclass(frozen=True)
class ClipFigures:
    """A clip's finger figures: every phalanx of every tracked hand and frame, and the causes."""

    hands: int  # tracked hands over all frames
    median: float  # degrees, all finger segments
    p90: float
    clean_median: float  # the same over the hands none of the solver's causes was named for
    clean_p90: float
    clean_hands: int
    hand_p90: float  # the hand's direction, worst tenth
    clean_hand_p90: float  # the same over the clean hands
    palm_median: float  # the palm's normal
    causes: dict[str, int]  # hands each cause was named for (a hand may have several)
    bends: dict[str, tuple[float, float]]  # joint -> median bend (avatar, tracked), index to little


def figures(samples: Sequence[HandSample]) -> ClipFigures:
    """A clip's figures from its samples (at least one)."""
    if not samples:
        raise ValueError("no tracked hand in the clip")
    errors = np.concatenate([s.errors for s in samples])
    kept = [s for s in samples if not s.causes.intersection(SOLVER_CAUSES)]
    clean = [s.errors for s in kept]
    clean_errors = np.concatenate(clean) if clean else np.array([np.nan])
    bends = {
        joint: (
            float(np.median([np.abs(s.avatar.flexion[:, j]) for s in samples])),
            float(np.median([np.abs(s.tracked.flexion[:, j]) for s in samples])),
        )
        for j, joint in enumerate(("MCP", "PIP", "DIP"))
    }
    return ClipFigures(
        hands=len(samples),
        median=float(np.median(errors)),
        p90=float(np.percentile(errors, 90)),
        clean_median=float(np.median(clean_errors)),
        clean_p90=float(np.percentile(clean_errors, 90)),
        clean_hands=len(clean),
        hand_p90=float(np.percentile([s.hand_error for s in samples], 90)),
        clean_hand_p90=float(np.percentile([s.hand_error for s in kept], 90)) if kept else math.nan,
        palm_median=float(np.median([s.palm_error for s in samples])),
        causes={cause: sum(cause in s.causes for s in samples) for cause in CAUSES},
        bends=bends,
    )
