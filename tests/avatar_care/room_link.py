"""A live room's participant as an aiortc peer that stays connected as the pages do
(``web_client/room/signaling.js``): join, offer, answer; when the signaling socket closes or the
peer fails, a new peer joins again with the same credentials after a short backoff (bounded), or
after the server's ``retry_ms`` when it says it cannot take the room this moment.

The operator sends the demo's recorded landmarks at 30 a second on ``landmarks`` and a 440 Hz tone,
and opens the ``motion`` mirror; the customer opens ``motion`` and sends a 660 Hz tone. Both count
what they receive, stamped with ``time.monotonic`` and the connection it came on, so a test sees
motion and voice resume after its room's worker died."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import websockets
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from websockets.asyncio.client import ClientConnection

from rigging import landmark_packet
from rigging.codec import packet_header
from rigging.frame import parse_frame
from tests.network.peers import FRAME_S, VOICE_RMS, Tone, rtc_configuration

FRAMES = Path(__file__).resolve().parents[2] / "assets" / "demo" / "book.jsonl"
#: the pages' backoff between attempts (signaling.js RECONNECT.backoffMs), and how many in a row
BACKOFF_S = (0.3, 1.5, 4.0)
MAX_ATTEMPTS = 10
#: the server's "retry in retry_ms" answers in a row taken before counting them as failures
MAX_BUSY = 60


class Busy(Exception):
    """The server cannot take the room this moment and says when to try again."""

    def __init__(self, message: str, retry_ms: float) -> None:
        super().__init__(message)
        self.retry_ms = retry_ms


@dataclasses.dataclass
class Heard:
    #: arrival times (monotonic) of tracked motion packets (the operator's landmarks moving the
    #: avatar, not its idle motion) and of voiced audio frames, with the connection they came on
    motion: list[tuple[float, int]] = dataclasses.field(default_factory=list)
    voice: list[tuple[float, int]] = dataclasses.field(default_factory=list)
    #: when each connection's signaling answered (monotonic), and why each one ended
    answered: list[float] = dataclasses.field(default_factory=list)
    ended: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)

    def motion_after(self, t: float, connection: int = 0) -> int:
        """Tracked motion packets that arrived after ``t`` on a connection after ``connection``."""
        return sum(1 for at, c in self.motion if at > t and c > connection)

    def voice_after(self, t: float, connection: int = 0) -> int:
        return sum(1 for at, c in self.voice if at > t and c > connection)

    def first_motion_after(self, t: float, connection: int = 0) -> float | None:
        return next((at for at, c in self.motion if at > t and c > connection), None)

    def first_voice_after(self, t: float, connection: int = 0) -> float | None:
        return next((at for at, c in self.voice if at > t and c > connection), None)


class RoomLink:
    """``urls``: the room's signaling through each API process; an attempt that cannot reach one
    tries the next at its next attempt (as a load balancer in front of them would)."""

    def __init__(self, urls: str | list[str], join: dict[str, Any], role: str) -> None:
        self.urls = [urls] if isinstance(urls, str) else urls
        self.join, self.role = join, role
        self._url = 0
        self.heard = Heard()
        self.connection = 0
        self._frames = [parse_frame(json.loads(line)) for line in FRAMES.read_text().splitlines() if line]
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 15)

    async def _run(self) -> None:
        failures = busy = 0
        while not self._stop.is_set():
            delay: float | None = None
            try:
                why = await self._connect_once()
                failures = busy = 0
            except Busy as exc:  # no room server free this moment: not counted as a failure
                busy += 1
                why = f"busy: {exc}"
                delay = exc.retry_ms / 1000 if busy <= MAX_BUSY else None
                if delay is None:
                    failures += 1
            except Exception as exc:
                failures += 1
                if isinstance(exc, OSError):  # that API process is gone: the next one
                    self._url = (self._url + 1) % len(self.urls)
                why = f"{type(exc).__name__}: {exc}"
                self.heard.errors.append(why)
                if failures >= MAX_ATTEMPTS:
                    return
            self.heard.ended.append(why)
            if self._stop.is_set():
                return
            if delay is None:
                delay = BACKOFF_S[min(max(failures, 1), len(BACKOFF_S)) - 1]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _connect_once(self) -> str:
        """One connection, until it ends; returns why it ended."""
        self.connection += 1
        index = self.connection
        url = self.urls[self._url]
        ws: ClientConnection = await websockets.connect(url, open_timeout=10, max_size=2**20)
        pc: RTCPeerConnection | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            await ws.send(json.dumps({"type": "join", **self.join}))
            joined = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if joined.get("type") == "error" and joined.get("retry_ms"):
                raise Busy(str(joined.get("message")), float(joined["retry_ms"]))
            if joined.get("type") != "joined":
                raise RuntimeError(f"join refused: {joined}")
            pc = RTCPeerConnection(rtc_configuration(joined.get("ice") or {"iceServers": []}))
            failed = asyncio.Event()
            peer = pc

            @pc.on("connectionstatechange")
            def on_state() -> None:
                if peer.connectionState in ("failed", "closed"):
                    failed.set()

            motion = pc.createDataChannel("motion", ordered=False, maxRetransmits=0)

            @motion.on("message")
            def on_motion(message: bytes) -> None:
                if packet_header(message)[2]:
                    self.heard.motion.append((time.monotonic(), index))

            landmarks = None
            if self.role == "operator":
                landmarks = pc.createDataChannel("landmarks", ordered=False, maxRetransmits=0)
            pc.addTransceiver(Tone(440.0 if self.role == "operator" else 660.0), direction="sendrecv")

            @pc.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                if track.kind == "audio":
                    tasks.append(asyncio.create_task(self._listen(track, index)))

            await pc.setLocalDescription(await pc.createOffer())
            await ws.send(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}))
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if reply.get("type") == "answer":
                    break
                if reply.get("type") in ("error", "left"):
                    raise RuntimeError(f"signaling: {reply}")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
            self.heard.answered.append(time.monotonic())
            if landmarks is not None:
                tasks.append(asyncio.create_task(self._send_landmarks(landmarks)))
            closed = asyncio.ensure_future(ws.wait_closed())
            waits = {closed, asyncio.ensure_future(failed.wait()), asyncio.ensure_future(self._stop.wait())}
            done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for wait in pending:
                wait.cancel()
            if closed in done:
                return f"signaling closed ({ws.close_code})"
            return "peer failed" if failed.is_set() else "stopped"
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 3)
            if pc is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pc.close(), 5)

    async def _listen(self, track: MediaStreamTrack, index: int) -> None:
        # Where a live room ran in this test process before, aiortc's receivers here hand out the
        # encoded Opus packets (avatar_care.live.audio_relay patches them process-wide): decode them.
        decoder: av.CodecContext | None = None
        with contextlib.suppress(Exception):  # the track ends with its connection
            while True:
                item = await track.recv()
                if isinstance(item, av.Packet):
                    decoder = decoder or av.CodecContext.create("opus", "r")
                    frames = list(decoder.decode(item))
                else:
                    frames = [item]
                for frame in frames:
                    samples = frame.to_ndarray().astype(np.float64)
                    if frame.format.name in ("flt", "fltp"):  # FFmpeg's Opus decoder: -1..1, not s16
                        samples *= 32768.0
                    if float(np.sqrt(np.mean(samples * samples))) > VOICE_RMS:
                        self.heard.voice.append((time.monotonic(), index))

    async def _send_landmarks(self, channel: Any) -> None:
        start = time.monotonic()
        n = 0
        while True:
            if channel.readyState == "open":
                frame = dataclasses.replace(
                    self._frames[n % len(self._frames)], t_ms=1000.0 + n * FRAME_S * 1000
                )
                channel.send(landmark_packet.encode(frame))
            n += 1
            await asyncio.sleep(max(0.0, start + n * FRAME_S - time.monotonic()))
