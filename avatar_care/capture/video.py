"""Reading recorded video as RGB frames with their timestamps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray


class VideoError(ValueError):
    """A file that cannot be read as video."""


def read_video(path: Path, every: int = 1) -> Iterator[tuple[float, NDArray[np.uint8]]]:
    """Yield ``(t_ms, rgb)`` for every ``every``-th frame of a video file."""
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: not a video this machine can decode")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    try:
        index = 0
        produced = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if index % every == 0:
                produced += 1
                yield index * 1000.0 / fps, np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
            index += 1
        if produced == 0:
            raise VideoError(f"{path}: no frames could be decoded")
    finally:
        cap.release()
