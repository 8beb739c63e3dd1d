"""One video frame shared between the server and its capture worker: a single slot, latest wins.

The server writes each decoded camera frame into a block of shared memory; the worker copies out
whatever frame is there when it is ready for the next one. There is never a queue: a frame written
while the one before is still unread replaces it. Frames are numbered; the reader writes
the number of each frame it copies out into ``taken``, so the writer knows, when it replaces a
frame, whether that one was ever read (if not, it was dropped). The writer never waits for the
reader and there is no lock that a killed worker could leave held.

Consistency is a sequence lock: the writer makes the header's ``seq`` odd, writes, and makes it
even again; a reader that saw an odd ``seq``, or a different one after its copy, retries. Only the
server writes frames and only the worker reads them (and writes ``taken``).

Pixels cross as the decoder gives them, planar I420 (Y, then U and V at half size): copying the
planes costs the event loop about 0.05 ms a frame at 640x480, where converting to RGB and
letterboxing to the inference size there costs 0.6-2.3 ms (docs/live-room.md); the worker, which
has the time, converts and letterboxes. The slot's capacity is one RGB frame at the inference size,
so a 640x480 I420 frame (460,800 bytes) fits in a 512x512 slot (786,432 bytes); larger frames are
scaled down by the writer to fit.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Final

import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

_HEADER_DTYPE: Final = np.dtype(
    [
        ("seq", "<u8"),  # the sequence lock: odd while a write is under way
        ("frame", "<u8"),  # the frame's number, 1, 2, 3, ...; 0 before the first
        ("width", "<u4"),
        ("height", "<u4"),
        ("t_ms", "<f8"),  # the frame's media time, for the landmarker's VIDEO mode
        ("origin_ms", "<f8"),  # time.monotonic() ms at which the frame's age starts counting
        ("taken", "<u8"),  # the last frame number the reader copied out; written by the reader only
    ]
)
HEADER_BYTES: Final = 64
READ_ATTEMPTS: Final = 50


class SlotError(ValueError):
    """A frame the slot cannot hold."""


@dataclass(frozen=True)
class SlotFrame:
    number: int
    width: int
    height: int
    t_ms: float
    origin_ms: float
    i420: NDArray[np.uint8]  # (height * 3 // 2, width), the reader's own copy


def i420_bytes(width: int, height: int) -> int:
    return width * height * 3 // 2


class FrameSlot:
    """The shared block; ``create`` in the server, ``attach`` in the worker."""

    def __init__(self, memory: shared_memory.SharedMemory, owner: bool) -> None:
        self._memory = memory
        self._owner = owner
        buf = memory.buf
        assert buf is not None
        self._header = np.ndarray((1,), dtype=_HEADER_DTYPE, buffer=buf, offset=0)
        self.capacity = memory.size - HEADER_BYTES
        self._pixels = np.ndarray((self.capacity,), dtype=np.uint8, buffer=buf, offset=HEADER_BYTES)
        self._written = 0

    @classmethod
    def create(cls, inference_size: int) -> FrameSlot:
        size = HEADER_BYTES + inference_size * inference_size * 3
        return cls(shared_memory.SharedMemory(create=True, size=size), owner=True)

    @classmethod
    def attach(cls, name: str) -> FrameSlot:
        # A spawned worker shares the server's resource tracker (the block exists before the worker
        # starts), so attaching registers nothing new and the block outlives a killed worker.
        return cls(shared_memory.SharedMemory(name=name), owner=False)

    @property
    def name(self) -> str:
        return self._memory.name

    def fits(self, width: int, height: int) -> bool:
        return i420_bytes(width, height) <= self.capacity

    @property
    def written(self) -> int:
        """The number of the last frame written."""
        return self._written

    @property
    def taken(self) -> int:
        """The number of the last frame the reader copied out."""
        return int(self._header[0]["taken"])

    def write(
        self, planes: list[NDArray[np.uint8]], width: int, height: int, t_ms: float, origin_ms: float
    ) -> int:
        """Put one I420 frame (its Y, U and V planes, 2-D, possibly strided) in the slot; returns
        its number."""
        expected = [(height, width), (height // 2, width // 2), (height // 2, width // 2)]
        shapes = [p.shape for p in planes]
        if width % 2 or height % 2 or shapes != expected:
            raise SlotError(f"not I420 planes of {width}x{height}: {shapes}")
        if not self.fits(width, height):
            raise SlotError(f"an I420 frame of {width}x{height} does not fit a slot of {self.capacity} bytes")
        header = self._header[0]
        header["seq"] += 1
        offset = 0
        for plane in planes:
            rows, cols = plane.shape
            self._pixels[offset : offset + rows * cols].reshape(rows, cols)[:] = plane
            offset += rows * cols
        self._written += 1
        header["frame"] = self._written
        header["width"] = width
        header["height"] = height
        header["t_ms"] = t_ms
        header["origin_ms"] = origin_ms
        header["seq"] += 1
        return self._written

    def read(self, after: int) -> SlotFrame | None:
        """The frame in the slot if it is newer than frame ``after``; None if there is none yet."""
        header = self._header[0]
        for _ in range(READ_ATTEMPTS):
            seq = int(header["seq"])
            if seq % 2:
                time.sleep(0.0005)  # a write is under way: it takes a twentieth of a millisecond
                continue
            number = int(header["frame"])
            if number <= after:
                return None
            width, height = int(header["width"]), int(header["height"])
            t_ms, origin_ms = float(header["t_ms"]), float(header["origin_ms"])
            pixels = self._pixels[: i420_bytes(width, height)].copy()
            if int(header["seq"]) == seq:
                header["taken"] = number
                return SlotFrame(
                    number, width, height, t_ms, origin_ms, pixels.reshape(height * 3 // 2, width)
                )
        logger.warning("frame slot: no consistent frame after %d attempts", READ_ATTEMPTS)
        return None

    def close(self) -> None:
        # the numpy views hold the buffer: drop them before closing the mapping
        del self._header, self._pixels
        self._memory.close()
        if self._owner:
            self._memory.unlink()
