"""Server capture without browsers: ``python benchmarks/server_capture_loopback.py [--seconds 20]``.

The setup of tests/avatar_care/live/test_server_capture.py: aiortc peers on loopback in this
process, an operator whose camera is the signing clip at 30 frames a second (VP8, aiortc's encoder),
a customer, and the room with its capture worker. Prints the capture hop (the camera's frame, by
the sender's RTCP reports, to landmarks at the hub), the server's hops, the customer's packet
rate and the worker's frame counts. This process encodes and decodes the video as well, so it
competes with the worker; timings are this machine's at the moment, quote them with the load.
``--trace FILE`` writes the customer's motion arrivals for ``benchmarks/jitter_buffer.mjs``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from avatar_care.capture.video import read_video
from avatar_care.live.ice import use_loopback_only
from benchmarks.motion_trace import MotionTrace, save
from tests.avatar_care.live.test_server_capture import CLIP, open_room
from tests.shared_data import shared


async def run(seconds: float, trace_path: Path | None = None) -> None:
    use_loopback_only()
    clip = [np.ascontiguousarray(rgb) for _, rgb in read_video(shared(CLIP))]
    room, operator, customer = await open_room("loopback", clip)
    trace = MotionTrace()
    customer.channel.on("message", trace.record)
    try:
        while room.capture_stats.processed < 10:  # the worker's model loads
            await asyncio.sleep(0.2)
        for samples in room.hub.stats.hops.values():
            samples.clear()
        start_packets, stats = len(customer.received), room.capture_stats
        start = (stats.offered, stats.processed, stats.dropped)
        load = os.getloadavg()[0]
        trace.recording = True
        await asyncio.sleep(seconds)
        trace.recording = False
        print(f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}; {seconds:.0f} s measured")
        for hop in ("capture", "solve", "send"):
            xs = sorted(room.hub.stats.hops[hop])
            print(
                f"{hop:8} p50 {statistics.median(xs):7.1f} ms   p95 {xs[int(0.95 * (len(xs) - 1))]:7.1f} ms   n {len(xs)}"
            )
        print(f"customer packets/s {(len(customer.received) - start_packets) / seconds:.1f}")
        offered, processed, dropped = (
            now - before
            for now, before in zip((stats.offered, stats.processed, stats.dropped), start, strict=True)
        )
        print(f"frames offered {offered}, processed {processed}, dropped {dropped}")
        if trace_path is not None:
            rate = processed / seconds
            save(trace_path, f"server capture, {rate:.0f} tracked frames/s, filled in to 30/s", [trace])
    finally:
        await operator.pc.close()
        await customer.pc.close()
        await room.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--trace", type=Path, default=None, metavar="FILE")
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.trace))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
