"""The shared test vectors of the landmark packet: tests/vectors/landmark_packet.json.

The Python side (tests/rigging/test_landmark_packet.py) and the operator console's encoder
(web_client/test/landmark_packet.test.js) both check that each frame encodes to these bytes.
Regenerate after a deliberate format change with ``python -m tests.rigging.landmark_vectors``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rigging.frame import parse_frame
from rigging.landmark_packet import encode

ROOT = Path(__file__).resolve().parents[2]
PATH = ROOT / "tests" / "vectors" / "landmark_packet.json"


def cases() -> list[dict[str, Any]]:
    recorded = [
        json.loads(x) for x in (ROOT / "assets" / "demo" / "book.jsonl").read_text().splitlines() if x
    ]
    full = next(f for f in recorded if f.get("left_hand_world") and f.get("face_blendshapes"))
    out: list[dict[str, Any]] = []

    def add(name: str, frame: dict[str, Any], age: float | None) -> None:
        packet = encode(parse_frame(frame), age)
        out.append({"name": name, "frame": frame, "capture_age_ms": age, "hex": packet.hex()})

    add("a whole frame, with its capture age", full, 41.5)
    add("no hands, no face", full | {"left_hand_world": None, "right_hand_world": None,
                                     "face_blendshapes": None, "face_matrix": None}, None)  # fmt: skip
    add("nobody detected", {"t_ms": 1234.5, "pose_world": None}, None)
    tiny = [[1e-6, -3e-5, 7e-8, 1.0]] * 33  # half-precision subnormals and rounding near zero
    add("tiny numbers", {"t_ms": 0.25, "pose_world": tiny, "pose_image": tiny}, 0.0)
    return out


def main() -> None:
    PATH.write_text(json.dumps({"cases": cases()}, indent=1) + "\n")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
