"""``avatar-care retarget`` and ``avatar-care calibrate``: the retargeting core on files."""

from __future__ import annotations

import argparse
import json
import sys
import wave
from pathlib import Path

import numpy as np

from rigging.audio_visemes import AudioVisemes
from rigging.calibration import Calibration
from rigging.frame import FrameError
from rigging.idle import Liveliness
from rigging.jsonl import StreamReport, read_frames
from rigging.solver import Retargeter, SolverOptions


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "retarget",
        help="turn tracking frames (JSON Lines) into VRM humanoid poses (JSON Lines)",
        description="Reads MediaPipe tracking frames, one JSON object per line, and writes one VRM 1.0 "
        "humanoid pose per usable line, in order. Unusable lines are skipped and reported "
        "(see docs/retargeting.md); --strict stops at the first one instead.",
    )
    p.add_argument("input", type=Path, help="tracking frames, JSON Lines ('-' for standard input)")
    p.add_argument("output", type=Path, help="poses, JSON Lines ('-' for standard output)")
    p.add_argument("--no-filter", action="store_true", help="turn the temporal (One Euro) filter off")
    p.add_argument("--calibration", type=Path, help="a calibration file made by 'avatar-care calibrate'")
    p.add_argument("--strict", action="store_true", help="fail on the first unusable line (exit 2)")
    p.add_argument(
        "--audio",
        type=Path,
        help="the operator's voice (WAV, 16-bit PCM): the mouth follows it while the face is not tracked",
    )
    p.add_argument(
        "--alive", action="store_true", help="add blinking, breathing and head sway where untracked"
    )
    p.set_defaults(func=run_retarget)

    c = subparsers.add_parser(
        "calibrate",
        help="record the operator's neutral pose from tracking frames",
        description="Reads tracking frames of the operator sitting or standing still as they will work, "
        "and writes the calibration (camera tilt, head offset, hips spot) as JSON.",
    )
    c.add_argument("input", type=Path, help="tracking frames of the neutral pose, JSON Lines")
    c.add_argument("output", type=Path, help="where to write the calibration JSON")
    c.set_defaults(func=run_calibrate)


def _open_in(path: Path) -> list[str]:
    if str(path) == "-":
        return sys.stdin.read().splitlines()
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SystemExit(f"avatar-care: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SystemExit(f"avatar-care: {path} is not UTF-8 text: {exc.reason}") from None


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float samples (-1..1) and the sample rate of a 16-bit PCM WAV file."""
    with wave.open(str(path)) as w:
        if w.getsampwidth() != 2:
            raise ValueError("only 16-bit PCM WAV is read")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
        channels, rate = w.getnchannels(), w.getframerate()
    return data.reshape(-1, channels).mean(axis=1), rate


def run_retarget(args: argparse.Namespace) -> int:
    calibration = None
    if args.calibration is not None:
        try:
            calibration = Calibration.load(args.calibration)
        except (OSError, ValueError) as exc:
            print(f"avatar-care: {args.calibration}: {exc}", file=sys.stderr)
            return 2
    solver = Retargeter(SolverOptions(filter=not args.no_filter), calibration)
    voice: tuple[np.ndarray, int] | None = None
    if args.audio is not None:
        try:
            voice = read_wav(args.audio)
        except (OSError, ValueError, wave.Error) as exc:
            print(f"avatar-care: {args.audio}: {exc}", file=sys.stderr)
            return 2
    mouth = AudioVisemes(voice[1]) if voice else None
    life = Liveliness() if args.alive or voice else None
    report = StreamReport()
    lines = _open_in(args.input)
    out_lines: list[str] = []
    try:
        for frame in read_frames(lines, report, strict=args.strict):
            pose = solver.solve(frame)
            if life is not None:
                visemes = None
                if voice is not None and mouth is not None:
                    samples, rate = voice
                    end = int(frame.t_ms / 1000.0 * rate)
                    visemes = mouth.window(samples[max(0, end - rate // 30) : end])
                pose = life.apply(
                    pose,
                    face_tracked=frame.face_blendshapes is not None,
                    head_tracked=frame.face_matrix is not None or frame.pose_world is not None,
                    visemes=visemes,
                )
            out_lines.append(json.dumps(pose.to_json(), separators=(",", ":")))
    except FrameError as exc:
        print(f"avatar-care: {args.input}: {exc}", file=sys.stderr)
        return 2
    text = "\n".join(out_lines) + ("\n" if out_lines else "")
    if str(args.output) == "-":
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    print(f"avatar-care retarget: {report.summary()}", file=sys.stderr)
    for error in report.skipped[1:20]:
        print(f"  skipped {error}", file=sys.stderr)
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    report = StreamReport()
    frames = list(read_frames(_open_in(args.input), report))
    try:
        calibration = Retargeter().calibrate(frames)
    except ValueError as exc:
        print(f"avatar-care: {args.input}: {exc}", file=sys.stderr)
        return 2
    calibration.save(args.output)
    print(f"avatar-care calibrate: {report.summary()}; wrote {args.output}", file=sys.stderr)
    return 0
