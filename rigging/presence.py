"""Limbs that come and go: ease unseen limbs into a natural rest, and back in when seen again.

A webcam operator usually shows only the upper body, and hands drop out of view all the time. A
limb that stops being seen keeps its last pose and glides into its rest pose (arms relaxed down,
legs standing, fingers loose) over about 0.3 s; when it is seen again it glides from wherever it
is to the tracked pose. Every change of state starts from the pose shown at that moment, so a
limb that flickers in and out never jumps. All bones are eased in one vectorized step.

The fingers are timed differently, because the handshape is what a sign says: a hand tracker
loses a hand for a frame or a few all the time (fast motion, one hand over the other), and
easing the fingers to rest and back in over every such gap showed loose, half-formed handshapes
for a third of a second each time (on the signing clips the avatar's fingers bent about half as
much as the tracked ones). So fingers that stop being seen hold their last shape for one ease
time before they relax, and fingers seen again take their tracked shape at once.
"""

from __future__ import annotations

import math
from typing import Final, cast

import numpy as np

from rigging.quaternion import F64, IDENTITY, from_axis_angle
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
_GROUP_OF: Final = {BONE_INDEX[b]: GROUP_ID[g] for g in GROUP_NAMES for b in GROUPS[g]}
#: Bones that belong to a group, and the group of each. Skeleton order, but the toes (which the
#: solver leaves at rest) last: the bones it drives are then the leading rows, a slice.
GROUPED_BONES: Final = np.array(sorted(_GROUP_OF, key=lambda i: (BONES[i].endswith("Toes"), i)))
BONE_GROUP: Final = np.array([_GROUP_OF[i] for i in GROUPED_BONES])


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

_FINGER_GROUPS: Final = np.array([g.endswith("Fingers") for g in GROUP_NAMES])
#: Per group, in ease times: how long a group no longer seen holds its last pose before it starts
#: to relax, and how long a group seen again takes to reach its tracked pose (see the module).
HOLD: Final = np.where(_FINGER_GROUPS, 1.0, 0.0)
ARRIVE: Final = np.where(_FINGER_GROUPS, 0.0, 1.0)
#: After this many ease times since its last change every group has arrived.
SETTLE: Final = float(max(np.max(HOLD + 1.0), np.max(ARRIVE)))


_REST_GROUPED: Final[F64] = REST_LOCALS[GROUPED_BONES]
_SUM4: Final = np.ones((4, 1))  # sums along the last axis as one product
_BONE_GROUP4: Final = np.repeat(BONE_GROUP, 4)  # each bone's group for each of its components


def timing(seen: np.ndarray, ease_ms: F64) -> tuple[F64, F64]:
    """Each group's hold and ease (..., groups) for a transition toward ``seen`` (..., groups).

    ``ease_ms`` (..., 1) is the solver's ease; a zero ease holds nothing and is instant.
    """
    return np.where(seen, 0.0, HOLD * ease_ms), ease_ms * np.where(seen, ARRIVE, 1.0)


def progress(since: F64, t_ms: F64, ease_ms: F64, seen: np.ndarray) -> F64:
    """How far each group's transition toward ``seen`` has come at ``t_ms``, smoothstepped into [0, 1].

    Broadcasts: ``since`` and ``seen`` (..., groups), ``t_ms`` and ``ease_ms`` (..., 1). A zero
    ease is instant (and divides by nothing: the guard only keeps the unused quotient finite).
    """
    hold, ease = timing(seen, ease_ms)
    x = np.minimum(np.maximum((t_ms - since - hold) / np.maximum(ease, 1e-12), 0.0), 1.0)
    return cast(F64, np.where(ease > 0, x * x * (3.0 - 2.0 * x), 1.0))


def seen_amounts(was_seen: np.ndarray, k: F64, seen_now: np.ndarray, ease_ms: F64) -> F64:
    """How much each group will be shown tracked rather than at rest at ``t_ms``, in [0, 1].

    Reads ahead of :func:`ease_step` for this frame without changing anything; ``k`` is
    :func:`progress` at ``t_ms`` before this frame, the other arrays are as there, ``seen_now``
    shaped like ``was_seen``.
    """
    # A transition that starts now starts from wherever the group is.
    eased = np.where(was_seen, k, 1.0 - k)
    return cast(F64, np.where(ease_ms > 0, eased, seen_now))


def ease_step(
    was_seen: np.ndarray,
    since: F64,
    start: F64,
    shown: F64,
    seen: np.ndarray,
    tracked: F64,
    t_ms: F64,
    ease_ms: F64,
    k: F64,
) -> tuple[F64, F64, F64]:
    """One presence step for any number of operators at once (leading axes).

    ``was_seen``, ``since`` (..., groups): the state; ``start``, ``shown`` (..., grouped bones, 4):
    where each bone's transition started and what it showed last. ``seen`` (..., groups) this
    frame; ``tracked`` (..., 55, 4) the local rotations (rows of unseen groups are ignored);
    ``t_ms``, ``ease_ms`` (..., 1); ``k`` (..., groups) :func:`progress` at ``t_ms`` from the old
    ``since`` and ``was_seen`` (computed once for this and :func:`seen_amounts`). Returns the new ``since``,
    ``start`` and ``shown``, the last being the rotations to show for the grouped bones.
    """
    toggled = seen != was_seen
    if np.count_nonzero(toggled):  # a change of state starts from what is shown at that moment
        since = np.where(toggled, t_ms, since)
        start = np.where(_per_bone(toggled), shown, start)
        # ... and has come no way yet, unless its ease is zero (progress(t, t, ease, seen)).
        k = np.where(toggled, progress(t_ms, t_ms, ease_ms, seen), k)
    # (take rather than an index array, and a mask shaped as the rotations: far fewer cycles)
    target = np.where(_per_bone(seen), tracked.take(GROUPED_BONES, axis=-2), _REST_GROUPED)
    # Most of the time every group has arrived: only bones still on their way are interpolated.
    if not np.count_nonzero(k < 1.0):
        return since, start, target
    k = k.take(BONE_GROUP, axis=-1)
    easing = np.flatnonzero(k < 1.0)
    if 2 * len(easing) > k.size:
        # Most bones on their way: every one interpolated, then the arrived ones kept exactly at
        # their target, in fewer calls than picking out those on their way.
        return since, start, np.where((k < 1.0)[..., None], _slerp(start, target, k), target)
    # Usually a group or two: only those bones, picked by their flat positions (take is quicker
    # than a mask), for a slerp's sines and cosines cost per number.
    shown = target.copy()
    shown.reshape(-1, 4)[easing] = _slerp(
        start.reshape(-1, 4).take(easing, axis=0), target.reshape(-1, 4).take(easing, axis=0), k.take(easing)
    )
    return since, start, shown


def _per_bone(mask: np.ndarray) -> np.ndarray:
    """A mask over groups (..., groups) for the grouped bones' rotations (..., bones, 4)."""
    return mask.take(_BONE_GROUP4, axis=-1).reshape(*mask.shape[:-1], len(GROUPED_BONES), 4)


def _slerp(a: F64, b: F64, t: F64) -> F64:
    """``rigging.quaternion.slerp(a, b, t)`` for stacks (..., n, 4) and ``t`` (..., n), in fewer calls."""
    d = (a * b) @ _SUM4
    sign = np.where(d < 0.0, -1.0, 1.0)  # the shortest way round: b or -b
    theta = np.arccos(np.minimum(d * sign, 1.0))
    s = np.sin(theta)
    small = s < 1e-6
    # Both weights, sin((1 - t) theta) / sin(theta) and sin(t theta) / sin(theta), in one pass
    # over their times side by side (those of nearly equal rotations are the times themselves).
    tt = t[..., None]
    times = np.concatenate((1.0 - tt, tt), axis=-1)
    w = np.where(small, times, np.sin(times * theta) / np.where(small, 1.0, s))
    q = w[..., 0:1] * a + (w[..., 1:2] * sign) * b
    return q / np.sqrt((q * q) @ _SUM4)  # against rounding only: between unit rotations, never near 0


class Presence:
    """Eases each group between its tracked pose and its rest pose (one operator)."""

    def __init__(self, ease_ms: float = 300.0) -> None:
        self.ease_ms = ease_ms
        self.reset()

    def reset(self) -> None:
        n = len(GROUP_NAMES)
        self._seen = np.zeros(n, dtype=bool)
        self._since = np.full(n, -np.inf)
        self._start = _REST_GROUPED.copy()
        self._shown = self._start.copy()

    def seen_amount(self, group: str, seen_now: bool, t_ms: float) -> float:
        """How much ``group`` will be shown tracked rather than at rest at ``t_ms``, in [0, 1].

        Reads ahead of :meth:`update` for this frame without changing anything.
        """
        g = GROUP_ID[group]
        ease = np.array([self.ease_ms])
        k = progress(self._since, np.array([t_ms]), ease, self._seen)
        amounts = seen_amounts(self._seen, k, np.full(len(GROUP_NAMES), seen_now), ease)
        return float(amounts[g])

    def update(self, seen: np.ndarray, tracked: F64, t_ms: float) -> F64:
        """The local rotations to show for the grouped bones.

        ``seen`` (groups,) says which groups are tracked this frame; ``tracked`` (55, 4) holds their
        local rotations (rows of unseen groups are ignored). Returns (55, 4).
        """
        t, ease = np.array([t_ms]), np.array([self.ease_ms])
        self._since, self._start, self._shown = ease_step(
            self._seen,
            self._since,
            self._start,
            self._shown,
            seen,
            tracked,
            t,
            ease,
            progress(self._since, t, ease, self._seen),
        )
        self._seen = seen.copy()
        out = np.tile(IDENTITY, (len(BONES), 1))
        out[GROUPED_BONES] = self._shown
        return out
