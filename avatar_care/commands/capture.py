"""``avatar-care capture``: MediaPipe's holistic landmarker on a video file, as tracking frames."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "capture",
        help="track a person in a video file and write tracking frames (JSON Lines)",
        description="Runs MediaPipe's holistic landmarker (pose, hands, face blendshapes) on every frame "
        "and writes one tracking frame per line, the input of 'avatar-care retarget'. VIDEO mode (the "
        "default) smooths landmarks already: retarget its output with --no-filter.",
    )
    p.add_argument("video", type=Path, help="a video file OpenCV can read")
    p.add_argument("output", type=Path, help="tracking frames, JSON Lines ('-' for standard output)")
    p.add_argument("--every", type=int, default=1, help="keep every N-th frame (default 1)")
    p.add_argument("--image-mode", action="store_true", help="run MediaPipe frame by frame, unsmoothed")
    p.set_defaults(func=run_capture)


def run_capture(args: argparse.Namespace) -> int:
    from avatar_care.capture.holistic import HolisticCapture
    from avatar_care.capture.video import VideoError, read_video

    if args.every < 1:
        print("avatar-care: --every takes a whole number of at least 1", file=sys.stderr)
        return 2
    lines: list[str] = []
    found = 0
    try:
        with HolisticCapture(video_mode=not args.image_mode) as capture:
            for t_ms, rgb in read_video(args.video, args.every):
                frame = capture.process(rgb, t_ms)
                found += frame.pose_world is not None
                lines.append(json.dumps(frame.to_json(), separators=(",", ":")))
    except VideoError as exc:
        print(f"avatar-care: {exc}", file=sys.stderr)
        return 2
    text = "\n".join(lines) + "\n"
    if str(args.output) == "-":
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    print(f"avatar-care capture: {len(lines)} frame(s), a person found in {found}", file=sys.stderr)
    return 0
