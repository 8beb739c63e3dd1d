"""Keeping an avatar alive: blinking, breathing, small head motion, and a voice-driven mouth.

Tracking drives what it sees; this fills in what it does not, so an avatar never freezes:
- blinks every 2–6 s (about 150 ms each) while the face is not tracked (a tracked face blinks
  with the operator);
- breathing, a slow rise and fall of the chest, always, added on top of the tracked spine;
- a small, slow head sway while the head is not tracked;
- the mouth from audio visemes (``rigging.audio_visemes``) while the face is not tracked.
Tracked values are never replaced, only added to (breathing) or left alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from rigging.pose import AvatarPose
from rigging.presence import REST_LOCALS
from rigging.quaternion import IDENTITY, from_axis_angle, multiply, normalize, slerp
from rigging.skeleton import BONE_INDEX

BLINK_MS: Final = 150.0
BREATH_HZ: Final = 0.25
BREATH_DEG: Final = 1.2
SWAY_DEG: Final = 2.0
_X: Final = np.array([1.0, 0.0, 0.0])
_Y: Final = np.array([0.0, 1.0, 0.0])


@dataclass
class Liveliness:
    seed: int = 0
    _rng: np.random.Generator = field(init=False)
    _next_blink_ms: float = field(init=False, default=0.0)
    _blink_start_ms: float = field(init=False, default=-1e9)
    _phases: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._next_blink_ms = float(self._rng.uniform(1000, 4000))
        self._phases = self._rng.uniform(0, 2 * math.pi, 4)

    def _blink(self, t_ms: float) -> float:
        if t_ms < self._blink_start_ms:  # a new timeline (another clock): blink again soon on it
            self._blink_start_ms = -1e9
            self._next_blink_ms = t_ms + float(self._rng.uniform(1000, 4000))
        if t_ms >= self._next_blink_ms:
            self._blink_start_ms = t_ms
            self._next_blink_ms = t_ms + float(self._rng.uniform(2000, 6000))
        x = (t_ms - self._blink_start_ms) / BLINK_MS
        return math.sin(math.pi * x) if 0.0 <= x <= 1.0 else 0.0  # close and reopen

    def apply(
        self,
        pose: AvatarPose,
        *,
        face_tracked: bool,
        head_tracked: bool,
        visemes: dict[str, float] | None = None,
    ) -> AvatarPose:
        t = pose.t_ms
        bones = dict(pose.bones)
        expressions = dict(pose.expressions)
        breath = math.radians(BREATH_DEG) * math.sin(2 * math.pi * BREATH_HZ * t / 1000.0)
        chest = bones.get("chest", IDENTITY)
        bones["chest"] = normalize(multiply(chest, from_axis_angle(_X, -breath)))  # chest lifts as it fills
        if not head_tracked:
            s = t / 1000.0
            yaw = math.radians(SWAY_DEG) * math.sin(2 * math.pi * 0.11 * s + self._phases[0])
            pitch = math.radians(SWAY_DEG * 0.6) * math.sin(2 * math.pi * 0.07 * s + self._phases[1])
            sway = multiply(from_axis_angle(_Y, yaw), from_axis_angle(_X, pitch))
            bones["head"] = normalize(multiply(bones.get("head", IDENTITY), sway))
        if not face_tracked:
            blink = self._blink(t)
            if blink > 1e-3:
                expressions["blink"] = blink
            for name, weight in (visemes or {}).items():
                if weight > 1e-3:
                    expressions[name] = min(1.0, weight)
        return AvatarPose(t_ms=t, hips_position=pose.hips_position, bones=bones, expressions=expressions)


def resting_pose(
    t_ms: float, bones: tuple[str, ...], since: AvatarPose | None = None, k: float = 1.0
) -> AvatarPose:
    """The natural rest (arms relaxed down, ``rigging.presence``) of ``bones`` at ``t_ms``; with
    ``since``, the way there from that pose, ``k`` (0..1) of it, eased in and out, so an avatar
    whose tracking stopped glides to rest instead of jumping."""
    rest = REST_LOCALS[[BONE_INDEX[b] for b in bones]]
    hips = np.zeros(3)
    if since is not None and k < 1.0:
        e = k * k * (3.0 - 2.0 * k)
        start = np.array([since.bones.get(b, IDENTITY) for b in bones])
        rest = slerp(start, rest, e)
        hips = since.hips_position * (1.0 - e)
    return AvatarPose(t_ms=t_ms, hips_position=hips, bones=dict(zip(bones, rest, strict=True)))
