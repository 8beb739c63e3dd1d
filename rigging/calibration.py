"""Calibration: the operator's neutral pose, recorded once and applied as offsets.

An operator sits or stands as they will work, looks at the screen, and holds still for a moment.
From those frames we learn:

* the camera's tilt: the neutral torso is taken as upright, so the rotation that brings its mean
  up-vector to +Y (pitch and roll only, never a turn about the vertical) corrects every later
  frame (a laptop camera looking up at a seated operator no longer makes the avatar lean back);
* the head's habitual offset relative to the chest (a camera above the screen makes everyone
  look a little down): it is removed, so the neutral head looks straight ahead;
* where the hips were, so ``hips_position`` is the displacement from that spot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rigging.quaternion import F64, IDENTITY, normalize


@dataclass(frozen=True)
class Calibration:
    #: Rotation applied to every observed point (avatar frame), [x, y, z, w].
    camera: F64 = field(default_factory=lambda: IDENTITY.copy())
    #: Rotation removed from the head relative to the upper chest, [x, y, z, w].
    head: F64 = field(default_factory=lambda: IDENTITY.copy())
    #: Where the hips were in the neutral pose (metres, avatar frame; only x and z are used):
    #: later positions are measured from there. None: from wherever the first frame finds them.
    hips: F64 | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "camera": [round(float(v), 8) for v in self.camera],
            "head": [round(float(v), 8) for v in self.head],
            "hips": None if self.hips is None else [round(float(v), 6) for v in self.hips],
        }

    @classmethod
    def from_json(cls, obj: Any) -> Calibration:
        try:
            camera = np.array(obj["camera"], dtype=np.float64)
            head = np.array(obj["head"], dtype=np.float64)
            raw_hips = obj.get("hips")
            hips = None if raw_hips is None else np.array(raw_hips, dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a calibration: {exc}") from None
        if camera.shape != (4,) or head.shape != (4,) or (hips is not None and hips.shape != (3,)):
            raise ValueError("not a calibration: camera and head take 4 numbers, hips 3 or null")
        numbers = [camera, head] + ([] if hips is None else [hips])
        if not all(np.all(np.isfinite(a)) for a in numbers):
            raise ValueError("not a calibration: numbers must be finite")
        return cls(camera=normalize(camera), head=normalize(head), hips=hips)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON: {exc}") from None


def mean_quaternion(qs: F64) -> F64:
    """Average of close unit quaternions (n, 4): sign-aligned, summed, normalized."""
    ref = qs[0]
    aligned = np.where((qs @ ref)[:, None] < 0, -qs, qs)
    return normalize(aligned.sum(axis=0))
