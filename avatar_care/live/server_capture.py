"""Server capture for one room: the operator's camera track in, tracking frames to the room's hub out.

MediaPipe runs in a worker process of the room's own (``avatar_care.capture.worker_process``,
spawned, at a lower priority), not in the server's interpreter: about 40 ms of inference a frame,
plus the interpreter time around it, would otherwise compete with every room's event loop (in a
thread it starved the server's HTTP requests on two cores). Frames cross as raw I420 pixels through
one shared-memory slot (``avatar_care.capture.frame_slot``): latest frame wins, a frame replaced
before the worker took it is counted as dropped, nothing ever queues. Landmarks come back through a
pipe that the event loop watches, already checked, and go to the hub's ``on_tracking`` (the path
of a console's frames after parsing) with their capture age: from the moment the sender captured
the frame when its RTCP sender reports say so (``sender_clock``), else from the frame's arrival
here.

A worker that dies (killed, out of memory, a crash in MediaPipe) is logged, counted
(``CaptureStats.crashes``), reported through ``on_event`` (the room tells the operator) and
restarted, up to ``MAX_RESTARTS`` times; the room and every other room go on. The worker ends with
``stop()``: the room closing, the operator leaving or switching to edge capture.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Final

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from avatar_care.capture.frame_slot import FrameSlot, SlotError
from avatar_care.capture.worker_process import FAILED, FRAME, NICENESS, READY, RESULT, run_worker
from avatar_care.live.sender_clock import SenderClock
from rigging.frame import TrackingFrame

logger = logging.getLogger(__name__)

INFERENCE_SIZE: Final = 512
MAX_RESTARTS: Final = 3
STOP_WAIT_S: Final = 3.0
TRANSITS_KEPT: Final = 64  # frames' transits kept until their landmarks come back (2 s at 30 a second)

#: Where the landmarks go: ``MotionHub.on_tracking(frame, capture_age_ms)``.
OnTracking = Callable[[TrackingFrame, float | None], object]
#: What the room hears from its capture: ``(state, message)``, state one of "ready", "restarting",
#: "failed" (no more restarts).
CaptureEvent = Callable[[str, str], None]


def _recent() -> deque[float]:
    return deque(maxlen=1000)


def _recent_pairs() -> deque[tuple[float, float]]:
    return deque(maxlen=1000)


@dataclass
class CaptureStats:
    offered: int = 0  # frames written to the slot
    processed: int = 0  # frames whose landmarks came back
    dropped: int = 0  # frames replaced before the worker took them, or lost with a dead worker
    failed: int = 0  # frames the landmarker raised on
    crashes: int = 0  # workers that ended on their own
    reformatted: int = 0  # frames that had to be converted or scaled on the event loop first
    #: ms from the sender's camera to the decoded frame here (the video's share of the capture
    #: hop), for frames whose capture time the sender's reports give
    transit_ms: deque[float] = field(default_factory=_recent)
    #: (transit, capture hop) in ms of each frame whose landmarks came back with its transit known:
    #: the transit is part of that frame's hop. (The newest arrivals' transits against the newest
    #: hops compared different frames: those replaced unread, and those that came while the
    #: sender's clock was not known, whose hop has no transit in it.)
    processed_transit_ms: deque[tuple[float, float]] = field(default_factory=_recent_pairs)


class ProcessCapture:
    """One room's capture worker process and its frame slot."""

    def __init__(
        self,
        room_id: str,
        on_tracking: OnTracking,
        stats: CaptureStats | None = None,
        on_event: CaptureEvent | None = None,
        size: int = INFERENCE_SIZE,
        niceness: int = NICENESS,
    ) -> None:
        self.room_id = room_id
        self._on_tracking = on_tracking
        self._on_event = on_event
        self.stats = stats or CaptureStats()
        self.size = size
        self._niceness = niceness
        self._loop = asyncio.get_running_loop()
        self._slot = FrameSlot.create(size)
        self._recently_dropped: deque[int] = deque(maxlen=8)
        self._transits: dict[int, float] = {}  # slot number -> the frame's transit, until it comes back
        self._last_result = 0
        self._restarts = 0
        self._stopping = False
        self._restarting: asyncio.Task[None] | None = None
        self.ready = False
        self._process: BaseProcess | None = None
        self._wake: Connection | None = None
        self._results: Connection | None = None
        self._start_worker()

    def fits(self, width: int, height: int) -> bool:
        return self._slot.fits(width, height)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _start_worker(self) -> None:
        context = multiprocessing.get_context("spawn")
        wake_in, wake_out = context.Pipe(duplex=False)
        results_in, results_out = context.Pipe(duplex=False)
        process = context.Process(
            target=run_worker,
            args=(self._slot.name, wake_in, results_out, self.size, self._niceness),
            name=f"capture-{self.room_id}",
            daemon=True,  # never outlives the server
        )
        process.start()
        # The worker's ends belong to it now: with ours closed, its death shows as end of file.
        wake_in.close()
        results_out.close()
        # Waking the worker must never block the event loop: a full pipe means wake-ups are pending.
        os.set_blocking(wake_out.fileno(), False)
        self._process, self._wake, self._results = process, wake_out, results_in
        self.ready = False
        self._loop.add_reader(results_in.fileno(), self._on_result)
        logger.info("room %s: capture worker %d started", self.room_id, process.pid)

    def offer(
        self,
        planes: list[Any],
        width: int,
        height: int,
        t_ms: float,
        origin_ms: float,
        transit_ms: float | None = None,
    ) -> None:
        """Put a frame (I420 planes) in the slot for the worker; the one still waiting, if any, goes.
        ``transit_ms``: the frame's time from the sender's camera, where known (CaptureStats)."""
        if self._stopping:
            return
        previous = self._slot.written
        self._slot.write(planes, width, height, t_ms, origin_ms)
        self.stats.offered += 1
        if transit_ms is not None:
            self._transits[self._slot.written] = transit_ms
            while len(self._transits) > TRANSITS_KEPT:  # (dicts keep their order: the oldest first)
                del self._transits[next(iter(self._transits))]
        if previous and self._slot.taken < previous:
            # Replaced unread. (The worker may be finishing its copy right now; if its landmarks do
            # come back, the count is undone in _on_result.)
            self.stats.dropped += 1
            self._recently_dropped.append(previous)
        if self._wake is not None:
            try:
                self._wake.send_bytes(b"")
            except BlockingIOError:
                pass  # the worker has wake-ups waiting already
            except OSError:
                pass  # the worker is gone; _on_result sees its end and deals with it

    def _on_result(self) -> None:
        results = self._results
        if results is None:
            return
        try:
            data = results.recv_bytes()
        except (EOFError, OSError):
            self._worker_ended()
            return
        kind = data[:1]
        if kind == READY:
            self.ready = True
            self._event("ready", "server capture is tracking")
            return
        number, origin_ms = RESULT.unpack_from(data, 1)
        if number in self._recently_dropped:  # counted as dropped as the worker was taking it
            self._recently_dropped.remove(number)
            self.stats.dropped -= 1
        self._last_result = max(self._last_result, number)
        body = data[1 + RESULT.size :]
        if kind == FAILED:
            self.stats.failed += 1
            logger.warning(
                "room %s: server capture: frame %d failed: %s", self.room_id, number, body.decode()
            )
            return
        if kind != FRAME:
            logger.error("room %s: capture worker sent an unknown message %r", self.room_id, kind)
            return
        self.stats.processed += 1
        frame = pickle.loads(body)  # from the worker this process started, never from a peer
        # the age runs to the moment the landmarks reach the event loop
        age = time.monotonic() * 1000.0 - origin_ms
        transit = self._transits.pop(number, None)
        if transit is not None:
            self.stats.processed_transit_ms.append((transit, age))
        self._on_tracking(frame, age)

    def _detach(self) -> BaseProcess | None:
        if self._results is not None:
            self._loop.remove_reader(self._results.fileno())
            self._results.close()
        if self._wake is not None:
            self._wake.close()  # the worker sees end of file and ends
        process, self._process, self._wake, self._results = self._process, None, None, None
        return process

    def _worker_ended(self) -> None:
        process = self._detach()
        if self._stopping:
            return
        self.stats.crashes += 1
        if self._slot.taken > self._last_result:  # the frame it was working on died with it
            self.stats.dropped += 1
            self._last_result = self._slot.taken
        # reaped and restarted off the event loop's time: frames keep landing in the slot meanwhile
        restart = self._loop.create_task(self._restart(process))
        self._restarting = restart

    async def _restart(self, process: BaseProcess | None) -> None:
        if process is not None:
            await asyncio.to_thread(process.join, 1.0)  # its pipe is closed: it is gone or all but
        code = process.exitcode if process is not None else None
        message = f"the capture worker ended unexpectedly (exit code {code})"
        logger.error("room %s: %s", self.room_id, message)
        if self._stopping:
            return
        if self._restarts < MAX_RESTARTS:
            self._restarts += 1
            self._event("restarting", f"{message}; restarting it ({self._restarts} of {MAX_RESTARTS})")
            self._start_worker()
        else:
            self._event("failed", f"{message}; server capture has stopped, edge capture still works")

    def _event(self, state: str, message: str) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(state, message)
        except Exception:  # the operator's channel may be closing; the capture goes on
            logger.exception("room %s: reporting the capture's state failed", self.room_id)

    async def stop(self) -> None:
        """End the worker (and free the slot); waits off the event loop."""
        if self._stopping:
            return
        self._stopping = True
        if self._restarting is not None:
            await self._restarting  # a worker it is starting must be ended too
        process = self._detach()
        if process is not None:
            await asyncio.to_thread(process.join, STOP_WAIT_S)
            if process.is_alive():  # busy in an inference that does not end: make it
                logger.warning(
                    "room %s: capture worker %d did not end; killing it", self.room_id, process.pid
                )
                process.kill()
                await asyncio.to_thread(process.join, STOP_WAIT_S)
        self._slot.close()


def _planes(frame: Any, slot_fits: Callable[[int, int], bool]) -> tuple[list[Any], int, int, bool]:
    """The frame's I420 planes as 2-D views (no copy when the decoder's output is I420 already and fits
    the slot); a frame of another format or size is converted, which costs the event loop more."""
    import numpy as np

    converted = False
    width, height = int(frame.width) & ~1, int(frame.height) & ~1
    if not slot_fits(width, height):
        scale = min(1.0, (INFERENCE_SIZE * INFERENCE_SIZE * 2 / (width * height)) ** 0.5)
        width, height = int(width * scale) & ~1, int(height * scale) & ~1
    if frame.format.name != "yuv420p" or (width, height) != (frame.width, frame.height):
        frame = frame.reformat(width=width, height=height, format="yuv420p")
        converted = True
    planes = []
    for i, plane in enumerate(frame.planes):
        rows, cols = (height, width) if i == 0 else (height // 2, width // 2)
        data = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
        planes.append(data[:rows, :cols])
    return planes, width, height, converted


async def capture_track(
    track: MediaStreamTrack, capture: ProcessCapture, clock: SenderClock | None = None
) -> None:
    """Feed a received video track's frames to ``capture`` until the track ends."""
    start: float | None = None
    try:
        while True:
            frame: Any = await track.recv()
            arrived_ms = time.monotonic() * 1000.0
            pts, base = getattr(frame, "pts", None), getattr(frame, "time_base", None)
            t_ms = float(pts * base * 1000) if pts is not None and base is not None else arrived_ms
            if start is None:
                start = t_ms
            captured_ms = clock.capture_monotonic_ms(pts) if clock is not None and pts is not None else None
            try:
                planes, width, height, converted = _planes(frame, capture.fits)
                capture.stats.reformatted += converted
                transit = None if captured_ms is None else arrived_ms - captured_ms
                if transit is not None:
                    capture.stats.transit_ms.append(transit)
                origin_ms = arrived_ms if captured_ms is None else captured_ms
                capture.offer(planes, width, height, t_ms - start, origin_ms, transit)
            except SlotError as exc:  # a frame this slot cannot take: skipped, the next may do
                logger.warning("room %s: server capture skipped a frame: %s", capture.room_id, exc)
    except MediaStreamError:
        return
