"""Ground truth for the solver: real motion capture turned into MediaPipe-style landmarks.

A BVH recording is run through forward kinematics; its joints are read out where MediaPipe would
report them (shoulders, elbows, wrists, hips, knees, ankles, toes, face points) in MediaPipe's
world axes, and each hand gets 21 synthetic landmarks with known finger angles, held at the
recorded wrist with the recorded hand's orientation. The truth to compare a solved pose with is
the direction of each body segment between those joints; a solved pose gives the same segments
by forward kinematics on the rest skeleton (``rigging.kinematics``). Directions, not rotations,
because the recorded person's proportions are not the avatar's.

Segments compared (docs/accuracy.md): torso (hips midpoint to shoulders midpoint, shoulder line,
hip line), arms (upper arm, forearm, hand: wrist to middle knuckle), legs (thigh, shin, foot:
ankle to ball of the foot), fingers (every phalanx of both hands).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from rigging.bvh import Motion
from rigging.frame import TrackingFrame
from rigging.kinematics import forward
from rigging.pose import AvatarPose
from rigging.quaternion import F64, frame, from_axis_angle, from_matrix, multiply, to_matrix, unit
from rigging.skeleton import FINGER_BONES, PARENT, REST

SIDES: Final = ("left", "right")
_TO_MEDIAPIPE: Final = np.array([1.0, -1.0, -1.0])
STATURE_M: Final = 1.75
_FINGERS: Final = ("Thumb", "Index", "Middle", "Ring", "Little")

# Face points in the head's frame (metres): nose, eyes, ears, mouth, as MediaPipe numbers them.
_FACE: Final[dict[int, tuple[float, float, float]]] = {
    0: (0, 0.05, 0.1),
    1: (0.02, 0.08, 0.08), 2: (0.035, 0.08, 0.08), 3: (0.05, 0.08, 0.07),
    4: (-0.02, 0.08, 0.08), 5: (-0.035, 0.08, 0.08), 6: (-0.05, 0.08, 0.07),
    7: (0.075, 0.07, 0.0), 8: (-0.075, 0.07, 0.0), 9: (0.025, 0.02, 0.09), 10: (-0.025, 0.02, 0.09),
}  # fmt: skip

# CMU skeleton joint names for each side's limb joints.
_CMU: Final = {
    "left": {"shoulder": "LeftShoulder", "elbow": "LeftElbow", "wrist": "LeftWrist", "hand": "lhand",
             "fingers": "LFingers", "thumb": "LThumb", "hip": "LeftHip", "knee": "LeftKnee",
             "ankle": "LeftAnkle", "toe": "LeftToe"},
    "right": {"shoulder": "RightShoulder", "elbow": "RightElbow", "wrist": "RightWrist", "hand": "rhand",
              "fingers": "RFingers", "thumb": "RThumb", "hip": "RightHip", "knee": "RightKnee",
              "ankle": "RightAnkle", "toe": "RightToe"},
}  # fmt: skip


@dataclass(frozen=True)
class TruthFrame:
    frame: TrackingFrame
    #: Unit direction of each compared segment, avatar frame (X = x, Y = -y, Z = -z).
    segments: dict[str, F64]


def finger_pose(side: str, t_s: float) -> dict[str, F64]:
    """Known finger angles at time ``t_s``: each finger opens and closes on its own rhythm.

    Flexion curls toward the palm (about -Z for the left hand, +Z for the right at rest), the base
    knuckles also spread a little, and the thumb swings across the palm and bends.
    """
    sign = -1.0 if side == "left" else 1.0
    out: dict[str, F64] = {}
    for k, finger in enumerate(_FINGERS[1:]):
        curl = 0.5 - 0.5 * math.cos(2 * math.pi * t_s / (1.6 + 0.3 * k) + k)
        spread = math.radians(8 * math.sin(2 * math.pi * t_s / 2.3 + k) - 6 + 4 * k)
        flex = np.array([0.0, 0.0, sign])
        out[f"{side}{finger}Proximal"] = multiply(
            from_axis_angle(flex, math.radians(80 * curl)), from_axis_angle(np.array([0.0, 1.0, 0.0]), spread)
        )
        out[f"{side}{finger}Intermediate"] = from_axis_angle(flex, math.radians(95 * curl))
        out[f"{side}{finger}Distal"] = from_axis_angle(flex, math.radians(60 * curl))
    thumb = 0.5 - 0.5 * math.cos(2 * math.pi * t_s / 2.0)
    out[f"{side}ThumbMetacarpal"] = from_axis_angle(
        np.array([0.0, 1.0, 0.0]), math.radians(-sign * 25 * thumb)
    )
    out[f"{side}ThumbProximal"] = from_axis_angle(np.array([0.0, sign, 0.0]), math.radians(35 * thumb))
    out[f"{side}ThumbDistal"] = from_axis_angle(np.array([0.0, sign, 0.0]), math.radians(50 * thumb))
    return out


@dataclass(frozen=True)
class HandSkeleton:
    """Both hands of a skeleton at rest (T-pose, facing +Z, avatar frame), as VRM bones.

    ``offsets``: each finger joint's offset from its parent joint (the first joints' from the hand's);
    ``tips``: where each distal bone ends, from its own joint. Another skeleton family's hands (a
    Mixamo rig's knuckles, thumb and curl at rest) differ from the solver's rest skeleton; the
    landmarks then come from those hands, while the solver still reads them with its own.
    """

    offsets: dict[str, F64]
    tips: dict[str, F64]

    @classmethod
    def from_joints(cls, joints: Mapping[str, F64]) -> HandSkeleton:
        """From rest positions of each side's ``<side>Hand``, finger joints and ``<bone>Tip`` of
        each distal bone (any origin, avatar frame)."""
        missing = [
            name
            for side in SIDES
            for name in (
                f"{side}Hand",
                *FINGER_BONES[side],
                *(f"{b}Tip" for b in FINGER_BONES[side] if b.endswith("Distal")),
            )
            if name not in joints
        ]
        if missing:
            raise ValueError(f"hand skeleton: joints missing: {', '.join(missing)}")
        offsets, tips = {}, {}
        for side in SIDES:
            for bone in FINGER_BONES[side]:
                parent = PARENT[bone]
                assert parent is not None
                offsets[bone] = np.asarray(joints[bone] - joints[parent], dtype=np.float64)
                if bone.endswith("Distal"):
                    tips[bone] = np.asarray(joints[f"{bone}Tip"] - joints[bone], dtype=np.float64)
        return cls(offsets=offsets, tips=tips)

    def palm_frame(self, side: str) -> F64:
        """The hand's rest frame as the solver defines a palm's: to the middle knuckle, little to index."""
        o = self.offsets
        return frame(o[f"{side}MiddleProximal"], o[f"{side}IndexProximal"] - o[f"{side}LittleProximal"])


#: The solver's own rest hands (rigging.skeleton.REST).
REST_HANDS: Final = HandSkeleton(
    offsets={b: REST.offsets[b] for side in SIDES for b in FINGER_BONES[side]},
    tips={b: REST.tips[b] for side in SIDES for b in FINGER_BONES[side] if b in REST.tips},
)


def _hand_joints(
    side: str, hand_rot: F64, wrist: F64, fingers: dict[str, F64], skeleton: HandSkeleton
) -> dict[str, F64]:
    """World positions of a hand's joints and finger tips, its wrist at ``wrist``."""
    hand_q = from_matrix(hand_rot)
    world: dict[str, F64] = {f"{side}Hand": hand_q}
    pos: dict[str, F64] = {f"{side}Hand": wrist}
    for bone in FINGER_BONES[side]:
        parent = PARENT[bone]
        assert parent is not None
        world[bone] = multiply(world[parent], fingers[bone])
        pos[bone] = pos[parent] + to_matrix(world[parent]) @ skeleton.offsets[bone]
        if bone in skeleton.tips:
            pos[bone + "Tip"] = pos[bone] + to_matrix(world[bone]) @ skeleton.tips[bone]
    return pos


def _hand_landmarks(side: str, joints: dict[str, F64]) -> F64:
    pts = [joints[f"{side}Hand"]]
    for finger in _FINGERS:
        names = (
            ("Metacarpal", "Proximal", "Distal")
            if finger == "Thumb"
            else ("Proximal", "Intermediate", "Distal")
        )
        pts += [joints[f"{side}{finger}{n}"] for n in names] + [joints[f"{side}{finger}DistalTip"]]
    return np.array(pts)


def _finger_segments(side: str, joints: dict[str, F64]) -> dict[str, F64]:
    out = {}
    for bone in FINGER_BONES[side]:
        nxt = [b for b in FINGER_BONES[side] if PARENT[b] == bone]
        end = joints[nxt[0]] if nxt else joints[bone + "Tip"]
        out[bone] = unit(end - joints[bone])
    return out


def segments_from_joints(joints: dict[str, F64]) -> dict[str, F64]:
    """The compared segments from joint positions keyed by VRM bone (avatar frame)."""
    seg: dict[str, F64] = {}
    hip_mid = 0.5 * (joints["leftUpperLeg"] + joints["rightUpperLeg"])
    shoulder_mid = 0.5 * (joints["leftUpperArm"] + joints["rightUpperArm"])
    seg["torso"] = unit(shoulder_mid - hip_mid)
    seg["shoulderLine"] = unit(joints["leftUpperArm"] - joints["rightUpperArm"])
    seg["hipLine"] = unit(joints["leftUpperLeg"] - joints["rightUpperLeg"])
    for side in SIDES:
        seg[f"{side}UpperArm"] = unit(joints[f"{side}LowerArm"] - joints[f"{side}UpperArm"])
        seg[f"{side}LowerArm"] = unit(joints[f"{side}Hand"] - joints[f"{side}LowerArm"])
        seg[f"{side}Hand"] = unit(joints[f"{side}MiddleProximal"] - joints[f"{side}Hand"])
        seg[f"{side}UpperLeg"] = unit(joints[f"{side}LowerLeg"] - joints[f"{side}UpperLeg"])
        seg[f"{side}LowerLeg"] = unit(joints[f"{side}Foot"] - joints[f"{side}LowerLeg"])
        seg[f"{side}Foot"] = unit(joints[f"{side}Toes"] - joints[f"{side}Foot"])
        seg |= _finger_segments(side, joints)
    return seg


def group_of(segment: str) -> str:
    if segment in ("torso", "shoulderLine", "hipLine"):
        return "torso"
    if any(f in segment for f in _FINGERS):
        return "fingers"
    if segment.endswith(("Arm", "Hand")):
        return "arms"
    return "legs"


def solved_segments(pose: AvatarPose) -> dict[str, F64]:
    _, pos, tips = forward(pose.bones)
    joints = pos | {f"{b}Tip": p for b, p in tips.items()}
    return segments_from_joints(joints)


def mocap_frames(
    motion: Motion, fps: float = 30.0, hands: bool = True, hand_skeleton: HandSkeleton = REST_HANDS
) -> list[TruthFrame]:
    """Tracking frames of a BVH recording resampled to ``fps``, with the truth of each.

    The hands are ``hand_skeleton``'s (the solver's own rest hands unless another is given), posed
    by :func:`finger_pose` and held at the recorded wrists.
    """
    palm_rest = {side: hand_skeleton.palm_frame(side) for side in SIDES}
    step = max(1, round(1.0 / (fps * motion.frame_time)))
    pos0, rot0 = motion.forward(0)
    idx = motion.index
    feet = [motion.end_site(n, pos0, rot0)[1] for n in ("LeftToe", "RightToe")]
    scale = STATURE_M / (motion.end_site("Head", pos0, rot0)[1] - min(feet))
    # Turn the capture so the person faces the camera (+Z) in the first frame.
    hip_line = pos0[idx["LeftHip"]] - pos0[idx["RightHip"]]
    yaw = math.atan2(hip_line[2], hip_line[0])
    turn = to_matrix(from_axis_angle(np.array([0.0, 1.0, 0.0]), yaw))
    out = []
    for n in range(0, len(motion.frames), step):
        pos, rot = motion.forward(n)
        t_s = n * motion.frame_time

        def at(name: str, pos: F64 = pos) -> F64:
            return np.asarray(turn @ pos[idx[name]] * scale, dtype=np.float64)

        joints: dict[str, F64] = {}
        hand_pts: dict[str, F64] = {}
        for side in SIDES:
            c = _CMU[side]
            joints[f"{side}UpperArm"], joints[f"{side}LowerArm"] = at(c["shoulder"]), at(c["elbow"])
            joints[f"{side}UpperLeg"], joints[f"{side}LowerLeg"] = at(c["hip"]), at(c["knee"])
            joints[f"{side}Foot"], joints[f"{side}Toes"] = at(c["ankle"]), at(c["toe"])
            wrist = at(c["wrist"])
            along = at(c["fingers"]) - wrist
            # The thumb's side of the hand as the hand itself carries it: the thumb joint's own
            # rotation (driven by a thumb marker, up to +-170 degrees on the right hand of 131_01)
            # is not the palm's.
            thumb_site = motion.joints[idx[c["thumb"]]].end_site
            assert thumb_site is not None
            thumb = turn @ rot[idx[c["hand"]]] @ thumb_site
            hand_rot = frame(along, thumb) @ palm_rest[side].T
            hj = _hand_joints(side, hand_rot, wrist, finger_pose(side, t_s), hand_skeleton)
            joints |= hj
            hand_pts[side] = _hand_landmarks(side, hj)
        head_rot = turn @ rot[idx["Head"]]
        head = at("Head")

        pts = np.zeros((33, 3))
        for i, off in _FACE.items():
            pts[i] = head + head_rot @ np.array(off, dtype=np.float64)
        for o, side in enumerate(SIDES):
            pts[11 + o], pts[13 + o], pts[15 + o] = (
                joints[f"{side}{b}"] for b in ("UpperArm", "LowerArm", "Hand")
            )
            pts[17 + o] = joints[f"{side}LittleProximal"]
            pts[19 + o] = joints[f"{side}IndexProximal"]
            pts[21 + o] = joints[f"{side}ThumbDistal"]
            pts[23 + o], pts[25 + o], pts[27 + o] = (
                joints[f"{side}{b}"] for b in ("UpperLeg", "LowerLeg", "Foot")
            )
            ankle, toe, knee = joints[f"{side}Foot"], joints[f"{side}Toes"], joints[f"{side}LowerLeg"]
            pts[29 + o] = ankle - 0.35 * (toe - ankle) + 0.04 * unit(ankle - knee)  # heel: behind, below
            pts[31 + o] = toe
        mid = 0.5 * (pts[23] + pts[24])
        world = (pts - mid) * _TO_MEDIAPIPE
        tracking = TrackingFrame(
            t_ms=t_s * 1000.0,
            pose_world=np.concatenate((world, np.ones((33, 1))), axis=1),
            left_hand_world=(hand_pts["left"] - hand_pts["left"].mean(axis=0)) * _TO_MEDIAPIPE
            if hands
            else None,
            right_hand_world=(hand_pts["right"] - hand_pts["right"].mean(axis=0)) * _TO_MEDIAPIPE
            if hands
            else None,
        )
        out.append(TruthFrame(frame=tracking, segments=segments_from_joints(joints)))
    return out


def add_noise(frame: TrackingFrame, sigma_m: float, rng: np.random.Generator) -> TrackingFrame:
    """The same frame with Gaussian noise of ``sigma_m`` metres on every landmark coordinate."""

    def noisy(a: F64 | None, cols: int = 3) -> F64 | None:
        if a is None:
            return None
        b = a.copy()
        b[:, :cols] += rng.normal(scale=sigma_m, size=(len(a), cols))
        return b

    return TrackingFrame(
        t_ms=frame.t_ms,
        pose_world=noisy(frame.pose_world),
        pose_image=frame.pose_image,
        left_hand_world=noisy(frame.left_hand_world),
        right_hand_world=noisy(frame.right_hand_world),
        face_blendshapes=frame.face_blendshapes,
        face_matrix=frame.face_matrix,
    )


def angle_errors(truth: dict[str, F64], solved: dict[str, F64]) -> dict[str, float]:
    """Angle in degrees between each truth segment and the solved one."""
    return {
        k: math.degrees(math.acos(min(1.0, max(-1.0, float(np.dot(v, solved[k])))))) for k, v in truth.items()
    }
