"""The shared-memory frame slot: one frame, latest wins, never half a frame."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from avatar_care.capture.frame_slot import FrameSlot, SlotError


def planes(width: int, height: int, value: int) -> list[np.ndarray]:
    y = np.full((height, width), value, dtype=np.uint8)
    u = np.full((height // 2, width // 2), value + 1, dtype=np.uint8)
    v = np.full((height // 2, width // 2), value + 2, dtype=np.uint8)
    return [y, u, v]


@pytest.fixture
def slots() -> Iterator[tuple[FrameSlot, FrameSlot]]:
    writer = FrameSlot.create(64)
    reader = FrameSlot.attach(writer.name)
    yield writer, reader
    reader.close()
    writer.close()


def test_the_reader_gets_the_newest_frame_once(slots: tuple[FrameSlot, FrameSlot]) -> None:
    writer, reader = slots
    assert reader.read(0) is None  # nothing written yet
    writer.write(planes(16, 8, 10), 16, 8, 100.0, 5.0)
    writer.write(planes(16, 8, 20), 16, 8, 133.0, 6.0)  # replaces the first, unread
    frame = reader.read(0)
    assert frame is not None
    assert (frame.number, frame.width, frame.height, frame.t_ms, frame.origin_ms) == (2, 16, 8, 133.0, 6.0)
    assert frame.i420.shape == (12, 16)
    assert np.all(frame.i420[:8] == 20) and np.all(frame.i420[8:10] == 21) and np.all(frame.i420[10:] == 22)
    assert writer.taken == 2  # the writer sees that frame 2 was taken, and frame 1 never was
    assert reader.read(2) is None  # the same frame is not read twice


def test_strided_planes_are_packed_and_a_torn_frame_is_never_read(slots: tuple[FrameSlot, FrameSlot]) -> None:
    writer, reader = slots
    wide = np.arange(8 * 32, dtype=np.uint8).reshape(8, 32)
    y = wide[:, :16]  # rows 32 bytes apart, as a decoder's line size may be
    u, v = planes(16, 8, 0)[1:]
    writer.write([y, u, v], 16, 8, 0.0, 0.0)
    frame = reader.read(0)
    assert frame is not None and np.array_equal(frame.i420[:8], y)
    # a write under way (odd sequence) makes the reader wait, then give up rather than read it
    writer._header[0]["seq"] += 1
    writer.write(planes(16, 8, 50), 16, 8, 1.0, 1.0)  # seq stays odd: this write looks unfinished
    assert reader.read(frame.number) is None


def test_frames_that_do_not_fit_are_refused(slots: tuple[FrameSlot, FrameSlot]) -> None:
    writer, _ = slots
    with pytest.raises(SlotError, match="does not fit"):
        writer.write(planes(128, 96, 0), 128, 96, 0.0, 0.0)  # 18,432 bytes in a 12,288-byte slot
    with pytest.raises(SlotError, match="not I420 planes"):
        writer.write(planes(16, 8, 0)[:2], 16, 8, 0.0, 0.0)
    with pytest.raises(SlotError, match="not I420 planes"):
        writer.write(planes(15, 8, 0), 15, 8, 0.0, 0.0)
    assert writer.written == 0
