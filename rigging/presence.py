"""Limbs that come and go: ease unseen limbs into a natural rest, and back in when seen again.

A webcam operator usually shows only the upper body, and hands drop out of view all the time. A
limb that stops being seen keeps its last pose and glides into its rest pose (arms relaxed down,
legs standing, fingers loose) over about 0.3 s; when it is seen again it glides from wherever it
is to the tracked pose. Every change of state starts from the pose shown at that moment, so a
limb that flickers in and out never jumps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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
GROUP_INDICES: Final[dict[str, np.ndarray]] = {
    g: np.array([BONE_INDEX[b] for b in bones]) for g, bones in GROUPS.items()
}


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


@dataclass
class _GroupState:
    seen: bool = False
    since_ms: float = -math.inf
    start: F64 | None = None
    shown: F64 | None = None


@dataclass
class Presence:
    """Eases each group between its tracked pose and its rest pose."""

    ease_ms: float = 300.0
    _groups: dict[str, _GroupState] = field(default_factory=dict)

    def reset(self) -> None:
        self._groups.clear()

    def weight(self, group: str, t_ms: float) -> float:
        """How far the group is into its current transition, eased, in [0, 1]."""
        state = self._groups.get(group)
        if state is None or self.ease_ms <= 0:
            return 1.0
        x = min(1.0, max(0.0, (t_ms - state.since_ms) / self.ease_ms))
        return x * x * (3.0 - 2.0 * x)

    def seen_amount(self, group: str, seen_now: bool, t_ms: float) -> float:
        """How much the group will be shown tracked rather than at rest at ``t_ms``, in [0, 1].

        Reads ahead of :meth:`update` for this frame without changing anything.
        """
        state = self._groups.get(group)
        if self.ease_ms <= 0:
            return 1.0 if seen_now else 0.0
        if state is None or state.seen != seen_now:
            # A transition starts now: the group is still wherever it was.
            was = (
                0.0
                if state is None
                else (1.0 - self.weight(group, t_ms) if not state.seen else self.weight(group, t_ms))
            )
            return was
        k = self.weight(group, t_ms)
        return k if state.seen else 1.0 - k

    def update(self, group: str, tracked: F64 | None, t_ms: float) -> F64:
        """The group's local rotations to show: ``tracked`` (n, 4) when seen, else ``None``."""
        idx = GROUP_INDICES[group]
        rest = REST_LOCALS[idx]
        state = self._groups.setdefault(group, _GroupState(shown=rest.copy()))
        seen = tracked is not None
        if seen != state.seen:
            state.seen = seen
            state.since_ms = t_ms
            state.start = state.shown
        target = tracked if tracked is not None else rest
        k = self.weight(group, t_ms)
        shown = target if k >= 1.0 or state.start is None else slerp(state.start, target, k)
        state.shown = shown
        return shown
