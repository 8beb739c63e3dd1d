from __future__ import annotations

import pytest

from avatar_care.capture.holistic import HolisticCapture
from avatar_care.capture.video import read_video
from rigging.frame import TrackingFrame
from tests.shared_data import shared


@pytest.fixture(scope="session")
def book_clip() -> tuple[list[TrackingFrame], list[object]]:
    """MediaPipe on a real webcam clip: a person signing "book", both hands up in front of the chest."""
    frames: list[TrackingFrame] = []
    raw: list[object] = []
    with HolisticCapture() as capture:
        for t_ms, rgb in read_video(shared("media/asl/book.mkv")):
            frames.append(capture.process(rgb, t_ms))
            raw.append(capture.last_result)
    return frames, raw
