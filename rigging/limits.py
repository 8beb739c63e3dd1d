"""Joint limits as swing-twist cones.

A local rotation splits into a twist about the bone's own axis and a swing of that axis. The swing
is held inside a cone (its angle at most ``swing``) and the twist inside ``+-twist``. Unlike
per-axis Euler clamps this has no gimbal order, treats every direction of the cone alike, and a
clamped rotation stays the nearest allowed one along the same swing direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from rigging.quaternion import F64, multiply, power, swing_twist
from rigging.skeleton import BONES, REST


@dataclass(frozen=True)
class Cone:
    swing_deg: float
    twist_deg: float


def _cone_for(bone: str) -> Cone:
    if bone in ("spine", "chest", "upperChest"):
        return Cone(50, 45)
    if bone in ("neck", "head"):
        return Cone(60, 70)
    if bone == "hips":
        return Cone(180, 180)
    if bone.endswith("Shoulder"):
        return Cone(35, 15)
    if bone.endswith("UpperArm"):
        return Cone(180, 110)
    if bone.endswith("LowerArm"):
        # The forearm turns about half a turn, from palm down (the rest) to palm up, so the rest
        # sits at one end of its range: a cone symmetric about the rest must let the whole
        # half-turn through (120 turned upturned palms, and every finger with them, away from
        # the landmarks; signing holds palms up all the time).
        return Cone(160, 180)
    if bone.endswith("Hand"):
        return Cone(95, 40)
    if bone.endswith("UpperLeg"):
        return Cone(140, 70)
    if bone.endswith("LowerLeg"):
        return Cone(165, 35)
    if bone.endswith("Foot"):
        return Cone(65, 35)
    if "Thumb" in bone:
        return Cone(95, 50)
    if bone.endswith("Proximal"):
        return Cone(100, 25)
    if bone.endswith(("Intermediate", "Distal")):
        return Cone(120, 15)
    return Cone(45, 30)  # eyes, jaw, toes


CONES: Final[dict[str, Cone]] = {bone: _cone_for(bone) for bone in BONES}
_AXES: Final = np.array([REST.direction(b) for b in BONES])
_SWING: Final = np.radians([CONES[b].swing_deg for b in BONES])
_TWIST: Final = np.radians([CONES[b].twist_deg for b in BONES])


# Per bone: its axis as a quaternion's vector part (w column 0), then half its swing and twist
# limits, gathered for the bones asked in one call.
_CONE_TABLE: Final = np.column_stack((_AXES, np.zeros(len(BONES)), 0.5 * _SWING, 0.5 * _TWIST))
_SUM4: Final = np.ones((4, 1))


def clamp(local: F64, bone_indices: np.ndarray) -> F64:
    """Hold local rotations (..., n, 4) of the bones ``bone_indices`` (n,) inside their cones.

    Leading axes are any number of poses of the same bones (a batch of frames).
    """
    cones = _CONE_TABLE.take(bone_indices, axis=0)
    q = local * np.where(local[..., 3:4] < 0, -1.0, 1.0)
    # Angles without building swing and twist: the twist's half-angle has sine p (the rotation's
    # vector part along the axis) and cosine w; the swing's cosine of half-angle is sqrt(w^2 + p^2).
    # Half-angles against half the limits: the same comparisons as of the angles, exactly.
    p = ((q * cones[:, :4]) @ _SUM4)[..., 0]  # a product: a reduction over so short an axis is slow
    w = q[..., 3]
    half_twist = np.arctan2(p, w)
    half_swing = np.arccos(np.minimum(np.hypot(w, p), 1.0))
    over = (half_swing > cones[:, 4]) | (np.abs(half_twist) > cones[:, 5])
    if not np.count_nonzero(over):  # (quicker than .any() on a small mask)
        return q
    # Only the bones out of their cones are decomposed and rebuilt.
    axes = _AXES[bone_indices]
    max_s, max_t = _SWING[bone_indices], _TWIST[bone_indices]
    swing_angle, twist_angle = 2.0 * half_swing, 2.0 * half_twist
    swing, twist = swing_twist(q[over], np.broadcast_to(axes, (*over.shape, 3))[over])
    s_scale = np.minimum(1.0, np.broadcast_to(max_s, over.shape)[over] / np.maximum(swing_angle[over], 1e-9))
    t_scale = np.minimum(
        1.0, np.broadcast_to(max_t, over.shape)[over] / np.maximum(np.abs(twist_angle[over]), 1e-9)
    )
    q = q.copy()
    q[over] = multiply(power(swing, s_scale), power(twist, t_scale))
    return q
