"""The shared test vectors of the motion codec: tests/vectors/motion_codec.json.

Both decoders' tests read that file (tests/rigging/test_codec.py, web_client/test/motion_codec.test.js).
Regenerate it after a deliberate format change with ``python -m tests.rigging.codec_vectors``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rigging.codec import HopTiming, decode, encode
from rigging.pose import AvatarPose
from rigging.quaternion import normalize
from rigging.skeleton import BONES, EXPRESSIONS

PATH = Path(__file__).resolve().parents[1] / "vectors" / "motion_codec.json"


def _expected(data: bytes) -> dict[str, Any]:
    packet = decode(data)
    pose = packet.pose
    return {
        "seq": packet.seq,
        "t_ms": pose.t_ms,
        "hips_position": [round(float(v), 6) for v in pose.hips_position],
        "bones": {k: [round(float(x), 9) for x in v] for k, v in pose.bones.items()},
        "expressions": {k: round(v, 9) for k, v in pose.expressions.items()},
        "timing": None
        if packet.timing is None
        else {
            "landmarksMs": packet.timing.landmarks_ms,
            "solveMs": packet.timing.solve_ms,
            "sendMs": packet.timing.send_ms,
        },
    }


def cases() -> list[tuple[str, AvatarPose, int, HopTiming | None]]:
    """The valid vectors' poses: name, pose, sequence number, timing."""
    rng = np.random.default_rng(2024)
    full = AvatarPose(
        t_ms=1_700_000_123.25,
        hips_position=np.array([0.125, -0.31, 1.5]),
        bones=dict(zip(BONES, normalize(rng.normal(size=(len(BONES), 4))), strict=True)),
        expressions={e: float(rng.random()) for e in EXPRESSIONS},
    )
    arms = AvatarPose(
        t_ms=33.3,
        bones={
            "rightUpperArm": np.array([0.0, 0.0, -0.7071068, 0.7071068]),
            "leftLowerArm": np.array([0.0, -0.258819, 0.0, 0.9659258]),
        },
        expressions={"aa": 1.0, "blink": 0.5},
    )
    return [
        ("full body with timing", full, 65535, HopTiming(36.5, 37.25, 38.0)),
        ("empty pose", AvatarPose(t_ms=0.0), 0, None),
        ("two arms, wrapped sequence", arms, 65536 + 7, None),
        (
            "hips clamped to the range",
            AvatarPose(t_ms=5.0, hips_position=np.array([40.0, -40.0, 0.0])),
            1,
            None,
        ),
    ]


def build() -> dict[str, Any]:
    cases_ = [(name, encode(pose, seq, timing)) for name, pose, seq, timing in cases()]
    good = [{"name": n, "hex": b.hex(), "expected": _expected(b)} for n, b in cases_]
    base = cases_[2][1]
    bad = [
        ("truncated", base[:-3], "truncated"),
        ("wrong version", bytes([9]) + base[1:], "version"),
        ("trailing garbage", base + b"\x00", "unexpected byte"),
        ("unknown flag", base[:1] + bytes([0x80]) + base[2:], "flags"),
        ("bone mask beyond 55 bones", base[:24] + bytes([0xFF]) + base[25:], "mask"),
        ("too short", b"\x01\x00", "short"),
    ]
    return {
        "about": "motion codec test vectors (docs/motion-codec.md); regenerate: python -m tests.rigging.codec_vectors",
        "bones": list(BONES),
        "expressions": list(EXPRESSIONS),
        "valid": good,
        "invalid": [{"name": n, "hex": b.hex(), "error": e} for n, b, e in bad],
    }


if __name__ == "__main__":
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {PATH}")
