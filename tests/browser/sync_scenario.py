"""An operator whose voice and motion mark the same instants, and what a customer page makes of it.

An aiortc operator (in a thread of this process) sends, at the same instants, a 440 Hz tone burst
on its voice and a raised right arm in its landmarks, every ``EVERY_S``, through ``avatar-care
demo``; the customer's page (``?sync-marks``, room/av_sync.js) notes when it hears each burst start
and when its buffered pose shows the arm raised. Used by tests/browser/test_av_sync.py and
benchmarks/av_sync.py."""

from __future__ import annotations

import asyncio
import fractions
import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlparse

import av
import numpy as np
import websockets
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InvalidStateError
from playwright.sync_api import Page

from avatar_care.live.ice import use_loopback_only
from tests.rigging.posed_landmarks import make_frame, rq

RATE = 48000
SAMPLES = 960  # 20 ms
EVERY_S = 2.0  # a burst and a raised arm every 2 s: 100 audio frames, 60 motion frames
BURST_S = 0.3
CATCH_UP_S = 1.0  # a microphone's capture buffer
RAISED = {"rightUpperArm": rq((0, 0, 1), -80)}
DOWN = {"rightUpperArm": rq((0, 0, 1), 70)}


def in_burst(t: float) -> bool:
    return t >= EVERY_S and (t % EVERY_S) < BURST_S


class Clock:
    """The instant both the voice and the motion count from: the first time either needs it."""

    def __init__(self) -> None:
        self.start: float | None = None

    def begin(self) -> float:
        if self.start is None:
            self.start = time.monotonic()
        return self.start


class Bursts(MediaStreamTrack):
    """A microphone silent but for a 440 Hz burst at every EVERY_S, paced from ``clock.start``."""

    kind = "audio"

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.n = 0

    async def recv(self) -> av.AudioFrame:
        start = self.clock.begin()
        behind = time.monotonic() - (start + self.n * SAMPLES / RATE)
        if behind > CATCH_UP_S:
            # asked long after the clock started (the connection came up later): those frames were
            # never captured. A shorter delay is this process held up on a busy machine: a
            # microphone keeps what it captured meanwhile and hands it over at once (sending
            # nothing for it would be a gap in the voice that no real operator's voice has)
            self.n = int((time.monotonic() - start) * RATE / SAMPLES)
        await asyncio.sleep(max(0.0, start + self.n * SAMPLES / RATE - time.monotonic()))
        t = (self.n * SAMPLES + np.arange(SAMPLES)) / RATE
        on = np.array([in_burst(x) for x in t])
        samples = (on * 0.3 * 32767 * np.sin(2 * math.pi * 440 * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.n * SAMPLES
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += 1
        return frame


async def operate(
    signaling: str,
    join: dict[str, str],
    stop: threading.Event,
    ready: threading.Event,
    motion: bool = True,
) -> None:
    """The operator, joined with ``join`` (the signaling's join message: a demo room's operator key
    or a consultation's operator token), until ``stop``; without ``motion`` its landmark channel
    opens but carries nothing (a console with a microphone and no camera)."""
    clock = Clock()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(Bursts(clock))
    channel = pc.createDataChannel("landmarks", ordered=False, maxRetransmits=0)
    async with websockets.connect(signaling) as ws:
        await ws.send(json.dumps(join))
        assert json.loads(await ws.recv())["type"] == "joined"
        await pc.setLocalDescription(await pc.createOffer())
        await ws.send(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}))
        answer = json.loads(await ws.recv())
        assert answer["type"] == "answer", answer
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        while channel.readyState != "open":
            await asyncio.sleep(0.01)
        ready.set()
        start = clock.begin()
        m = 0
        while not motion and not stop.is_set():
            await asyncio.sleep(0.05)
        while motion and not stop.is_set() and channel.readyState == "open":
            # motion frame m at the same instant as the voice's sample m / 30 s; none of the past
            m = max(m, int((time.monotonic() - start) * 30.0))
            await asyncio.sleep(max(0.0, start + m / 30.0 - time.monotonic()))
            t = m / 30.0
            frame = make_frame(RAISED if in_burst(t + 1e-6) else DOWN, t_ms=t * 1000.0)
            try:
                channel.send(json.dumps(frame.to_json()))
            except InvalidStateError:  # the connection ended: the marks so far are what there is
                break
            m += 1
        await pc.close()


@contextmanager
def marking_operator(operator_link: str, motion: bool = True) -> Iterator[list[BaseException]]:
    """The operator above in the demo room of ``operator_link``, connected when this yields; the
    list holds what went wrong in its thread (empty while all is well)."""
    url = urlparse(operator_link)
    # the operator's key rides in the link's fragment (never sent to a server in a Referer or log)
    key = parse_qs(url.fragment or url.query)["key"][0]
    join = {"type": "join", "role": "operator", "operator_key": key}
    with marking_operator_at(f"ws://{url.netloc}/ws/rooms/demo", join, motion) as errors:
        yield errors


@contextmanager
def marking_operator_at(
    signaling: str, join: dict[str, str], motion: bool = True
) -> Iterator[list[BaseException]]:
    """The operator above on the room socket ``signaling``, joined with ``join``, in a thread of
    this process; connected when this yields, the list holding what went wrong in its thread."""
    stop, ready = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        use_loopback_only()
        try:
            asyncio.run(operate(signaling, join, stop, ready, motion))
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "the operator peer did not connect"
        assert not errors, errors
        yield errors
    finally:
        stop.set()
        thread.join(30)
        use_loopback_only(False)


def wait_for_marks(
    page: Page, since: float, count: int, timeout_s: float, errors: list[BaseException]
) -> None:
    """Until the page has seen ``count`` raised arms after ``since`` (its performance.now())."""
    deadline = time.monotonic() + timeout_s
    seen_js = f"(window.avatarCare.syncMarks?.seen ?? []).filter((t) => t > {since}).length"
    while page.evaluate(seen_js) < count and time.monotonic() < deadline and not errors:
        page.wait_for_timeout(1000)


def paired_offsets(heard: list[float], seen: list[float], *, skip_first: bool = True) -> list[float]:
    """Each raised arm against the burst heard nearest to it, in ms, positive when the voice came
    after the motion; but the first with ``skip_first`` (marks from the start of watching: it may
    have been half watched; marks already cut to those after a time are whole). A pair further
    apart than half the bursts' spacing is not a pair: AssertionError."""
    offsets = []
    for s in seen[1:] if skip_first else seen:
        h = min(heard, key=lambda h: abs(h - s))
        assert abs(h - s) < EVERY_S * 1000 / 2, (heard, seen)
        offsets.append(h - s)
    return offsets
