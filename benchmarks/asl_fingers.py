"""Signing hands against the camera: the avatar's fingers beside MediaPipe's, per clip.

    python benchmarks/asl_fingers.py                     # every clip in ../shared/media/asl
    python benchmarks/asl_fingers.py --before d367964    # and a table of that revision's solver

Each webcam clip goes through MediaPipe's holistic landmarker (the project's capture, VIDEO mode;
its landmarks are kept in benchmarks/results/asl/ so later runs skip it), then the solver as the
live room runs it (no filter: MediaPipe has smoothed already), then ``rigging.hand_fidelity``:
the angle between each finger segment of the avatar (forward kinematics) and the same segment of
the tracked hand, over every tracked hand of every frame; the hand's direction and the palm's
normal; each joint's median bend on the avatar and on the tracked hand; and, per cause, how many
tracked hands it was named for. "Clean" figures leave out the hands one of the solver's causes was
named for (its arm out of view or easing in, a joint held at its limit).

``--before REV`` solves the same landmarks with the ``rigging`` package of that git revision (in a
subprocess) and measures its poses with today's metric. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from rigging.frame import TrackingFrame  # noqa: E402
from rigging.hand_fidelity import CAUSES, ClipFigures, HandFidelity, figures  # noqa: E402
from rigging.jsonl import read_frames  # noqa: E402
from rigging.pose import AvatarPose  # noqa: E402
from rigging.solver import Retargeter, SolverOptions  # noqa: E402

CLIPS = ROOT.parent / "shared" / "media" / "asl"
CACHE = ROOT / "benchmarks" / "results" / "asl"
OPTIONS = SolverOptions(filter=False)  # as the live room runs a prefiltered capture

# Solves clips with whatever ``rigging`` is first on the path; only APIs every revision has.
_OLD_SOLVER = """
import json, sys
from rigging.jsonl import read_frames
from rigging.solver import Retargeter, SolverOptions
out = {}
for path in sys.argv[1:]:
    with open(path) as lines:
        solver = Retargeter(SolverOptions(filter=False))
        out[path] = [{b: q.tolist() for b, q in solver.solve(f).bones.items()} for f in read_frames(lines)]
json.dump(out, sys.stdout)
"""


def landmarks(clip: Path, cache: Path) -> list[TrackingFrame]:
    """The clip's tracking frames, captured once and then read from the cache."""
    path = cache / f"{clip.stem}.jsonl"
    if not path.exists():
        from avatar_care.capture.holistic import HolisticCapture
        from avatar_care.capture.video import read_video

        cache.mkdir(parents=True, exist_ok=True)
        with HolisticCapture() as capture:
            rows = [json.dumps(capture.process(rgb, t).to_json()) for t, rgb in read_video(clip)]
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(rows) + "\n")
        tmp.replace(path)
    with path.open() as lines:
        return list(read_frames(lines))


def measure(frames: list[TrackingFrame], poses: list[AvatarPose]) -> ClipFigures:
    fidelity = HandFidelity(OPTIONS.ease_ms, OPTIONS.min_visibility)
    return figures([s for frame, pose in zip(frames, poses, strict=True) for s in fidelity.step(frame, pose)])


def solve(frames: list[TrackingFrame]) -> list[AvatarPose]:
    solver = Retargeter(OPTIONS)
    return [solver.solve(f) for f in frames]


def solve_at(
    revision: str, paths: list[Path], frames: dict[Path, list[TrackingFrame]]
) -> dict[Path, list[AvatarPose]]:
    """Poses of each clip by the solver of ``revision`` (its ``rigging`` package, in a subprocess)."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", revision, "rigging"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        env = {**os.environ, "PYTHONPATH": tmp}
        result = subprocess.run(
            [sys.executable, "-c", _OLD_SOLVER, *map(str, paths)],
            cwd=tmp,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    solved = json.loads(result.stdout)
    return {
        p: [
            AvatarPose(t_ms=f.t_ms, bones={b: np.array(q) for b, q in bones.items()})
            for f, bones in zip(frames[p], solved[str(p)], strict=True)
        ]
        for p in paths
    }


def table(title: str, rows: dict[str, ClipFigures]) -> None:
    print(f"\n{title}")
    short = {c: c.replace("bent past a joint's limit", "at limit") for c in CAUSES}
    head = [
        "clip",
        "hands",
        "median",
        "p90",
        "clean median",
        "clean p90",
        "clean hands",
        "hand p90",
        "clean hand p90",
        "palm median",
    ]
    print("| " + " | ".join(head + [short[c] for c in CAUSES]) + " |")
    print("|" + "---|" * (len(head) + len(CAUSES)))
    for name, f in rows.items():
        cells = [
            name,
            str(f.hands),
            f"{f.median:.1f}",
            f"{f.p90:.1f}",
            f"{f.clean_median:.1f}",
            f"{f.clean_p90:.1f}",
            str(f.clean_hands),
            f"{f.hand_p90:.1f}",
            f"{f.clean_hand_p90:.1f}",
            f"{f.palm_median:.1f}",
        ]
        print("| " + " | ".join(cells + [str(f.causes[c]) for c in CAUSES]) + " |")


def bends(title: str, rows: dict[str, ClipFigures]) -> None:
    print(f"\n{title}: median bend of index to little, avatar / tracked (degrees)")
    print("| clip | MCP | PIP | DIP |\n|---|---|---|---|")
    for name, f in rows.items():
        print(f"| {name} | " + " | ".join(f"{a:.0f} / {t:.0f}" for a, t in f.bends.values()) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=Path, default=CLIPS, help="a folder of .mkv clips")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where captured landmarks are kept")
    parser.add_argument("--before", help="a git revision whose solver to measure beside this one")
    args = parser.parse_args()
    clips = sorted(args.clips.glob("*.mkv"))
    if not clips:
        raise SystemExit(f"no .mkv clips in {args.clips}")
    frames = {c: landmarks(c, args.cache) for c in clips}
    if args.before:
        paths = [args.cache / f"{c.stem}.jsonl" for c in clips]
        old = solve_at(args.before, paths, {p: frames[c] for p, c in zip(paths, clips, strict=True)})
        before = {c.stem: measure(frames[c], old[p]) for c, p in zip(clips, paths, strict=True)}
        table(f"Before ({args.before}): finger segments against the tracked hand, degrees", before)
        bends(f"Before ({args.before})", before)
    after = {c.stem: measure(frames[c], solve(frames[c])) for c in clips}
    table("This solver: finger segments against the tracked hand, degrees", after)
    bends("This solver", after)
    over = [n for n, f in after.items() if not (f.clean_median <= 5.0 and f.clean_p90 <= 20.0)]
    print(f"\nclips over 5 degrees median or 20 at p90 once the named causes are left out: {over or 'none'}")


if __name__ == "__main__":
    main()
