"""Voice and motion as they reach a customer, before any page: ``python benchmarks/av_arrival.py``.

An `avatar-care demo` server; the operator of tests/browser/sync_scenario.py (a 440 Hz burst on its
voice and a raised right arm in its landmarks at the same instants, every 2 s) and an aiortc
customer, both in this process and so on one clock. For each burst after the first few: when the
first loud voice packet (decoded here from its RTP payload as it arrives, ahead of any jitter
buffer) and the first motion packet with the arm raised reach the customer, after the instant the
operator made them. Their difference is what the server and the network add to one stream and not
the other, which no customer page can see or undo. Prints p50/p95 of each and of the difference,
with the load average (a shared machine: quote it beside the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.codecs.opus import OpusDecoder
from aiortc.jitterbuffer import JitterFrame

from avatar_care.live.ice import use_loopback_only
from rigging.codec import MotionPacket, decode
from tests.browser import sync_scenario
from tests.browser.live_scenario import demo_server
from tests.network.peers import negotiate, signal_join

LOUD = 0.05  # a decoded sample above this: the burst (the voice is silent between bursts)
RAISED_Z = -0.4  # the right upper arm's rotation z below this: raised (as room/av_sync.js)


class Arrivals:
    def __init__(self) -> None:
        self.voice: list[tuple[float, float]] = []  # (arrived, loudest sample), monotonic s
        self.motion: list[tuple[float, float | None]] = []  # (arrived, right upper arm's z)


#: a voice packet as it arrives: (arrival, monotonic s; its RTP timestamp; its loudest sample)
OnVoice = Callable[[float, int, float], None]
#: a motion packet as it arrives: (arrival, monotonic s; the packet decoded)
OnMotion = Callable[[float, MotionPacket], None]


async def watch(signaling: str, seconds: float, on_voice: OnVoice, on_motion: OnMotion) -> None:
    """An aiortc customer of the room at ``signaling`` for ``seconds``: every voice packet as it
    arrives (decoded here from its RTP payload, ahead of any jitter buffer) and every motion packet,
    each timed on this process's monotonic clock."""
    ws, _ = await signal_join(signaling, {"role": "customer"})
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    channel = pc.createDataChannel("motion", ordered=False, maxRetransmits=0)
    receiver = pc.addTransceiver("audio", direction="recvonly").receiver
    decoder = OpusDecoder()
    handle = receiver._handle_rtp_packet

    async def on_rtp(packet: Any, arrival_time_ms: int) -> None:
        # each packet as it arrives, ahead of this customer's own jitter buffer
        if packet.payload:
            frames = decoder.decode(JitterFrame(packet.payload, packet.timestamp))
            samples = [np.abs(f.to_ndarray()) for f in frames if isinstance(f, av.AudioFrame)]
            loudest = max((float(x.max()) / 32768 for x in samples), default=0.0)
            on_voice(time.monotonic(), int(packet.timestamp), loudest)
        await handle(packet, arrival_time_ms)

    receiver._handle_rtp_packet = on_rtp  # type: ignore[method-assign]  # no public hook

    @channel.on("message")
    def on_message(message: bytes) -> None:
        on_motion(time.monotonic(), decode(message))

    drains: list[asyncio.Task[None]] = []

    @pc.on("track")
    def on_track(track: Any) -> None:
        async def drain() -> None:
            try:
                while True:
                    await track.recv()
            except Exception:  # the track ends with the connection
                return

        drains.append(asyncio.ensure_future(drain()))

    await negotiate(ws, pc)
    await asyncio.sleep(seconds)
    await pc.close()
    await ws.close()


async def customer(signaling: str, seconds: float, got: Arrivals) -> None:
    def on_motion(arrived: float, packet: MotionPacket) -> None:
        q = packet.pose.bones.get("rightUpperArm")
        got.motion.append((arrived, float(q[2]) if q is not None else None))

    await watch(signaling, seconds, lambda at, _rtp, loudest: got.voice.append((at, loudest)), on_motion)


def first_after(rows: list[tuple[float, Any]], since: float, hit: Any) -> float | None:
    return next((t for t, x in rows if t > since and hit(x)), None)


def quantiles(values: list[float]) -> str:
    return f"p50 {statistics.median(values):6.1f}  p95 {float(np.percentile(values, 95)):6.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=4.0, help="bursts in this first part are left out")
    args = parser.parse_args()
    starts: list[float] = []
    begin = sync_scenario.Clock.begin

    def noted(self: sync_scenario.Clock) -> float:  # the operator's clock: when its bursts are made
        start = begin(self)
        if not starts or starts[-1] != start:
            starts.append(start)
        return start

    sync_scenario.Clock.begin = noted  # type: ignore[method-assign]
    got = Arrivals()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, demo_server(Path(tmp) / "data") as links:
        use_loopback_only()
        signaling = f"ws://{urlparse(links['customer']).netloc}/ws/rooms/demo"
        thread = threading.Thread(
            target=lambda: asyncio.run(customer(signaling, args.seconds + 8, got)), daemon=True
        )
        thread.start()
        time.sleep(3)  # the customer connected before the operator, as in the browser test
        with sync_scenario.marking_operator(links["operator"]) as errors:
            time.sleep(args.seconds)
        assert not errors, errors
        thread.join(30)
    load_after = os.getloadavg()[0]
    start = starts[-1]
    voice, motion = [], []
    every = sync_scenario.EVERY_S
    for k in range(int(args.settle / every) + 1, int(args.seconds / every)):
        made = start + every * k
        # a packet up to half a spacing early is one made before this burst: not it
        heard = first_after(got.voice, made - every / 4, lambda x: x > LOUD)
        raised = first_after(got.motion, made - every / 4, lambda z: z is not None and z < RAISED_Z)
        if heard is not None and raised is not None and max(heard, raised) < made + every / 2:
            voice.append((heard - made) * 1000)
            motion.append((raised - made) * 1000)
    print(
        f"at an aiortc customer, ms after the operator made it ({args.seconds:.0f} s, a burst every {every:.0f} s);"
    )
    print(f"load average {load_before:.1f} before, {load_after:.1f} after; bursts {len(voice)}")
    if voice:
        print(f"voice            {quantiles(voice)}")
        print(f"motion           {quantiles(motion)}")
        print(f"voice - motion   {quantiles([v - m for v, m in zip(voice, motion, strict=True)])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
