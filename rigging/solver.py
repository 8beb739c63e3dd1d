"""The retargeting solver: one tracking frame in, one VRM humanoid pose out.

The steps, in the order a frame goes through them:

1. axes: MediaPipe world to the avatar frame (``rigging.landmarks``), then the calibration's
   camera correction;
2. world orientation of each bone by swing-twist alignment (``rigging.body``, ``rigging.hands``,
   ``rigging.face``), composed down the hierarchy into local rotations;
3. joint limits as swing-twist cones (``rigging.limits``);
4. presence: limbs not seen ease to rest and back (``rigging.presence``);
5. one temporal filter on the result (``rigging.rotation_filter``, ``rigging.one_euro``), driven by
   the frames' timestamps;
6. expressions from the blendshapes (``rigging.face``) and the hips' displacement.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from rigging import body, face, hands
from rigging.body import SIDES
from rigging.calibration import Calibration, mean_quaternion
from rigging.frame import FrameError, TrackingFrame
from rigging.landmarks import PosePoint as P
from rigging.landmarks import to_avatar
from rigging.limits import clamp
from rigging.one_euro import OneEuroParams, VectorOneEuro
from rigging.pose import AvatarPose
from rigging.presence import GROUP_ID, GROUP_NAMES, GROUPS, REST_LOCALS, Presence
from rigging.quaternion import (
    F64,
    IDENTITY,
    conjugate,
    from_matrix,
    from_two_vectors,
    multiply,
    power,
    to_matrix,
)
from rigging.rotation_filter import RotationFilter, RotationFilterParams
from rigging.skeleton import BONE_INDEX, BONES, EXPRESSIONS, FINGER_BONES

logger = logging.getLogger(__name__)

#: Bones the solver drives, in wire order (eyes, jaw and toes stay at rest: the eyes move through
#: the look expressions, which every VRM maps to its own eyes).
DRIVEN_BONES: Final[tuple[str, ...]] = tuple(b for g in GROUPS.values() for b in g if not b.endswith("Toes"))
_DRIVEN_IDX: Final = np.array(sorted(BONES.index(b) for b in DRIVEN_BONES))
_DRIVEN_NAMES: Final = [BONES[i] for i in _DRIVEN_IDX]
_ALL_IDX: Final = np.arange(len(BONES))

_LEG_POINTS: Final = (P.LEFT_HIP, P.LEFT_KNEE, P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX)

# How the rotation between hips and shoulders is shared along the spine (sums to 1).
_SPINE_SHARE: Final = np.array([0.4, 0.3, 0.3])
_SPINE_IDX: Final = [BONE_INDEX[b] for b in ("spine", "chest", "upperChest")]
_NECK_HEAD_IDX: Final = [BONE_INDEX["neck"], BONE_INDEX["head"]]
_SHOULDER_IDX: Final = [BONE_INDEX[f"{s}Shoulder"] for s in SIDES]
_ARM_IDX: Final = [BONE_INDEX[f"{s}{b}"] for s in SIDES for b in ("UpperArm", "LowerArm", "Hand")]
_LEG_IDX: Final = [BONE_INDEX[f"{s}{b}"] for s in SIDES for b in ("UpperLeg", "LowerLeg", "Foot")]
_FINGER_IDX: Final = [BONE_INDEX[b] for s in SIDES for b in FINGER_BONES[s]]


def _t(m: F64) -> F64:
    """Transpose of each matrix in a stack (the inverse of a rotation)."""
    return np.swapaxes(m, -1, -2)


def _torso_up(pts: F64) -> F64:
    return np.asarray(
        0.5 * (pts[P.LEFT_SHOULDER] + pts[P.RIGHT_SHOULDER] - pts[P.LEFT_HIP] - pts[P.RIGHT_HIP]),
        dtype=np.float64,
    )


@dataclass(frozen=True)
class SolverOptions:
    #: Apply the One Euro filter. Turn it off when the landmarks were already smoothed upstream.
    filter: bool = True
    #: Landmarks less visible than this count as not seen.
    min_visibility: float = 0.5
    #: How long an unseen limb takes to reach rest, and a returning one to reach its pose.
    ease_ms: float = 300.0
    rotation_filter: RotationFilterParams = field(default_factory=RotationFilterParams)
    position_filter: OneEuroParams = field(default_factory=lambda: OneEuroParams(1.5, 2.0, 1.0))
    expression_filter: OneEuroParams = field(default_factory=lambda: OneEuroParams(3.0, 5.0, 1.0))
    #: Horizontal field of view assumed for the camera when turning image motion into metres.
    camera_fov_deg: float = 60.0


class Retargeter:
    """Stateful solver for one operator: keeps the filters, presence and calibration."""

    def __init__(self, options: SolverOptions | None = None, calibration: Calibration | None = None) -> None:
        self.options = options or SolverOptions()
        self.calibration = calibration or Calibration()
        self._presence = Presence(self.options.ease_ms)
        self._rot_filter = RotationFilter(self.options.rotation_filter)
        self._pos_filter = VectorOneEuro(self.options.position_filter)
        self._expr_filter = VectorOneEuro(self.options.expression_filter)
        self._set_camera(self.calibration.camera)
        self._last_t: float | None = None
        self._hips_ref: F64 | None = self.calibration.hips
        self._expressions = np.zeros(len(EXPRESSIONS) - 1)  # all but "neutral"

    def reset(self) -> None:
        """Forget the past (filters, presence, last timestamp); keep the calibration."""
        self._presence.reset()
        self._rot_filter.reset()
        self._pos_filter.reset()
        self._expr_filter.reset()
        self._last_t = None
        self._hips_ref = self.calibration.hips
        self._expressions[:] = 0.0

    # -- the public step -------------------------------------------------------------------
    def solve(self, frame: TrackingFrame) -> AvatarPose:
        if self._last_t is not None and frame.t_ms <= self._last_t:
            raise FrameError("t_ms", f"{frame.t_ms} does not come after the previous frame's {self._last_t}")
        self._last_t = frame.t_ms
        t = frame.t_ms
        seen, tracked, hips = self._solve_locals(frame)
        rotations = self._presence.update(seen, tracked, t)[_DRIVEN_IDX]
        if self.options.filter:
            rotations = self._rot_filter(rotations, t)
            hips = self._pos_filter(hips, t)
        return AvatarPose(
            t_ms=t,
            hips_position=hips,
            bones=dict(zip(_DRIVEN_NAMES, rotations, strict=True)),
            expressions=self._expression_weights(frame),
        )

    def calibrate(self, frames: Sequence[TrackingFrame]) -> Calibration:
        """Learn the neutral pose from frames of the operator holding still; apply it from now on."""
        ups = [
            _torso_up(to_avatar(f.pose_world))
            for f in frames
            if f.pose_world is not None and self._visible(f.pose_world, P.LEFT_SHOULDER, P.RIGHT_SHOULDER)
        ]
        if not ups:
            raise ValueError("calibration needs frames in which the shoulders are seen")
        camera = from_two_vectors(np.mean(ups, axis=0), np.array([0.0, 1.0, 0.0]))
        # With the camera corrected, measure the habitual head turn and the neutral hips spot.
        trial = Retargeter(SolverOptions(filter=False, ease_ms=0.0), Calibration(camera=camera))
        heads: list[F64] = []
        spots: list[F64] = []
        for frame in frames:
            seen, tracked, _ = trial._solve_locals(frame)
            if seen[GROUP_ID["head"]]:
                # neck and head share the turn equally: the whole turn is their product
                heads.append(multiply(tracked[BONE_INDEX["neck"]], tracked[BONE_INDEX["head"]]))
            if frame.pose_world is not None:
                spot = trial._image_spot(frame, trial._to_avatar(frame.pose_world))
                if spot is not None:
                    spots.append(spot)
        head = mean_quaternion(np.array(heads)) if heads else IDENTITY.copy()
        self.calibration = Calibration(
            camera=camera, head=head, hips=np.mean(spots, axis=0) if spots else None
        )
        self._set_camera(camera)
        self.reset()
        return self.calibration

    # -- the geometry ------------------------------------------------------------------------
    def _set_camera(self, camera: F64) -> None:
        self._camera = to_matrix(camera)
        self._camera_is_identity = bool(np.allclose(self._camera, np.eye(3)))

    def _visible(self, pose: F64, *points: int) -> bool:
        return bool(np.all(pose[list(points), 3] >= self.options.min_visibility))

    def _solve_locals(self, frame: TrackingFrame) -> tuple[np.ndarray, F64, F64]:
        """Which groups are seen, the local rotations of every bone (55, 4), and the hips' displacement."""
        seen = np.zeros(len(GROUP_NAMES), dtype=bool)
        local = REST_LOCALS.copy()
        pose = frame.pose_world
        if pose is None:
            return seen, local, np.zeros(3)
        # One comparison for all landmarks; the checks below are then plain Python lookups.
        vis: list[bool] = (pose[:, 3] >= self.options.min_visibility).tolist()
        if not (vis[P.LEFT_SHOULDER] and vis[P.RIGHT_SHOULDER]):
            return seen, local, np.zeros(3)
        pts = self._to_avatar(pose)
        legs_visible = [all(vis[p + o] for p in _LEG_POINTS) for o in (0, 1)]
        legs_seen = max(
            self._presence.seen_amount(f"{side}Leg", v, frame.t_ms)
            for side, v in zip(SIDES, legs_visible, strict=True)
        )
        hips_w, upper_w = body.torso(pts, legs_seen)

        # Hands: from their own landmarks when detected, else coarsely from the pose's hand points.
        raw_hands = (frame.left_hand_world, frame.right_hand_world)
        detected = np.array([h is not None for h in raw_hands])
        coarse = np.array([vis[P.LEFT_PINKY + o] and vis[P.LEFT_INDEX + o] for o in (0, 1)])
        hand_pts = np.zeros((2, 21, 3))
        if detected.any():
            for i, h in enumerate(raw_hands):
                if h is not None:
                    hand_pts[i] = self._to_avatar(h)
            hands_w = hands.hand_worlds(hand_pts)
            if not detected.all():
                hands_w = np.where(detected[:, None, None], hands_w, body.hands_from_pose(pts))
        else:
            hands_w = body.hands_from_pose(pts)
        hands_known = detected | coarse
        upper, lower = body.arms(upper_w, pts, hands_w, hands_known)

        head_w = self._head_world(frame, pts, vis)
        head_rel = upper_w.T @ (head_w if head_w is not None else upper_w)
        parts = [
            hips_w[None],
            (hips_w.T @ upper_w)[None],
            head_rel[None],
            _t(upper_w)[None] @ upper,  # upper arms from the upper chest (shoulders at rest)
            _t(upper) @ lower,
            _t(lower) @ hands_w,
        ]
        any_leg = legs_visible[0] or legs_visible[1]
        if any_leg:  # a webcam operator's legs are usually out of view: then they cost nothing
            thigh, shin, foot = body.legs(pts)
            parts += [_t(hips_w)[None] @ thigh, _t(thigh) @ shin, _t(shin) @ foot]
        if detected.any():
            parts.append(hands.fingers(hand_pts, hands_w).reshape(30, 3, 3))
        q = from_matrix(np.concatenate(parts))
        local[BONE_INDEX["hips"]] = q[0]
        local[_SPINE_IDX] = power(q[1], _SPINE_SHARE)
        head_turn = multiply(q[2], conjugate(self.calibration.head))
        local[_NECK_HEAD_IDX] = power(head_turn, np.array([0.5, 0.5]))
        local[_ARM_IDX] = q[3:9].reshape(3, 2, 4).transpose(1, 0, 2).reshape(6, 4)
        local[_SHOULDER_IDX] = IDENTITY
        rest = 9
        if any_leg:
            local[_LEG_IDX] = q[9:15].reshape(3, 2, 4).transpose(1, 0, 2).reshape(6, 4)
            rest = 15
        if detected.any():
            local[_FINGER_IDX] = q[rest : rest + 30]

        seen[GROUP_ID["torso"]] = True
        seen[GROUP_ID["head"]] = head_w is not None
        for i, side in enumerate(SIDES):
            arm = vis[P.LEFT_SHOULDER + i] and vis[P.LEFT_ELBOW + i] and vis[P.LEFT_WRIST + i]
            seen[GROUP_ID[f"{side}Arm"]] = arm
            seen[GROUP_ID[f"{side}Hand"]] = arm and bool(hands_known[i])
            seen[GROUP_ID[f"{side}Fingers"]] = arm and bool(detected[i])
            seen[GROUP_ID[f"{side}Leg"]] = legs_visible[i]
        local = clamp(local, _ALL_IDX)
        return seen, local, self._hips_position(frame, pts, legs_visible)

    def _to_avatar(self, points: F64) -> F64:
        """MediaPipe world points into the avatar frame, with the calibrated camera correction."""
        out = to_avatar(points)
        return out if self._camera_is_identity else np.asarray(out @ self._camera.T, dtype=np.float64)

    def _head_world(self, frame: TrackingFrame, pts: F64, vis: list[bool]) -> F64 | None:
        if frame.face_matrix is not None:
            return np.asarray(self._camera @ face.head_from_matrix(frame.face_matrix))
        if vis[P.NOSE] and vis[P.LEFT_EAR] and vis[P.RIGHT_EAR]:
            return face.head_from_points(pts)
        return None

    def _hips_position(self, frame: TrackingFrame, pts: F64, legs_seen: list[bool]) -> F64:
        """Displacement of the hips from their rest spot, in metres (avatar frame).

        Height: with the feet seen, the hips stand above the lowest foot point by less than the
        straight leg's length when the operator crouches or sits. Sideways and depth: the hips'
        motion in the image, scaled to metres by the torso's known size in the world landmarks.
        """
        out = np.zeros(3)
        feet = [P.LEFT_HEEL, P.RIGHT_HEEL, P.LEFT_FOOT_INDEX, P.RIGHT_FOOT_INDEX]
        if any(legs_seen):
            hip_mid = 0.5 * (pts[P.LEFT_HIP] + pts[P.RIGHT_HIP])
            heights, lengths = [], []
            for o, seen in enumerate(legs_seen):
                if not seen:
                    continue
                hip, knee, ankle = pts[P.LEFT_HIP + o], pts[P.LEFT_KNEE + o], pts[P.LEFT_ANKLE + o]
                sole = min(pts[feet[o]][1], pts[feet[o + 2]][1])
                heights.append(hip_mid[1] - sole)
                lengths.append(np.linalg.norm(knee - hip) + np.linalg.norm(ankle - knee) + (ankle[1] - sole))
            out[1] = max(heights) - max(lengths)
        spot = self._image_spot(frame, pts)
        if spot is not None:
            if self._hips_ref is None:
                self._hips_ref = spot
            out[0] = spot[0] - self._hips_ref[0]
            out[2] = spot[2] - self._hips_ref[2]
        return out

    def _image_spot(self, frame: TrackingFrame, pts: F64) -> F64 | None:
        """Where the image puts the hips: x sideways and z = minus the distance, in metres."""
        image = frame.pose_image
        if image is None or not self._visible(image, P.LEFT_SHOULDER, P.RIGHT_SHOULDER):
            return None
        width_world = float(np.linalg.norm(pts[P.LEFT_SHOULDER] - pts[P.RIGHT_SHOULDER]))
        width_image = float(abs(image[P.LEFT_SHOULDER, 0] - image[P.RIGHT_SHOULDER, 0]))
        if width_world < 0.05 or width_image < 0.01:
            return None
        focal = 0.5 / math.tan(math.radians(self.options.camera_fov_deg) / 2.0)
        distance = focal * width_world / width_image
        u = 0.5 * (image[P.LEFT_HIP, 0] + image[P.RIGHT_HIP, 0])
        return np.array([(u - 0.5) * distance / focal, 0.0, -distance])  # nearer: larger Z

    def _expression_weights(self, frame: TrackingFrame) -> dict[str, float]:
        if frame.face_blendshapes is None:
            # The face is not seen: relax toward neutral through the same filter.
            target = np.zeros_like(self._expressions)
        else:
            weights = face.expressions(frame.face_blendshapes)
            target = np.array([weights[name] for name in EXPRESSIONS[:-1]])
        if self.options.filter:
            target = self._expr_filter(target, frame.t_ms)
        self._expressions = np.clip(target, 0.0, 1.0)
        return {
            name: float(w) for name, w in zip(EXPRESSIONS[:-1], self._expressions, strict=True) if w > 1e-3
        }


__all__ = ["DRIVEN_BONES", "Retargeter", "SolverOptions"]
