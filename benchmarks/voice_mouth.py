"""How far the voice-driven mouth is from the voice, as a customer page maps them:
``python benchmarks/voice_mouth.py [--seconds 30] [--spin N]``.

An `avatar-care demo` server; a voice-only operator (tests/browser/sync_scenario.py's, a 440 Hz
burst every 2 s, its landmark channel open and silent) and an aiortc customer in this process. The
server makes the avatar's mouth from the voice (``avatar_care/live/voice_visemes.py``) and sends it
in the motion packets, each stamped with a moment (``t_ms``). A customer page puts the voice on the
motion's clock by the two streams' least delayed arrivals (``web_client/room/av_sync.js``,
``StreamMapping``); this does the same with every packet's arrival here (the least of the 3 s
before each burst) and prints, per burst, how much later on that clock the mouth opens than the
burst starts, and closes than it ends: a positive close is a mouth open in the customer's pause.

``--spin N`` runs N busy processes beside it (a loaded machine). Quote the load average beside
the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avatar_care.live.ice import use_loopback_only
from benchmarks.av_arrival import watch
from rigging.audio_visemes import VISEMES
from rigging.codec import MotionPacket
from tests.browser import sync_scenario
from tests.browser.live_scenario import demo_server

LOUD = 0.05  # a decoded sample above this: the burst (the voice is silent between bursts)
OPEN = 0.1  # the mouth's largest viseme weight above this: open
CLOSED = 0.05
RATE = 48000
WINDOW_S = 3.0


class Arrivals:
    def __init__(self) -> None:
        self.voice: list[tuple[float, int, float]] = []  # (arrived, RTP timestamp, loudest sample)
        self.motion: list[tuple[float, float, float]] = []  # (arrived, t_ms, mouth)


async def customer(signaling: str, seconds: float, got: Arrivals) -> None:
    def on_motion(arrived: float, packet: MotionPacket) -> None:
        mouth = max((packet.pose.expressions.get(v, 0.0) for v in VISEMES), default=0.0)
        got.motion.append((arrived, packet.pose.t_ms, mouth))

    await watch(signaling, seconds, lambda *voice: got.voice.append(voice), on_motion)


def spin(stop: Any) -> None:
    while not stop.is_set():
        pass


def unwrapped(timestamps: list[int]) -> np.ndarray:
    """RTP timestamps (32-bit, wrapping) as one growing count."""
    raw = np.diff(np.array(timestamps, dtype=np.int64))
    half = np.int64(2**31)
    steps = np.mod(raw + half, 2 * half) - half
    return np.concatenate(([timestamps[0]], timestamps[0] + np.cumsum(steps))).astype(np.float64)


def lags(got: Arrivals, starts: list[float], settle_s: float) -> tuple[list[float], list[float]]:
    """Per burst after ``settle_s``: (mouth opened - burst began, mouth closed - burst ended), ms,
    on the motion's clock."""
    v_arrived = np.array([a for a, _, _ in got.voice])
    v_s = unwrapped([r for _, r, _ in got.voice]) / RATE
    v_loud = np.array([x for _, _, x in got.voice])
    m_arrived = np.array([a for a, _, _ in got.motion])
    m_s = np.array([t for _, t, _ in got.motion]) / 1000.0
    m_mouth = np.array([x for _, _, x in got.motion])
    opened, closed = [], []
    every = sync_scenario.EVERY_S
    for made in starts:
        if made < starts[0] + settle_s:
            continue
        v_win = (v_arrived > made - WINDOW_S) & (v_arrived <= made)
        m_win = (m_arrived > made - WINDOW_S) & (m_arrived <= made)
        if v_win.sum() < 50 or m_win.sum() < 30:
            continue
        # a voice moment s plays at s + v_floor on this clock; a pose t at t + m_floor
        to_motion = float(np.min(v_arrived[v_win] - v_s[v_win]) - np.min(m_arrived[m_win] - m_s[m_win]))
        burst = np.flatnonzero(
            (v_arrived > made - every / 4) & (v_arrived < made + every / 2) & (v_loud > LOUD)
        )
        if burst.size == 0:
            continue
        began = v_s[burst[0]] + to_motion
        ended = v_s[burst[-1]] + 960 / RATE + to_motion
        after = np.flatnonzero((m_s > began - every / 4) & (m_s < began + every / 2))
        open_at = next((i for i in after if m_mouth[i] > OPEN), None)
        if open_at is None:
            continue
        close_at = next((i for i in after if i > open_at and m_mouth[i] < CLOSED), None)
        opened.append((m_s[open_at] - began) * 1000.0)
        if close_at is not None:
            closed.append((m_s[close_at] - ended) * 1000.0)
    return opened, closed


def quantiles(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"n {len(values):3d}  p50 {statistics.median(values):6.1f}  "
        f"p95 {float(np.percentile(values, 95)):6.1f}  max {max(values):6.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=4.0, help="bursts in this first part are left out")
    parser.add_argument("--spin", type=int, default=0, help="busy processes beside it")
    args = parser.parse_args()
    starts: list[float] = []
    bursts_of = sync_scenario.Bursts.recv

    async def noted(self: sync_scenario.Bursts) -> av.AudioFrame:
        frame = await bursts_of(self)
        n = self.n - 1
        if n * sync_scenario.SAMPLES % int(sync_scenario.EVERY_S * RATE) == 0:
            starts.append(time.monotonic())  # a burst's first frame is handed to the sender
        return frame

    sync_scenario.Bursts.recv = noted  # type: ignore[method-assign]
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=spin, args=(stop,)) for _ in range(args.spin)]
    got = Arrivals()
    load_before = os.getloadavg()[0]
    try:
        for p in spinners:
            p.start()
        with tempfile.TemporaryDirectory() as tmp, demo_server(Path(tmp) / "data") as links:
            use_loopback_only()
            signaling = f"ws://{urlparse(links['customer']).netloc}/ws/rooms/demo"
            thread = threading.Thread(
                target=lambda: asyncio.run(customer(signaling, args.seconds + 8, got)), daemon=True
            )
            thread.start()
            time.sleep(3)
            with sync_scenario.marking_operator(links["operator"], motion=False) as errors:
                time.sleep(args.seconds)
            assert not errors, errors
            thread.join(30)
    finally:
        stop.set()
        for p in spinners:
            p.join(5)
    load_after = os.getloadavg()[0]
    opened, closed = lags(got, starts, args.settle)
    print(
        f"voice-only mouth against the voice, on the motion's clock, ms ({args.seconds:.0f} s, {args.spin} spinners)"
    )
    print(f"load average {load_before:.1f} before, {load_after:.1f} after")
    print(f"mouth opens after the burst begins   {quantiles(opened)}")
    print(f"mouth closes after the burst ends    {quantiles(closed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
