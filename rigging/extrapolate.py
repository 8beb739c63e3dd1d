"""Carry a pose forward in time when the next tracked frame is late.

The server sends customers a motion packet 30 times a second. When the operator's capture runs
slower than that (a busy laptop, a slow browser), the moments between two tracked frames are
filled with the newest pose carried forward at the speed it was moving: each bone keeps turning at
its last angular velocity, the hips keep sliding, expressions keep changing, for at most
``horizon_ms`` after the newest frame; after that the pose holds. Carrying forward, rather than
holding, keeps the customer's interpolation spread over the real interval instead of jumping when
the next frame arrives; the short horizon bounds the overshoot when the operator stops.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from rigging.pose import AvatarPose
from rigging.quaternion import F64, conjugate, multiply, normalize, power

#: How far past the newest tracked frame motion is carried forward before it holds.
HORIZON_MS: Final = 66.0
_IDENTITY: Final = np.array([0.0, 0.0, 0.0, 1.0])


def carry_forward(
    previous: AvatarPose | None, newest: AvatarPose, t_ms: float, horizon_ms: float = HORIZON_MS
) -> AvatarPose:
    """The pose at ``t_ms`` (at or after ``newest.t_ms``), moving as it moved from ``previous``.

    Without a previous pose, or when the two are not in time order, the newest pose is held.
    """
    ahead = min(max(t_ms - newest.t_ms, 0.0), horizon_ms)
    span = newest.t_ms - previous.t_ms if previous is not None else 0.0
    if previous is None or span <= 0.0 or ahead == 0.0:
        return AvatarPose(t_ms, newest.hips_position.copy(), dict(newest.bones), dict(newest.expressions))
    k = ahead / span
    names = list(newest.bones)
    if names:
        last: F64 = np.array([newest.bones[n] for n in names])
        before: F64 = np.array([previous.bones.get(n, _IDENTITY) for n in names])
        # the turn from the previous pose to the newest, in each bone's parent frame, repeated k times
        step = multiply(last, conjugate(before))
        moved = normalize(multiply(power(step, k), last))
        bones = dict(zip(names, moved, strict=True))
    else:
        bones = {}
    hips = newest.hips_position + k * (newest.hips_position - previous.hips_position)
    expressions = {}
    for name, weight in newest.expressions.items():
        value = weight + k * (weight - previous.expressions.get(name, 0.0))
        expressions[name] = min(1.0, max(0.0, value))
    return AvatarPose(t_ms, hips, bones, expressions)


__all__ = ["HORIZON_MS", "carry_forward"]
