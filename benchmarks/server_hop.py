"""The server hop: an operator's tracking frame in, motion packets out, with 1, 10 and 50 rooms.

    python benchmarks/server_hop.py

Every room gets one frame per 33 ms tick (a 30 fps camera each), all arriving together, as they
would at one server process; each frame is solved and encoded and its packet handed to the room's
customer. The hop time of a frame runs from its arrival to its packet's send, so it includes the
wait behind other rooms' frames of the same tick: that is what a customer sees. Frames are the
recorded demo session (real MediaPipe landmarks). Prints a table; asserts nothing.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avatar_care.live.motion_hub import MotionHub  # noqa: E402

TICKS = 60


def run(rooms: int, frames: list[dict[str, object]]) -> tuple[np.ndarray, float]:
    hubs = [MotionHub(f"room-{i}") for i in range(rooms)]
    sent: list[int] = []
    for hub in hubs:
        hub.add_customer("customer", lambda packet: sent.append(len(packet)))
    hops: list[float] = []
    for tick in range(TICKS):
        frame = dict(frames[tick % len(frames)])
        frame["t_ms"] = tick * 1000 / 30
        message = json.dumps(frame)
        arrived = time.perf_counter()  # the whole tick's frames arrive together
        for hub in hubs:
            hub.on_frame(message)
            hops.append((time.perf_counter() - arrived) * 1000)
    return np.array(hops[rooms * 10 :]), float(np.mean(sent))  # skip the first ticks (ease-in)


def main() -> None:
    path = ROOT / "assets" / "demo" / "book.jsonl"
    frames = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    header = (
        "rooms",
        "hop p50 ms",
        "hop p99 ms",
        "a tick's work fits in 33 ms",
        "packet bytes",
        "KB/s per customer",
    )
    rows = [header]
    for rooms in (1, 10, 50):
        hops, size = run(rooms, frames)
        p99 = float(np.percentile(hops, 99))  # the last room of a tick waits for all the others
        fits = "yes" if p99 < 33.3 else "no"
        rows.append(
            (
                str(rooms),
                f"{np.median(hops):.2f}",
                f"{p99:.2f}",
                fits,
                f"{size:.0f}",
                f"{size * 30 / 1000:.1f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, r in enumerate(rows):
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    print("\ntargets: hop p99 <= 2 ms at 50 rooms; motion <= 10 KB/s per customer")


if __name__ == "__main__":
    main()
