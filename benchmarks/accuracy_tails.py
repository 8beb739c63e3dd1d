"""Accuracy tails on motion-capture ground truth: median and p95 per segment group, and the filter's lag.

    python benchmarks/accuracy_tails.py                     # this checkout's solver
    python benchmarks/accuracy_tails.py --solver-root DIR   # another checkout's solver, same truth

The truth (rigging/groundtruth.py, docs/accuracy.md) is always this checkout's: CMU 131_01 and
131_02 with the solver's own rest hands, and the same recordings with the hands of each Mixamo rig
in ../shared/avatars (their rest knuckles, thumbs and curl; avatar_care/avatars/rest_joints.py).
With ``--solver-root`` the solver (the whole ``rigging`` package but the truth) is imported from
DIR, so two versions print the same tables side by side.

Tables, each over both recordings, the first 12 frames of each left out (limbs easing in):
- median / p95 / max segment error in degrees per group, clean input, filter off and on, every case;
- the same on the solver's rest hands with 5 mm and 15 mm of Gaussian landmark noise;
- the filter's lag on fast motion: the time shift that best lines the filtered joint paths up with
  the unfiltered ones, over the fastest tenth of each joint's frames (hands, feet, toes, two finger
  tips), at the recorded speed and sped up 2x and 3x (the recording resampled, timestamps divided);
- one frame's solve (pose, two hands, filter), CPU time, median over frames of each frame's
  fastest of 5 passes.

Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
GROUPS = ("torso", "arms", "legs", "fingers")
EASE_IN = 12
LAG_JOINTS = (
    "leftHand", "rightHand", "leftFoot", "rightFoot", "leftToes", "rightToes",
    "leftIndexDistalTip", "rightMiddleDistalTip",
)  # fmt: skip


def load_truth(solver_root: Path) -> ModuleType:
    """This checkout's ground truth, on top of the ``rigging`` package found in ``solver_root``."""
    sys.path.insert(0, str(solver_root))
    spec = importlib.util.spec_from_file_location("truth", ROOT / "rigging" / "groundtruth.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["truth"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--solver-root", type=Path, default=ROOT, help="checkout whose rigging/ solves")
    parser.add_argument("--skip-noise", action="store_true", help="leave out the noisy-input table")
    args = parser.parse_args()
    gt = load_truth(args.solver_root.resolve())

    import numpy as np

    from rigging.bvh import load
    from rigging.kinematics import forward
    from rigging.rotation_filter import RotationFilterParams
    from rigging.solver import Retargeter, SolverOptions

    sys.path.insert(1, str(ROOT))  # the model reader is this checkout's too
    from avatar_care.avatars.glb import read_glb
    from avatar_care.avatars.rest_joints import rest_joints

    print(f"solver: {Path(sys.modules['rigging'].__file__ or '').parent}")
    print(f"rotation filter defaults: {RotationFilterParams()}")
    motions = [load(SHARED / "mocap" / f"{n}.bvh") for n in ("131_01", "131_02")]
    cases = {"CMU, solver's rest hands": gt.REST_HANDS}
    for glb in sorted((SHARED / "avatars").glob("*.glb")):
        joints = rest_joints(read_glb(glb.read_bytes()).gltf)
        cases[f"CMU, {glb.stem} (Mixamo) hands"] = gt.HandSkeleton.from_joints(joints)

    def errors(
        frames_by_clip: list[list[Any]], filtered: bool, noise_m: float = 0.0
    ) -> dict[str, list[float]]:
        rng = np.random.default_rng(0)
        out: dict[str, list[float]] = defaultdict(list)
        for frames in frames_by_clip:
            solver = Retargeter(SolverOptions(filter=filtered))
            for i, t in enumerate(frames):
                frame = t.frame if noise_m == 0 else gt.add_noise(t.frame, noise_m, rng)
                pose = solver.solve(frame)
                if i >= EASE_IN:
                    for seg, e in gt.angle_errors(t.segments, gt.solved_segments(pose)).items():
                        out[gt.group_of(seg)].append(e)
        return out

    def row(label: str, errs: dict[str, list[float]]) -> list[str]:
        return [
            label,
            *(
                f"{np.median(errs[g]):.2f} / {np.percentile(errs[g], 95):.2f} / {max(errs[g]):.1f}"
                for g in GROUPS
            ),
        ]

    rows = [["case, input", *(f"{g} p50 / p95 / max" for g in GROUPS)]]
    truth_by_case = {}
    for name, hands in cases.items():
        truth_by_case[name] = [gt.mocap_frames(m, hand_skeleton=hands) for m in motions]
        for filtered in (False, True):
            rows.append(
                row(f"{name}, clean{', filtered' if filtered else ''}", errors(truth_by_case[name], filtered))
            )
    rest = truth_by_case["CMU, solver's rest hands"]
    if not args.skip_noise:
        for noise_mm in (5, 15):
            for filtered in (False, True):
                label = f"CMU, solver's rest hands, {noise_mm} mm noise{', filtered' if filtered else ''}"
                rows.append(row(label, errors(rest, filtered, noise_mm / 1000.0)))
    print("\nSegment direction error in degrees (median / p95 / max), CMU 131_01 + 131_02\n")
    print(table(rows))

    def lag_ms(path: Any, ref: Any, t: Any, weight: Any) -> float:
        shifts = np.arange(-20.0, 100.0, 0.5)
        costs = []
        for s in shifts:
            moved = np.stack([np.interp(t - s, t, ref[:, k]) for k in range(3)], axis=1)
            ok = (t - s >= t[0]) & (t - s <= t[-1])
            costs.append(
                np.sum(weight[ok] * np.sum((path[ok] - moved[ok]) ** 2, axis=1)) / np.sum(weight[ok])
            )
        return float(shifts[int(np.argmin(costs))])

    def joint_paths(poses: list[Any]) -> dict[str, Any]:
        out = []
        for p in poses:
            _, pos, tips = forward(p.bones)
            out.append(pos | {f"{b}Tip": v for b, v in tips.items()})
        return {j: np.array([o[j] for o in out]) for j in LAG_JOINTS}

    lag_rows = [["speed", "lag p50 over joints (ms)", "lag max over joints (ms)", "filtered clean p95: arms / legs / fingers"]]  # fmt: skip
    for speed in (1, 2, 3):
        lags = []
        errs: dict[str, list[float]] = defaultdict(list)
        for m in motions:
            frames = gt.mocap_frames(m, fps=30.0 / speed)
            filtered, plain = Retargeter(), Retargeter(SolverOptions(filter=False))
            a, b = [], []
            for i, t in enumerate(frames):
                frame = dataclasses.replace(t.frame, t_ms=t.frame.t_ms / speed)
                pa, pb = filtered.solve(frame), plain.solve(frame)
                if i >= EASE_IN:
                    a.append(pa)
                    b.append(pb)
                    for seg, e in gt.angle_errors(t.segments, gt.solved_segments(pa)).items():
                        errs[gt.group_of(seg)].append(e)
            ta, tb = joint_paths(a), joint_paths(b)
            t_ms = np.arange(len(a)) * 1000.0 / 30.0
            for j in LAG_JOINTS:
                speed_of = np.linalg.norm(np.gradient(tb[j], axis=0), axis=1)
                fastest = (speed_of >= np.percentile(speed_of, 90)).astype(np.float64)
                lags.append(lag_ms(ta[j], tb[j], t_ms, fastest))
        lag_rows.append(
            [
                f"x{speed}",
                f"{np.median(lags):.1f}",
                f"{max(lags):.1f}",
                " / ".join(f"{np.percentile(errs[g], 95):.1f}" for g in ("arms", "legs", "fingers")),
            ]
        )
    print(
        "\nFilter lag on the fastest tenth of each joint's frames (30 frames/s; x2, x3: the motion sped up)\n"
    )
    print(table(lag_rows))

    frames = [t.frame for t in rest[0]]
    best = np.full(len(frames), np.inf)
    for _ in range(5):
        solver = Retargeter()
        for i, frame in enumerate(frames):
            t0 = time.thread_time()
            solver.solve(frame)
            best[i] = min(best[i], time.thread_time() - t0)
    print(
        f"\nOne frame's solve (pose + 2 hands + filter), CPU time: p50 {np.median(best) * 1e6:.0f} us over {len(frames)} frames"
    )


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
