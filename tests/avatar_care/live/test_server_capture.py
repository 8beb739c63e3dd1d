"""Server capture on loopback: an operator's camera track (a real clip) becomes the customers' motion,
tracked in a worker process of the room's own."""

from __future__ import annotations

import asyncio
import fractions
import json
import math
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import is_rtcp

from avatar_care.api.routes.metrics import metrics_text
from avatar_care.capture.video import read_video
from avatar_care.live.ice import use_loopback_only
from avatar_care.live.registry import LiveRooms
from avatar_care.live.room import LiveRoom
from rigging.codec import decode
from rigging.frame import TrackingFrame
from tests.avatar_care.live.test_room_peers import Peer
from tests.shared_data import shared

pytestmark = pytest.mark.video
CLIP = "media/asl/book.mkv"  # a person signing "book": both hands come up in front of the chest


class Camera(MediaStreamTrack):
    """A webcam that films the signing clip, at 30 frames a second, in a loop; it notes the wall
    time at which it made each frame. Its frames' times are their numbers (a 30 Hz schedule), or,
    with ``stamp_when_taken``, when they were taken, as a browser stamps them."""

    kind = "video"

    def __init__(self, frames: list[np.ndarray], stamp_when_taken: bool = False) -> None:
        super().__init__()
        self.frames = frames
        self.stamp_when_taken = stamp_when_taken
        self.n = 0
        self.start = time.monotonic()
        self.made_unix_ms: dict[int, float] = {}  # pts -> when the frame was made
        self.first_unix: float | None = None

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(max(0.0, self.start + self.n / 30 - time.monotonic()))
        frame = av.VideoFrame.from_ndarray(self.frames[self.n % len(self.frames)], format="rgb24")
        now = time.time()
        if self.first_unix is None:
            self.first_unix = now
        # when taken: a camera that falls behind under load stamps its frames late, not on the
        # schedule it missed
        frame.pts = round((now - self.first_unix) * 90000) if self.stamp_when_taken else self.n * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        self.made_unix_ms[frame.pts] = now * 1000.0
        self.n += 1
        return frame


@pytest.fixture(scope="module")
def clip() -> list[np.ndarray]:
    return [np.ascontiguousarray(rgb) for _, rgb in read_video(shared(CLIP))]


@pytest.fixture(autouse=True)
def loopback() -> Iterator[None]:
    use_loopback_only()
    yield
    use_loopback_only(False)


class Operator(Peer):
    """An operator peer sending its camera; it keeps what the server says on the landmarks channel."""

    def __init__(self, clip: list[np.ndarray], stamp_when_taken: bool = False) -> None:
        super().__init__("landmarks", unordered=True)
        self.camera = Camera(clip, stamp_when_taken)
        self.sender = self.pc.addTrack(self.camera)
        self.events: list[dict[str, str]] = []
        self.channel.on("message", lambda m: self.events.append(json.loads(m)))
        #: the RTP time of the camera's first frame as sent (first_rtp_sent notes it)
        self.first_rtp: int | None = None


@pytest.fixture
def first_rtp_sent(monkeypatch: pytest.MonkeyPatch) -> list[Operator]:
    """Operators appended to the list get ``first_rtp`` noted as their first video packet leaves.

    aiortc starts a sender's RTP timestamps at a random origin of its own and keeps it to itself;
    the receiver counts its frames' pts from the first packet it got, which on a busy machine may be
    a later one. The transport is looked up as each packet leaves (bundling may swap it)."""
    operators: list[Operator] = []
    send = RTCDtlsTransport._send_rtp

    async def noting(transport: RTCDtlsTransport, data: bytes) -> None:
        if not is_rtcp(data):
            for operator in operators:
                if operator.first_rtp is None and transport is operator.sender.transport:
                    operator.first_rtp = int.from_bytes(data[4:8], "big")
        await send(transport, data)

    monkeypatch.setattr(RTCDtlsTransport, "_send_rtp", noting)
    return operators


async def open_room(
    name: str, clip: list[np.ndarray], noted: list[Operator] | None = None
) -> tuple[LiveRoom, Operator, Peer]:
    room = LiveRoom(name)
    # the operator whose first RTP time is noted is the one whose frames are mapped to when they
    # were taken: it stamps them so
    operator = Operator(clip, stamp_when_taken=noted is not None)
    if noted is not None:
        noted.append(operator)
    await operator.connect(room.operator_offer)
    customer = Peer("motion", unordered=True)
    await customer.connect(lambda sdp: room.customer_offer("c", sdp))
    return room, operator, customer


async def wait_for(condition: object, timeout_s: float, what: str) -> None:
    """Until ``condition()`` holds; the machine may be busy, so the limit is generous."""
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        await asyncio.sleep(0.1)


def spread_deg(packets: list[bytes], bone: str) -> float:
    qs = [q for q in (decode(p).pose.bones.get(bone) for p in packets) if q is not None]
    assert qs, f"{bone} never driven"
    return max(math.degrees(2 * math.acos(min(1.0, abs(float(np.dot(q, qs[0])))))) for q in qs)


def capture_children() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name.startswith("capture-")]


async def test_the_operators_camera_drives_the_customers_avatar_from_a_worker_process(
    clip: list[np.ndarray],
) -> None:
    room, operator, customer = await open_room("server-capture", clip)
    try:
        capture = room.capture
        assert capture is not None and capture.pid is not None and capture.pid != os.getpid()
        await wait_for(lambda: capture.stats.processed >= 30, 90, "30 frames tracked")
        # the worker (it lowered its priority before loading the model) yields the CPU to the server
        assert os.getpriority(os.PRIO_PROCESS, capture.pid) > os.getpriority(os.PRIO_PROCESS, 0)
        stats = capture.stats
        assert stats.failed == 0 and stats.crashes == 0
        # latest frame wins: every frame offered was processed or dropped, apart from at most the one
        # waiting in the slot and the one in inference; nothing queues
        assert 0 <= stats.offered - stats.processed - stats.dropped <= 2, stats
        assert stats.reformatted == 0  # the decoder's I420 went to the slot as it was
        assert {
            "type": "capture",
            "state": "ready",
            "message": "server capture is tracking",
        } in operator.events
        # the person signs "book" with both hands: the customer's forearms move
        assert len(customer.received) >= 25
        assert (
            max(spread_deg(customer.received, "rightLowerArm"), spread_deg(customer.received, "leftLowerArm"))
            > 5
        )
        hops = room.hub.stats.hops["capture"]
        assert len(hops) >= 30 and min(hops) > 0
        # once the sender's reports come, the video's own transit is known, and is part of the hop:
        # each processed frame's own transit against its own hop (the newest arrivals' transits
        # against the newest hops compared different frames, and failed under a full run's load)
        transit = capture.stats.transit_ms
        processed = list(capture.stats.processed_transit_ms)
        assert len(transit) >= 10 and min(transit) >= 0
        assert len(processed) >= 10, processed
        assert all(0 <= t < hop for t, hop in processed), processed
    finally:
        await operator.pc.close()
        await customer.pc.close()
        await room.close()


async def test_the_console_hears_the_capture_state_again_when_a_message_is_lost(
    clip: list[np.ndarray],
) -> None:
    """The landmarks channel is unordered and unreliable: the room says the state again every second."""
    room, operator, customer = await open_room("capture-state", clip)

    def ready() -> bool:
        return any(e.get("type") == "capture" and e.get("state") == "ready" for e in operator.events)

    try:
        await wait_for(ready, 90, "server capture ready")
        operator.events.clear()  # as if the message had been lost on the way
        await wait_for(ready, 5, "the state said again")
    finally:
        await operator.pc.close()
        await customer.pc.close()
        await room.close()


async def test_a_camera_faster_than_inference_loses_old_frames_instead_of_queueing(
    clip: list[np.ndarray],
) -> None:
    """Frames offered far faster than the landmarker runs: most are dropped, none wait in line, and
    what is tracked is the newest frame each time."""
    delivered: list[tuple[TrackingFrame, float | None]] = []
    room = LiveRoom("fast-camera")
    from avatar_care.live.server_capture import ProcessCapture

    capture = ProcessCapture("fast-camera", lambda f, age: delivered.append((f, age)), room.capture_stats)
    try:
        await wait_for(lambda: capture.ready, 90, "the worker's model loaded")
        frame = av.VideoFrame.from_ndarray(clip[40], format="rgb24").reformat(format="yuv420p")
        planes = [np.frombuffer(p, np.uint8).reshape(-1, p.line_size) for p in frame.planes]
        planes = [planes[0][:480, :640], planes[1][:240, :320], planes[2][:240, :320]]
        for i in range(300):  # 300 frames in about 1.5 s: ten times what the landmarker can take
            capture.offer(planes, 640, 480, i * 5.0, time.monotonic() * 1000.0)
            await asyncio.sleep(0.005)
        await asyncio.sleep(1.0)  # the last frame's inference
        stats = capture.stats
        assert stats.offered == 300
        assert stats.dropped > 200  # most frames never reached the landmarker
        assert stats.offered - stats.processed - stats.dropped == 0, stats  # and none is left waiting
        assert len(delivered) == stats.processed
        last, age = delivered[-1]
        assert last.t_ms == 299 * 5.0  # the very last frame offered was the last one tracked
        assert last.pose_world is not None and age is not None and age > 0
    finally:
        await capture.stop()
        await room.close()


async def test_a_killed_worker_is_reported_and_this_room_and_another_go_on(clip: list[np.ndarray]) -> None:
    first, first_operator, first_customer = await open_room("first", clip)
    second, second_operator, second_customer = await open_room("second", clip)
    try:
        assert first.capture is not None and second.capture is not None
        await wait_for(
            lambda: first.capture_stats.processed >= 10 and second.capture_stats.processed >= 10,
            120,
            "both rooms tracking",
        )
        killed = first.capture.pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)  # as the kernel's OOM killer would
        await wait_for(lambda: first.capture_stats.crashes == 1, 30, "the crash noticed")
        # the operator's console hears of it on its landmarks channel
        await wait_for(
            lambda: any(
                e.get("type") == "capture" and e["state"] == "restarting" for e in first_operator.events
            ),
            30,
            "the operator told",
        )
        rooms = LiveRooms()
        rooms.rooms.update(first=first, second=second)
        text = metrics_text(rooms)
        assert 'avatar_care_capture_worker_crashes_total{room="first"} 1' in text
        assert 'avatar_care_capture_worker_crashes_total{room="second"} 0' in text
        # the other room never noticed
        before = len(second_customer.received)
        await wait_for(lambda: len(second_customer.received) - before >= 20, 60, "the second room's motion")
        assert second.capture_stats.crashes == 0
        # and this room tracks again with a new worker
        assert first.capture.pid != killed
        after_crash = len(first_customer.received)
        await wait_for(
            lambda: len(first_customer.received) - after_crash >= 10, 120, "the first room's motion back"
        )
        stats = first.capture_stats
        assert 0 <= stats.offered - stats.processed - stats.dropped <= 2, stats
    finally:
        for peer in (first_operator, first_customer, second_operator, second_customer):
            await peer.pc.close()
        await first.close()
        await second.close()


async def test_no_worker_is_left_when_the_operator_switches_to_edge_or_leaves_or_the_room_closes(
    clip: list[np.ndarray],
) -> None:
    room, operator, customer = await open_room("closing", clip)
    try:
        assert room.capture is not None
        server_pid = room.capture.pid
        await wait_for(lambda: room.capture_stats.processed >= 3, 90, "tracking")
        # the console switches to edge capture: a new connection without the camera's video
        edge = Peer("landmarks", unordered=True)
        await edge.connect(room.operator_offer)
        assert room.capture is None
        await wait_for(lambda: not capture_children(), 30, "the worker gone after the switch")
        with pytest.raises(ProcessLookupError):
            os.kill(server_pid, 0)  # type: ignore[arg-type]
        # back to server capture, then the room closes
        again = Operator(clip)
        await again.connect(room.operator_offer)
        assert room.capture is not None
        await wait_for(lambda: room.capture_stats.processed >= 6, 90, "tracking again")
        assert len(capture_children()) == 1
        # the operator leaves: the worker goes with the connection
        await again.pc.close()
        await wait_for(lambda: not capture_children(), 60, "the worker gone after the operator left")
        assert room.capture is None
        await edge.pc.close()
    finally:
        await operator.pc.close()
        await customer.pc.close()
        await room.close()
    assert not capture_children()


async def test_the_capture_hop_starts_at_the_senders_camera(
    clip: list[np.ndarray], first_rtp_sent: list[Operator]
) -> None:
    """The sender's RTCP reports map a received frame's RTP time to when the camera made it."""
    room, operator, customer = await open_room("sender-clock", clip, first_rtp_sent)
    try:
        await wait_for(lambda: room.capture_stats.processed >= 10, 90, "tracking")
        receiver = next(t.receiver for t in room.operator.getTransceivers() if t.kind == "video")  # type: ignore[union-attr]
        from avatar_care.live.sender_clock import SenderClock

        clock = SenderClock(receiver)
        await wait_for(lambda: clock._report is not None, 30, "a sender report")
        # A sender report pairs the RTP time of the last frame sent with the moment it was sent.
        # aiortc's sender sends a frame after encoding it, so its reports are late by its own
        # encoding time (hundreds of ms on a busy machine); a browser's are not. Every frame must
        # therefore map to when it was made, late by exactly that report's own lateness: a wrong
        # clock rate, origin or wrap would spread or shift the errors.
        made = dict(operator.camera.made_unix_ms)  # the camera's pts (its first frame 0) -> when
        assert clock._report is not None and operator.first_rtp is not None
        report_unix_s, report_rtp = clock._report
        origin = clock._origin()  # the receiver's: the RTP time its frames' pts count from
        assert origin is not None
        reported = (report_rtp - operator.first_rtp) % 2**32  # the camera's pts of the reported frame
        # (the encoder may round a frame's time by a tick of 1/90000 s)
        nearest = min(made, key=lambda pts: abs(pts - reported))
        assert abs(nearest - reported) <= 2, ("the report names no frame the camera made", reported)
        reported = nearest
        lateness = report_unix_s * 1000.0 - made[reported]
        assert 0.0 <= lateness < 10_000.0, lateness  # sent after it was made, on the same clock

        def received_pts(pts: int) -> int:
            return (pts + operator.first_rtp - origin) % 2**32  # type: ignore[operator]

        mapped = {pts: clock.capture_unix_ms(received_pts(pts)) for pts in list(made)[-30:]}
        errors = [m - made[pts] - lateness for pts, m in mapped.items() if m is not None]
        assert len(errors) == 30
        assert all(abs(e) < 1.0 for e in errors), errors  # rounding pts to 1/90000 s only
    finally:
        await operator.pc.close()
        await customer.pc.close()
        await room.close()
