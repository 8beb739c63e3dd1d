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
from rigging.calibration import Calibration, mean_quaternion
from rigging.frame import FrameError, TrackingFrame
from rigging.landmarks import PosePoint as P
from rigging.landmarks import to_avatar
from rigging.limits import clamp
from rigging.one_euro import OneEuroParams, VectorOneEuro
from rigging.pose import AvatarPose
from rigging.presence import GROUP_INDICES, GROUPS, Presence
from rigging.quaternion import F64, conjugate, from_matrix, from_two_vectors, multiply, power, to_matrix
from rigging.rotation_filter import RotationFilter, RotationFilterParams
from rigging.skeleton import BONES, EXPRESSIONS, FINGER_BONES

logger = logging.getLogger(__name__)

#: Bones the solver drives, in wire order (eyes, jaw and toes stay at rest: the eyes move through
#: the look expressions, which every VRM maps to its own eyes).
DRIVEN_BONES: Final[tuple[str, ...]] = tuple(b for g in GROUPS.values() for b in g if not b.endswith("Toes"))
_DRIVEN_IDX: Final = np.array(sorted(BONES.index(b) for b in DRIVEN_BONES))
_DRIVEN_NAMES: Final = [BONES[i] for i in _DRIVEN_IDX]
_ALL_IDX: Final = np.arange(len(BONES))

_LEG_POINTS: Final = (P.LEFT_HIP, P.LEFT_KNEE, P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX)

# How the rotation between hips and shoulders is shared along the spine (sums to 1).
_SPINE_SHARE: Final = (0.4, 0.3, 0.3)


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


@dataclass
class _Solved:
    """Local rotations per group (None: not seen) and the head's world rotation, if seen."""

    groups: dict[str, F64 | None]
    hips_position: F64


class Retargeter:
    """Stateful solver for one operator: keeps the filters, presence and calibration."""

    def __init__(self, options: SolverOptions | None = None, calibration: Calibration | None = None) -> None:
        self.options = options or SolverOptions()
        self.calibration = calibration or Calibration()
        self._presence = Presence(self.options.ease_ms)
        self._rot_filter = RotationFilter(self.options.rotation_filter)
        self._pos_filter = VectorOneEuro(self.options.position_filter)
        self._expr_filter = VectorOneEuro(self.options.expression_filter)
        self._camera = to_matrix(self.calibration.camera)
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
        solved = self._solve_groups(frame)
        t = frame.t_ms

        shown = np.empty((len(BONES), 4))
        shown[:] = (0.0, 0.0, 0.0, 1.0)
        for group, idx in GROUP_INDICES.items():
            shown[idx] = self._presence.update(group, solved.groups[group], t)
        rotations = shown[_DRIVEN_IDX]
        hips = solved.hips_position
        if self.options.filter:
            rotations = self._rot_filter(rotations, t)
            hips = self._pos_filter(hips, t)

        expressions = self._expression_weights(frame)
        return AvatarPose(
            t_ms=t,
            hips_position=hips,
            bones={name: rotations[i] for i, name in enumerate(_DRIVEN_NAMES)},
            expressions=expressions,
        )

    def calibrate(self, frames: Sequence[TrackingFrame]) -> Calibration:
        """Learn the neutral pose from frames of the operator holding still; apply it from now on."""
        ups: list[F64] = []
        heads: list[F64] = []
        hips: list[F64] = []
        saved = self.calibration
        self.calibration = Calibration()
        self._camera = np.eye(3)
        try:
            for frame in frames:
                if frame.pose_world is None or not self._visible(
                    frame.pose_world, P.LEFT_SHOULDER, P.RIGHT_SHOULDER
                ):
                    continue
                pts = to_avatar(frame.pose_world)
                ups.append(
                    0.5 * (pts[P.LEFT_SHOULDER] + pts[P.RIGHT_SHOULDER])
                    - 0.5 * (pts[P.LEFT_HIP] + pts[P.RIGHT_HIP])
                )
        finally:
            self.calibration = saved
        if not ups:
            raise ValueError("calibration needs frames in which the shoulders are seen")
        up = np.mean(ups, axis=0)
        camera = from_two_vectors(up, np.array([0.0, 1.0, 0.0]))
        # With the camera corrected, measure the habitual head turn and the neutral hips spot.
        trial = Retargeter(SolverOptions(filter=False, ease_ms=0.0), Calibration(camera=camera))
        for frame in frames:
            groups = trial._solve_groups(frame)
            head = groups.groups["head"]
            if head is not None:
                # neck and head share the turn equally: the whole turn is twice the head's
                heads.append(multiply(head[0], head[1]))
            spot = None
            if frame.pose_world is not None:
                spot = trial._image_spot(frame, to_avatar(frame.pose_world) @ trial._camera.T)
            if spot is not None:
                hips.append(spot)
        head_offset = mean_quaternion(np.array(heads)) if heads else np.array([0.0, 0.0, 0.0, 1.0])
        hips_ref = np.mean(hips, axis=0) if hips else None
        self.calibration = Calibration(camera=camera, head=head_offset, hips=hips_ref)
        self._camera = to_matrix(camera)
        self.reset()
        return self.calibration

    # -- the geometry ------------------------------------------------------------------------
    def _visible(self, pose: F64, *points: int) -> bool:
        return bool(np.all(pose[list(points), 3] >= self.options.min_visibility))

    def _solve_groups(self, frame: TrackingFrame) -> _Solved:
        groups: dict[str, F64 | None] = dict.fromkeys(GROUPS)
        hips_position = np.zeros(3)
        pose = frame.pose_world
        if pose is None or not self._visible(pose, P.LEFT_SHOULDER, P.RIGHT_SHOULDER):
            return _Solved(groups, hips_position)
        pts = to_avatar(pose) @ self._camera.T
        legs_seen = max(
            self._presence.seen_amount(f"{side}Leg", self._leg_visible(pose, o), frame.t_ms)
            for side, o in (("left", 0), ("right", 1))
        )
        world_hips, world_upper = body.torso(pts, legs_seen)

        # Spine: share the turn from hips to shoulders along spine, chest and upper chest.
        hips_q = from_matrix(world_hips)
        turn = from_matrix(world_hips.T @ world_upper)
        groups["torso"] = np.stack([hips_q] + [power(turn, s) for s in _SPINE_SHARE])

        head_world = self._head_world(frame, pts)
        if head_world is not None:
            rel = multiply(from_matrix(world_upper.T @ head_world), conjugate(self.calibration.head))
            half = power(rel, 0.5)
            groups["head"] = np.stack((half, half))

        for side, offset in (("left", 0), ("right", 1)):
            self._solve_arm(side, offset, frame, pts, pose, world_upper, groups)
            self._solve_leg(side, offset, pts, pose, world_hips, groups)

        for group, local in groups.items():
            if local is not None:
                groups[group] = clamp(local, GROUP_INDICES[group])
        hips_position = self._hips_position(frame, pts, pose)
        return _Solved(groups, hips_position)

    def _head_world(self, frame: TrackingFrame, pts: F64) -> F64 | None:
        if frame.face_matrix is not None:
            return np.asarray(self._camera @ face.head_from_matrix(frame.face_matrix))
        if frame.pose_world is not None and self._visible(frame.pose_world, P.NOSE, P.LEFT_EAR, P.RIGHT_EAR):
            return face.head_from_points(pts)
        return None

    def _solve_arm(
        self,
        side: str,
        offset: int,
        frame: TrackingFrame,
        pts: F64,
        pose: F64,
        world_upper: F64,
        groups: dict[str, F64 | None],
    ) -> None:
        sh, el, wr = P.LEFT_SHOULDER + offset, P.LEFT_ELBOW + offset, P.LEFT_WRIST + offset
        if not self._visible(pose, sh, el, wr):
            return
        hand_pts = frame.left_hand_world if side == "left" else frame.right_hand_world
        hand_avatar = None if hand_pts is None else to_avatar(hand_pts) @ self._camera.T
        if hand_avatar is not None:
            hand_world: F64 | None = hands.hand_world(side, hand_avatar)
        elif self._visible(pose, P.LEFT_PINKY + offset, P.LEFT_INDEX + offset):
            hand_world = body.hand_from_pose(side, pts)
        else:
            hand_world = None
        upper = body.upper_arm(side, world_upper, pts[sh], pts[el], pts[wr])
        lower = body.lower_arm(side, upper, pts[el], pts[wr], hand_world)
        # The shoulder (clavicle) stays at rest: pose landmarks do not see it apart from the arm.
        locals_ = from_matrix(np.stack((np.eye(3), world_upper.T @ upper, upper.T @ lower)))
        groups[f"{side}Arm"] = locals_
        if hand_world is not None:
            groups[f"{side}Hand"] = from_matrix(lower.T @ hand_world)[None, :]
        if hand_avatar is not None and hand_world is not None:
            groups[f"{side}Fingers"] = hands.fingers(side, hand_avatar, hand_world)

    def _leg_visible(self, pose: F64, offset: int) -> bool:
        return self._visible(pose, *(p + offset for p in _LEG_POINTS))

    def _solve_leg(
        self, side: str, offset: int, pts: F64, pose: F64, world_hips: F64, groups: dict[str, F64 | None]
    ) -> None:
        if not self._leg_visible(pose, offset):
            return
        thigh, shin, foot = body.legs(side, world_hips, pts)
        locals_ = from_matrix(np.stack((world_hips.T @ thigh, thigh.T @ shin, shin.T @ foot)))
        groups[f"{side}Leg"] = np.concatenate((locals_, [[0.0, 0.0, 0.0, 1.0]]))

    def _hips_position(self, frame: TrackingFrame, pts: F64, pose: F64) -> F64:
        """Displacement of the hips from their rest spot, in metres (avatar frame).

        Height: with the feet seen, the hips stand above the lowest foot point by less than the
        straight leg's length when the operator crouches or sits. Sideways and depth: the hips'
        motion in the image, scaled to metres by the torso's known size in the world landmarks.
        """
        out = np.zeros(3)
        feet = [P.LEFT_HEEL, P.RIGHT_HEEL, P.LEFT_FOOT_INDEX, P.RIGHT_FOOT_INDEX]
        legs_seen = [
            self._visible(
                pose,
                P.LEFT_HIP + o,
                P.LEFT_KNEE + o,
                P.LEFT_ANKLE + o,
                P.LEFT_HEEL + o,
                P.LEFT_FOOT_INDEX + o,
            )
            for o in (0, 1)
        ]
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


__all__ = ["DRIVEN_BONES", "FINGER_BONES", "Retargeter", "SolverOptions"]
