"""Limbs that come and go: ease unseen limbs into a natural rest, and back in when seen again.

A webcam operator usually shows only the upper body, and hands drop out of view all the time. A
limb that stops being seen keeps its last pose and glides into its rest pose (arms relaxed down,
legs standing, fingers loose) over about 0.3 s; when it is seen again it glides from wherever it
is to the tracked pose. Every change of state starts from the pose shown at that moment, so a
limb that flickers in and out never jumps. All bones are eased in one vectorized step.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from rigging.quaternion import F64, IDENTITY, from_axis_angle, slerp
from rigging.skeleton import BONE_INDEX, BONES, FINGER_BONES

#: Bones of each group that is seen or not as a whole.
GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "torso": ("hips", "spine", "chest", "upperChest"),
    "head": ("neck", "head"),
    **{f"{s}Arm": (f"{s}Shoulder", f"{s}UpperArm", f"{s}LowerArm") for s in ("left", "right")},
    **{f"{s}Hand": (f"{s}Hand",) for s in ("left", "right")},
    **{f"{s}Fingers": FINGER_BONES[s] for s in ("left", "right")},
    **{f"{s}Leg": (f"{s}UpperLeg", f"{s}LowerLeg", f"{s}Foot", f"{s}Toes") for s in ("left", "right")},
}
GROUP_NAMES: Final[tuple[str, ...]] = tuple(GROUPS)
GROUP_ID: Final[dict[str, int]] = {g: i for i, g in enumerate(GROUP_NAMES)}
#: Bones that belong to a group, and the group of each.
GROUPED_BONES: Final = np.array([BONE_INDEX[b] for g in GROUP_NAMES for b in GROUPS[g]])
BONE_GROUP: Final = np.array([GROUP_ID[g] for g in GROUP_NAMES for _ in GROUPS[g]])


def _rest_locals() -> F64:
    rest = np.tile(IDENTITY, (len(BONES), 1))
    # Arms hang relaxed: the upper arm turns 75 degrees down from the T-pose, the elbow bends a
    # little forward, and the fingers curl slightly.
    rest[BONE_INDEX["leftUpperArm"]] = from_axis_angle(np.array([0.0, 0.0, 1.0]), math.radians(-75))
    rest[BONE_INDEX["rightUpperArm"]] = from_axis_angle(np.array([0.0, 0.0, 1.0]), math.radians(75))
    rest[BONE_INDEX["leftLowerArm"]] = from_axis_angle(np.array([0.0, -1.0, 0.0]), math.radians(12))
    rest[BONE_INDEX["rightLowerArm"]] = from_axis_angle(np.array([0.0, 1.0, 0.0]), math.radians(12))
    for side, sign in (("left", -1.0), ("right", 1.0)):
        for bone in FINGER_BONES[side]:
            if "Thumb" not in bone:
                rest[BONE_INDEX[bone]] = from_axis_angle(np.array([0.0, 0.0, sign]), math.radians(15))
    return rest


#: The natural rest pose of every bone (local rotations, (55, 4)).
REST_LOCALS: Final[F64] = _rest_locals()


class Presence:
    """Eases each group between its tracked pose and its rest pose."""

    def __init__(self, ease_ms: float = 300.0) -> None:
        self.ease_ms = ease_ms
        self.reset()

    def reset(self) -> None:
        n = len(GROUP_NAMES)
        self._seen = np.zeros(n, dtype=bool)
        self._since = np.full(n, -np.inf)
        self._start = REST_LOCALS[GROUPED_BONES].copy()
        self._shown = self._start.copy()

    def _progress(self, t_ms: float) -> F64:
        if self.ease_ms <= 0:
            return np.ones(len(GROUP_NAMES))
        x = np.clip((t_ms - self._since) / self.ease_ms, 0.0, 1.0)
        return np.asarray(x * x * (3.0 - 2.0 * x), dtype=np.float64)

    def seen_amount(self, group: str, seen_now: bool, t_ms: float) -> float:
        """How much ``group`` will be shown tracked rather than at rest at ``t_ms``, in [0, 1].

        Reads ahead of :meth:`update` for this frame without changing anything.
        """
        if self.ease_ms <= 0:
            return 1.0 if seen_now else 0.0
        g = GROUP_ID[group]
        k = float(self._progress(t_ms)[g])
        now = k if self._seen[g] else 1.0 - k
        # A transition that starts now starts from wherever the group is.
        return now

    def update(self, seen: np.ndarray, tracked: F64, t_ms: float) -> F64:
        """The local rotations to show for the grouped bones.

        ``seen`` (groups,) says which groups are tracked this frame; ``tracked`` (55, 4) holds their
        local rotations (rows of unseen groups are ignored). Returns (55, 4).
        """
        toggled = seen != self._seen
        if np.any(toggled):
            self._since[toggled] = t_ms
            self._seen = seen.copy()
            moved = toggled[BONE_GROUP]
            self._start[moved] = self._shown[moved]
        target = np.where(self._seen[BONE_GROUP][:, None], tracked[GROUPED_BONES], REST_LOCALS[GROUPED_BONES])
        k = self._progress(t_ms)[BONE_GROUP]
        self._shown = np.where(k[:, None] >= 1.0, target, slerp(self._start, target, k))
        out = np.tile(IDENTITY, (len(BONES), 1))
        out[GROUPED_BONES] = self._shown
        return out
