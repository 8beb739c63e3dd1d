"""Server capture for one room: the operator's camera track in, tracking frames to the room's hub out.

MediaPipe runs in a worker thread of its own (about 40 ms a frame at 640x480 on this machine, more
than a 30 fps camera's 33 ms), so the event loop, and every other room, never waits for it. Latest
frame wins: the worker holds one pending frame; a camera frame arriving while the previous one is
still pending replaces it (counted in ``dropped``), so nothing queues and latency stays bounded at
about one inference. The landmarks are handed to the hub on the event loop, as if they had come
from a console's data channel, with their age since the frame arrived as ``capture_age_ms``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from numpy.typing import NDArray

logger = logging.getLogger(__name__)


@dataclass
class CaptureStats:
    offered: int = 0
    processed: int = 0
    dropped: int = 0
    failed: int = 0


class LatestFrameCapture:
    """A worker thread running the holistic landmarker on the newest frame only."""

    def __init__(self, on_frame: Callable[[str], object], loop: asyncio.AbstractEventLoop) -> None:
        self._on_frame = on_frame
        self._loop = loop
        self._cond = threading.Condition()
        self._pending: tuple[NDArray[np.uint8], float, float] | None = None
        self._stopped = False
        self.stats = CaptureStats()
        self._thread = threading.Thread(target=self._run, name="server-capture", daemon=True)
        self._thread.start()

    def offer(self, rgb: NDArray[np.uint8], t_ms: float) -> None:
        with self._cond:
            self.stats.offered += 1
            if self._pending is not None:
                self.stats.dropped += 1  # inference is behind the camera: the older frame goes
            self._pending = (rgb, t_ms, time.perf_counter())
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        from avatar_care.capture.holistic import HolisticCapture

        with HolisticCapture() as capture:
            while True:
                with self._cond:
                    while self._pending is None and not self._stopped:
                        self._cond.wait()
                    if self._stopped:
                        return
                    assert self._pending is not None
                    rgb, t_ms, arrived = self._pending
                    self._pending = None
                try:
                    frame = capture.process(rgb, t_ms)
                except Exception:  # one bad frame must not end the room's capture
                    self.stats.failed += 1
                    logger.exception("server capture: a frame failed")
                    continue
                self.stats.processed += 1
                message = frame.to_json() | {"capture_age_ms": (time.perf_counter() - arrived) * 1000.0}
                if self._stopped:
                    return
                try:
                    self._loop.call_soon_threadsafe(self._on_frame, json.dumps(message))
                except RuntimeError:  # the event loop has closed under a room being shut down
                    return


async def capture_track(track: MediaStreamTrack, capture: LatestFrameCapture) -> None:
    """Feed a received video track's frames to ``capture`` until the track ends."""
    start: float | None = None
    try:
        while True:
            frame = await track.recv()
            pts = getattr(frame, "pts", None)
            base = getattr(frame, "time_base", None)
            t_ms = (
                float(pts * base * 1000) if pts is not None and base is not None else time.monotonic() * 1000
            )
            if start is None:
                start = t_ms
            capture.offer(frame.to_ndarray(format="rgb24"), t_ms - start)  # type: ignore[union-attr]
    except MediaStreamError:
        return
