"""The rotation filter's settings side by side: lag on fast motion, jitter cut, one frame's cost.

    python benchmarks/filter_settings.py                      # the old defaults and the current ones
    python benchmarks/filter_settings.py 3.0,0.5 3.0,0.6      # any (min cutoff Hz, beta) pairs

For each setting, with the measures of tests/rigging/test_filter.py (the same functions):
- lag on the fastest tenth of each joint's frames of CMU 131_01 and 131_02 (hands, feet, toes, two
  finger tips), as recorded and played two and three times as fast: median and worst joint;
- jitter cut on the test gesture with 5 and 15 mm of landmark noise (unfiltered over filtered RMS
  second difference) and the gesture's lag.
Both are computed on the frames' timestamps, not on a clock. Then one frame's solve with the
filter (pose, two hands), CPU time, median over 300 frames of 131_01 of each frame's fastest of
three passes, the settings alternated three times in one process; the ratio to the first setting.

Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rigging.bvh import load  # noqa: E402
from rigging.groundtruth import mocap_frames  # noqa: E402
from rigging.kinematics import forward  # noqa: E402
from rigging.rotation_filter import RotationFilterParams  # noqa: E402
from rigging.solver import Retargeter, SolverOptions  # noqa: E402
from tests.rigging import test_filter as measures  # noqa: E402
from tests.shared_data import shared  # noqa: E402

OLD_DEFAULTS = RotationFilterParams(min_cutoff_hz=2.8, beta=0.4)


def fast_motion_lags(params: RotationFilterParams, speed: int) -> list[float]:
    """Each joint's lag (ms) over its fastest tenth of frames, both recordings."""
    lags = []
    for clip in ("131_01", "131_02"):
        filtered = Retargeter(SolverOptions(rotation_filter=params))
        plain = Retargeter(SolverOptions(filter=False))
        paths: dict[str, list[list[np.ndarray]]] = {j: [[], []] for j in measures.FAST_JOINTS}
        for i, truth in enumerate(mocap_frames(load(shared(f"mocap/{clip}.bvh")), fps=measures.FPS / speed)):
            frame = dataclasses.replace(truth.frame, t_ms=truth.frame.t_ms / speed)
            poses = filtered.solve(frame), plain.solve(frame)
            if i >= measures.SKIP:
                for k, pose in enumerate(poses):
                    _, pos, tips = forward(pose.bones)
                    joints = pos | {f"{b}Tip": p for b, p in tips.items()}
                    for j in measures.FAST_JOINTS:
                        paths[j][k].append(joints[j])
        for a, b in paths.values():
            ref = np.array(b)
            moving = np.linalg.norm(np.gradient(ref, axis=0), axis=1)
            fastest = (moving >= np.percentile(moving, 90)).astype(np.float64)
            lags.append(measures.shift_ms(np.array(a), ref, fastest))
    return lags


def jitter_cut(params: RotationFilterParams, noise_mm: float) -> tuple[float, float]:
    """Unfiltered over filtered jitter on the test gesture, and the gesture's lag (ms)."""
    filtered, unfiltered, clean = measures.run(noise_mm / 1000.0, params=params)
    return measures.jitter(unfiltered) / measures.jitter(filtered), measures.lag_ms(filtered, clean)


def frame_costs(settings: list[RotationFilterParams], rounds: int = 3) -> list[list[float]]:
    frames = [t.frame for t in mocap_frames(load(shared("mocap/131_01.bvh")))][:300]
    out: list[list[float]] = [[] for _ in settings]
    for _ in range(rounds):
        for k, params in enumerate(settings):
            best = np.full(len(frames), np.inf)
            for _ in range(3):
                solver = Retargeter(SolverOptions(rotation_filter=params))
                for i, frame in enumerate(frames):
                    t0 = time.thread_time()
                    solver.solve(frame)
                    best[i] = min(best[i], time.thread_time() - t0)
            out[k].append(float(np.median(best)) * 1e6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("settings", nargs="*", help="min cutoff (Hz),beta pairs, e.g. 3.0,0.55")
    args = parser.parse_args()
    settings = [RotationFilterParams(*map(float, s.split(","))) for s in args.settings] or [
        OLD_DEFAULTS,
        RotationFilterParams(),
    ]
    rows = [["min cutoff, beta", "x1 lag p50 / max", "x2 lag p50 / max", "x3 lag p50 / max", "jitter cut 5 / 15 mm", "gesture lag"]]  # fmt: skip
    for p in settings:
        row = [f"{p.min_cutoff_hz} Hz, {p.beta}"]
        for speed in (1, 2, 3):
            lags = fast_motion_lags(p, speed)
            row.append(f"{np.median(lags):.1f} / {max(lags):.1f} ms")
        (cut5, lag5), (cut15, lag15) = jitter_cut(p, 5.0), jitter_cut(p, 15.0)
        row += [f"{cut5:.2f}x / {cut15:.2f}x", f"{lag5:.1f} / {lag15:.1f} ms"]
        rows.append(row)
        print(" | ".join(row), flush=True)
    print("\nLag on fast motion and jitter cut\n")
    print(table(rows))
    costs = frame_costs(settings)
    first = float(np.median(costs[0]))
    cost_rows = [["min cutoff, beta", "one frame, CPU µs (each round's median)", "median", "ratio"]]
    for p, c in zip(settings, costs, strict=True):
        m = float(np.median(c))
        cost_rows.append(
            [
                f"{p.min_cutoff_hz} Hz, {p.beta}",
                " / ".join(f"{x:.0f}" for x in c),
                f"{m:.0f}",
                f"{m / first:.2f}",
            ]
        )
    print("\nOne frame's solve with the filter (pose + 2 hands), settings alternated\n")
    print(table(cost_rows))


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
