"""What server capture's frame path costs the event loop: ``python benchmarks/capture_frame_path.py``.

Real frames: the signing clip (../shared/media/asl/book.mkv) encoded to VP8 and decoded again, as
aiortc hands the operator's camera to the room (I420). For each way of getting a frame into the
worker's shared-memory slot, and each way of getting its landmarks back into the hub, the time the
event loop spends per frame (CPU time of this process, median over the clip five times, so that
other work on the machine changes it less than wall time). Also: what the worker then spends
converting, the VP8 decoder's cost at the camera's size and at the inference size, and the
landmarker's CPU time at several inference sizes.
"""

from __future__ import annotations

import fractions
import json
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av
import cv2
import numpy as np

from avatar_care.capture.frame_slot import FrameSlot
from avatar_care.capture.holistic import HolisticCapture
from avatar_care.capture.video import read_video
from rigging.frame import parse_frame

CLIP = Path(__file__).resolve().parents[2] / "shared" / "media" / "asl" / "book.mkv"
SIZE = 512


def vp8_round_trip(rgbs: list[np.ndarray], width: int, height: int) -> tuple[list[Any], list[float]]:
    """The frames as a VP8 decoder gives them, and the decoder's CPU ms per frame."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 30)
    decoder = av.CodecContext.create("libvpx", "r")
    frames, costs = [], []
    for i, rgb in enumerate(rgbs):
        frame = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(cv2.resize(rgb, (width, height))), format="rgb24"
        )
        frame = frame.reformat(format="yuv420p")
        frame.pts = i
        for packet in encoder.encode(frame):
            started = time.process_time()
            decoded = decoder.decode(packet)
            costs.append((time.process_time() - started) * 1000.0)
            frames += decoded
    return frames, costs


def per_frame_ms(work: Callable[[Any], object], items: list[Any], repeat: int = 5) -> float:
    costs = []
    for _ in range(repeat):
        for item in items:
            started = time.process_time()
            work(item)
            costs.append((time.process_time() - started) * 1000.0)
    return statistics.median(costs)


def main() -> int:
    rgbs = [rgb for _, rgb in read_video(CLIP)]
    frames, decode_full = vp8_round_trip(rgbs, 640, 480)
    small, decode_small = vp8_round_trip(rgbs, 512, 384)
    slot = FrameSlot.create(SIZE)
    canvas = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)

    def planes_of(frame: Any) -> list[np.ndarray]:
        out = []
        for i, plane in enumerate(frame.planes):
            rows, cols = (frame.height, frame.width) if i == 0 else (frame.height // 2, frame.width // 2)
            out.append(np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)[:rows, :cols])
        return out

    def i420_planes(frame: Any) -> None:  # what server capture does
        slot.write(planes_of(frame), frame.width, frame.height, 0.0, 0.0)

    def i420_ndarray(frame: Any) -> None:
        y = frame.to_ndarray(format="yuv420p")
        h = frame.height
        w = frame.width
        slot.write(
            [y[:h], y[h : h + h // 4].reshape(h // 2, w // 2), y[h + h // 4 :].reshape(h // 2, w // 2)],
            w,
            h,
            0.0,
            0.0,
        )

    def rgb_letterbox_area(frame: Any) -> None:  # resizing in the server, as HolisticCapture does
        rgb = frame.to_ndarray(format="rgb24")
        canvas[64:448] = cv2.resize(rgb, (512, 384), interpolation=cv2.INTER_AREA)

    def rgb_letterbox_linear(frame: Any) -> None:
        rgb = frame.to_ndarray(format="rgb24")
        cv2.resize(rgb, (512, 384), dst=canvas[64:448], interpolation=cv2.INTER_LINEAR)

    def rgb_swscale(frame: Any) -> None:
        canvas[64:448] = frame.reformat(width=512, height=384, format="rgb24").to_ndarray()

    print("event loop, ms a frame (median CPU time), frame into the slot:")
    for name, work, items in (
        ("I420 planes copied as decoded (640x480)", i420_planes, frames),
        ("I420 planes copied as decoded (512x384, as sent)", i420_planes, small),
        ("I420 through to_ndarray (640x480)", i420_ndarray, frames),
        ("RGB + letterbox in the server, cv2 INTER_AREA", rgb_letterbox_area, frames),
        ("RGB + letterbox in the server, cv2 INTER_LINEAR", rgb_letterbox_linear, frames),
        ("RGB + letterbox in the server, libswscale", rgb_swscale, frames),
    ):
        print(f"  {name:50s} {per_frame_ms(work, items):6.3f}")

    i420 = frames[40].to_ndarray(format="yuv420p")
    with HolisticCapture(size=SIZE) as capture:
        tracked = [
            capture.process(np.ascontiguousarray(cv2.resize(rgb, (640, 480))), i * 33.3)
            for i, rgb in enumerate(rgbs)
        ]
    messages = [json.dumps(f.to_json()) for f in tracked]
    pickles = [pickle.dumps(f, protocol=pickle.HIGHEST_PROTOCOL) for f in tracked]
    print("event loop, ms a frame, landmarks into the hub:")
    print(
        f"  {'JSON: json.loads + parse_frame (on_frame)':50s} {per_frame_ms(lambda m: parse_frame(json.loads(m)), messages):6.3f}"
    )
    print(f"  {'pickled TrackingFrame (on_tracking; chosen)':50s} {per_frame_ms(pickle.loads, pickles):6.3f}")
    print("worker, ms a frame:")
    print(
        f"  {'I420 to RGB + letterbox (cv2)':50s} "
        f"{per_frame_ms(lambda y: cv2.resize(cv2.cvtColor(y, cv2.COLOR_YUV2RGB_I420), (512, 384), interpolation=cv2.INTER_AREA), [i420]):6.3f}"
    )
    print("VP8 decoding (aiortc's decoder thread), ms a frame:")
    print(f"  {'640x480':50s} {statistics.median(decode_full):6.3f}")
    print(
        f"  {'512x384 (the console scales to the inference size)':50s} {statistics.median(decode_small):6.3f}"
    )
    print("landmarker CPU ms a frame by inference size (hands found in 109 frames x 2):")
    for size in (512, 384, 256):
        with HolisticCapture(size=size) as capture:
            costs, hands = [], 0
            for i, rgb in enumerate(rgbs):
                started = time.process_time()
                f = capture.process(np.ascontiguousarray(cv2.resize(rgb, (640, 480))), i * 33.3)
                costs.append((time.process_time() - started) * 1000.0)
                hands += (f.left_hand_world is not None) + (f.right_hand_world is not None)
        print(f"  {size:<50d} {statistics.median(costs):6.1f}   hands {hands}")
    slot.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
