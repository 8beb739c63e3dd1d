"""Retargeting speed and accuracy, side by side with Kalidokit 1.1.5 (in Node, same landmarks).

    python benchmarks/retarget.py            # needs `npm ci` in benchmarks/ (scripts/setup.sh --dev)

Speed: per-frame time of avatar-care's full solve (pose, two hands, face expressions, filter and
motion-packet encode) against Kalidokit's Pose.solve + two Hand.solve + Face.solve, timed inside
Node after warm-up. Kalidokit's face solver needs a 478-point face mesh, which motion capture does
not have: it is timed on a synthetic mesh (the timing is real, its output meaningless).

Batches: the server hop for many rooms at once, as the live server runs it: B operators' landmark
packets (real MediaPipe frames of assets/demo/book.jsonl, in the binary form the consoles send)
decoded, solved by B solvers in one ``solve_batch`` and encoded by one ``encode_batch``; cost per
batch and per frame, for B = 1, 10, 50.

Accuracy: both on the same ground truth (CMU motion capture, rigging/groundtruth.py), median
segment error per group. Kalidokit assumes a mirrored selfie camera and Euler angles for VRM 0.x
bones; its output is converted with the convention (side mapping, frame, mirroring) that fits the
truth best, which gives it the benefit of every doubt.

Prints tables; asserts nothing. Medians are quoted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rigging import landmark_packet  # noqa: E402
from rigging.bvh import load  # noqa: E402
from rigging.codec import HopTiming, encode, encode_batch  # noqa: E402
from rigging.frame import TrackingFrame, parse_frame  # noqa: E402
from rigging.groundtruth import TruthFrame, add_noise, angle_errors, group_of, mocap_frames, solved_segments  # noqa: E402
from rigging.pose import AvatarPose  # noqa: E402
from rigging.quaternion import F64, from_axis_angle, multiply, normalize  # noqa: E402
from rigging.skeleton import BONES  # noqa: E402
from rigging.solver import Retargeter, SolverOptions, solve_batch  # noqa: E402

SHARED = ROOT.parent / "shared"
BLENDSHAPES = [
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft",
    "noseSneerRight",
]  # fmt: skip


def with_face(frames: list[TruthFrame], rng: np.random.Generator) -> list[TrackingFrame]:
    return [
        TrackingFrame(
            t_ms=t.frame.t_ms,
            pose_world=t.frame.pose_world,
            left_hand_world=t.frame.left_hand_world,
            right_hand_world=t.frame.right_hand_world,
            face_blendshapes={
                name: float(v) for name, v in zip(BLENDSHAPES, rng.random(len(BLENDSHAPES)), strict=True)
            },
        )
        for t in frames
    ]


def time_ours(frames: list[TrackingFrame], repeats: int) -> np.ndarray:
    best = np.full(len(frames), np.inf)
    for _ in range(repeats):
        solver = Retargeter()
        for i, frame in enumerate(frames):
            if i and frame.t_ms <= frames[i - 1].t_ms:
                solver.reset()  # the next recording starts its own clock
            t0 = time.perf_counter()
            pose = solver.solve(frame)
            encode(pose, i)
            best[i] = min(best[i], time.perf_counter() - t0)
    return best * 1e6


def batch_messages(size: int, steps: int) -> list[list[bytes]]:
    """``steps`` moments of ``size`` operators' landmark packets, each operator at its own place in the clip."""
    lines = [json.loads(line) for line in (ROOT / "assets" / "demo" / "book.jsonl").read_text().splitlines()]
    out = []
    for step in range(steps):
        moment = []
        for room in range(size):
            frame = dict(lines[(step + 13 * room) % len(lines)])
            frame["t_ms"] = step * 33.3 + room * 0.01
            moment.append(landmark_packet.encode(parse_frame(frame), 20.0))
        out.append(moment)
    return out


def time_batches(size: int, steps: int, clock: Callable[[], float]) -> dict[str, np.ndarray]:
    """Seconds per batch for each stage: decode (the landmark packets), solve, encode, and all."""
    # The live server's setting: landmarks come smoothed by MediaPipe, so the solver's filter is off.
    solvers = [Retargeter(SolverOptions(filter=False)) for _ in range(size)]
    timing = [HopTiming(0.0, 1.0, 1.0)] * size
    stages: dict[str, list[float]] = defaultdict(list)
    for step, messages in enumerate(batch_messages(size, steps)):
        t0 = clock()
        frames = [landmark_packet.decode(m)[0] for m in messages]
        t1 = clock()
        poses = solve_batch(solvers, frames)
        t2 = clock()
        packets = encode_batch([p for p in poses if isinstance(p, AvatarPose)], list(range(size)), timing)
        t3 = clock()
        assert len(packets) == size
        if step >= 10:  # warm-up: caches, and the limbs easing in from rest
            for name, v in (("decode", t1 - t0), ("solve", t2 - t1), ("encode", t3 - t2), ("all", t3 - t0)):
                stages[name].append(v)
    return {k: np.array(v) for k, v in stages.items()}


def batch_table(steps: int, clock: Callable[[], float]) -> str:
    rows = [["frames a batch", "decode p50", "solve p50", "encode p50", "batch p50", "batch p99", "per frame p50", "per frame p99"]]  # fmt: skip
    for size in (1, 10, 50):
        t = {k: v * 1e6 for k, v in time_batches(size, steps, clock).items()}
        rows.append(
            [
                str(size),
                *(f"{np.median(t[k]):.0f}" for k in ("decode", "solve", "encode", "all")),
                f"{np.percentile(t['all'], 99):.0f}",
                f"{np.median(t['all']) / size:.0f}",
                f"{np.percentile(t['all'], 99) / size:.0f}",
            ]
        )
    return table(rows)


def print_batches(steps: int) -> None:
    # Wall time is what a room feels; this process's own CPU time leaves out the time the machine
    # gave to other work, so it is the steadier figure on a shared machine.
    for what, clock in (("CPU time of this process", time.thread_time), ("wall time", time.perf_counter)):
        print(
            f"\nServer hop for a batch of rooms, {what}, in us ({steps} moments; per frame = batch / frames)\n"
        )
        print(batch_table(steps, clock))


def kalidokit_input(frames: list[TruthFrame], rng: np.random.Generator) -> dict[str, Any]:
    out = []
    for t in frames:
        f = t.frame
        assert f.pose_world is not None
        # Kalidokit also wants the 2D image landmarks: a plain orthographic view of the same points.
        pose2d = np.column_stack(
            (0.5 + 0.3 * f.pose_world[:, 0], 0.5 + 0.3 * f.pose_world[:, 1], np.zeros(33), f.pose_world[:, 3])
        )
        face = np.column_stack(
            (rng.normal(0.5, 0.05, 478), rng.normal(0.3, 0.05, 478), rng.normal(0, 0.02, 478))
        )
        out.append(
            {
                "pose3d": np.round(f.pose_world, 6).tolist(),
                "pose2d": np.round(pose2d, 6).tolist(),
                "left": None if f.left_hand_world is None else np.round(f.left_hand_world, 6).tolist(),
                "right": None if f.right_hand_world is None else np.round(f.right_hand_world, 6).tolist(),
                "face": np.round(face, 5).tolist(),
            }
        )
    return {"frames": out}


def run_kalidokit(payload: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.json"
        src.write_text(json.dumps(payload))
        subprocess.run(
            ["node", str(ROOT / "benchmarks" / "kalidokit_runner.mjs"), str(src), str(dst)],
            check=True,
            cwd=ROOT / "benchmarks",
        )
        result: dict[str, Any] = json.loads(dst.read_text())
        return result


def euler_xyz(e: dict[str, float]) -> F64:
    """three.js Euler(x, y, z, 'XYZ') as a quaternion [x, y, z, w]: Rx * Ry * Rz."""
    qx = from_axis_angle(np.array([1.0, 0, 0]), e.get("x", 0.0))
    qy = from_axis_angle(np.array([0, 1.0, 0]), e.get("y", 0.0))
    qz = from_axis_angle(np.array([0, 0, 1.0]), e.get("z", 0.0))
    return normalize(multiply(multiply(qx, qy), qz))


KALIDOKIT_BONES = {
    "UpperArm": "UpperArm", "LowerArm": "LowerArm", "Hand": "Hand", "UpperLeg": "UpperLeg", "LowerLeg": "LowerLeg",
}  # fmt: skip


def kalidokit_pose(result: dict[str, Any], swap_sides: bool, vrm0_frame: bool) -> AvatarPose:
    """Kalidokit's Euler output as VRM 1.0 normalized local rotations, under one convention."""
    bones: dict[str, F64] = {}
    pose = result["pose"]
    for side_k, side_ours in (("Left", "left"), ("Right", "right")):
        target = ("right" if side_ours == "left" else "left") if swap_sides else side_ours
        for part in KALIDOKIT_BONES:
            e = pose.get(f"{side_k}{part}")
            if e is not None:
                bones[f"{target}{part}"] = euler_xyz(e)
        hand = result.get(f"{side_k.lower()}Hand")
        if hand:
            for key, e in hand.items():
                if key.endswith("Wrist"):
                    continue
                name = key[len(side_k) :]
                finger = (
                    name.replace("Intermediate", "Proximal")
                    if name.startswith("Thumb") and "Intermediate" in name
                    else name
                )
                vrm = {"ThumbProximal": "ThumbMetacarpal", "ThumbIntermediate": "ThumbProximal"}.get(
                    name, finger
                )
                bones[f"{target}{vrm}"] = euler_xyz(e)
    if "Hips" in pose:
        bones["hips"] = euler_xyz(pose["Hips"]["rotation"])
    if "Spine" in pose:
        bones["spine"] = euler_xyz(pose["Spine"])
    if vrm0_frame:
        # VRM 0.x faces -Z: a half turn about Y takes its local rotations into VRM 1.0's frame.
        bones = {k: q * np.array([-1.0, 1.0, -1.0, 1.0]) for k, q in bones.items()}
    bones = {k: v for k, v in bones.items() if k in BONES}
    return AvatarPose(t_ms=0.0, bones=bones)


MIRROR = np.array([-1.0, 1.0, 1.0])


def mirrored_truth(segments: dict[str, F64]) -> dict[str, F64]:
    """The truth seen in a mirror: x flipped, left and right exchanged."""
    out = {}
    for k, v in segments.items():
        swapped = k.replace("left", "@").replace("right", "left").replace("@", "right")
        out[swapped] = v * MIRROR * (-1.0 if k in ("shoulderLine", "hipLine") else 1.0)
    return out


def median_by_group(per_frame: list[dict[str, float]], groups: set[str]) -> dict[str, float]:
    acc: dict[str, list[float]] = defaultdict(list)
    for errs in per_frame:
        for k, e in errs.items():
            g = group_of(k)
            if g in groups:
                acc[g].append(e)
    return {g: float(np.median(v)) for g, v in acc.items()}


def kalidokit_accuracy(
    truth: list[TruthFrame], results: list[dict[str, Any]]
) -> tuple[dict[str, float], str]:
    """Kalidokit's accuracy under the convention that fits best (judged on the arms)."""
    best: tuple[float, dict[str, float], str] | None = None
    for swap, vrm0, mirror in product((False, True), repeat=3):
        per_frame = []
        for t, r in zip(truth, results, strict=True):
            seg = solved_segments(kalidokit_pose(r, swap, vrm0))
            ref = mirrored_truth(t.segments) if mirror else t.segments
            per_frame.append({k: e for k, e in angle_errors(ref, seg).items() if group_of(k) != "torso"})
        med = median_by_group(per_frame, {"arms", "legs", "fingers"})
        name = f"sides {'swapped' if swap else 'kept'}, {'VRM 0.x' if vrm0 else 'VRM 1.0'} frame, {'mirrored' if mirror else 'unmirrored'} truth"
        if best is None or med["arms"] < best[0]:
            best = (med["arms"], med, name)
    assert best is not None
    return best[1], best[2]


def our_accuracy(recordings: list[list[TruthFrame]], noise_m: float, filtered: bool) -> dict[str, float]:
    rng = np.random.default_rng(0)
    per_frame = []
    for frames in recordings:
        solver = Retargeter(SolverOptions(filter=filtered))
        for i, t in enumerate(frames):
            pose = solver.solve(t.frame if noise_m == 0 else add_noise(t.frame, noise_m, rng))
            if i >= 12:
                per_frame.append(angle_errors(t.segments, solved_segments(pose)))
    return median_by_group(per_frame, {"torso", "arms", "legs", "fingers"})


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timing passes; each frame keeps its fastest")
    parser.add_argument("--batch-steps", type=int, default=300, help="moments timed for each batch size")
    parser.add_argument("--batches-only", action="store_true", help="time the batches and stop")
    args = parser.parse_args()
    if args.batches_only:
        print_batches(args.batch_steps)
        return
    rng = np.random.default_rng(1)
    recordings = [mocap_frames(load(SHARED / "mocap" / f"{n}.bvh")) for n in ("131_01", "131_02")]
    truth = [t for rec in recordings for t in rec]
    ours_us = time_ours(with_face(truth, rng), args.repeats)
    kd = run_kalidokit(kalidokit_input(truth, rng))
    kd_us = np.array(kd["timings_us"])
    print(
        f"\nPer-frame solve time over {len(truth)} frames (each frame's fastest of {args.repeats} passes)\n"
    )
    rows = [["solver", "what is timed", "p50 us", "p99 us"],
            ["avatar-care", "pose + 2 hands + face + filter + encode", f"{np.median(ours_us):.0f}", f"{np.percentile(ours_us, 99):.0f}"],
            ["Kalidokit 1.1.5 (Node)", "pose + 2 hands + face, no filter", f"{np.median(kd_us):.0f}", f"{np.percentile(kd_us, 99):.0f}"],
            ["ratio (ours / Kalidokit)", "", f"{np.median(ours_us) / np.median(kd_us):.1f}", f"{np.percentile(ours_us, 99) / np.percentile(kd_us, 99):.1f}"]]  # fmt: skip
    print(table(rows))

    print_batches(args.batch_steps)

    print("\nAccuracy: median segment direction error in degrees on CMU 131_01 + 131_02 (synthetic hands)\n")
    kd_med, convention = kalidokit_accuracy(truth, kd["results"])
    rows = [["solver", "input", "torso", "arms", "legs", "fingers"]]
    for noise_mm in (0, 5, 15):
        for filtered in (False, True):
            m = our_accuracy(recordings, noise_mm / 1000.0, filtered)
            rows.append(
                [
                    f"avatar-care{' (filtered)' if filtered else ''}",
                    f"{noise_mm} mm noise",
                    *(f"{m[g]:.2f}" for g in ("torso", "arms", "legs", "fingers")),
                ]
            )
    rows.append(
        ["Kalidokit 1.1.5", "0 mm noise", "n/a", *(f"{kd_med[g]:.2f}" for g in ("arms", "legs", "fingers"))]
    )
    print(table(rows))
    print(
        f"\nKalidokit converted with: {convention}; its torso is left out (it solves hips and one spine bone"
    )
    print("from the 2D image, which this ground truth does not model).")


if __name__ == "__main__":
    main()
