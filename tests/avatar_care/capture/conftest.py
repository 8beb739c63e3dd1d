from __future__ import annotations

import pytest

from avatar_care.capture.holistic import HolisticCapture
from avatar_care.capture.video import read_video
from rigging.frame import TrackingFrame
from tests.shared_data import shared

Captured = tuple[list[TrackingFrame], list[object]]


def capture_clip(name: str) -> Captured:
    """MediaPipe (VIDEO mode) on one of the shared webcam clips: frames and raw results."""
    frames: list[TrackingFrame] = []
    raw: list[object] = []
    with HolisticCapture() as capture:
        for t_ms, rgb in read_video(shared(f"media/asl/{name}.mkv")):
            frames.append(capture.process(rgb, t_ms))
            raw.append(capture.last_result)
    return frames, raw


@pytest.fixture(scope="session")
def book_clip() -> Captured:
    """A person signing "book": both hands come up together in front of the chest."""
    return capture_clip("book")


@pytest.fixture(scope="session")
def no_clip() -> Captured:
    """A person signing "no": one hand up, the other apart from it."""
    return capture_clip("no")
