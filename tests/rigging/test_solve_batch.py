"""The batched solver against the one-at-a-time solver: same poses, same state, frame after frame.

Twin sets of solvers (different options and calibrations) are fed the same random mixes of frames:
one set one frame at a time through ``Retargeter.solve``, the other a batch at a time through
``solve_batch``. Frames are real (MediaPipe on the book clip), exact (posed landmarks), motion
capture, and each of those with parts missing or damaged the way parse_frame repairs them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rigging.bvh import load
from rigging.calibration import Calibration
from rigging.frame import FrameError, TrackingFrame, parse_frame
from rigging.groundtruth import mocap_frames
from rigging.one_euro import OneEuroParams
from rigging.pose import AvatarPose
from rigging.quaternion import normalize
from rigging.rotation_filter import RotationFilterParams
from rigging.solver import Retargeter, SolverOptions, solve_batch
from tests.rigging.posed_landmarks import make_frame
from tests.rigging.test_solver import random_pose
from tests.shared_data import shared

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def sources() -> list[TrackingFrame]:
    """Frames of every kind the solver meets, without timestamps that matter (they are replaced)."""
    lines = (ROOT / "assets" / "demo" / "book.jsonl").read_text().splitlines()
    book = [parse_frame(json.loads(line)) for line in lines]
    rng = np.random.default_rng(11)
    posed = [make_frame(random_pose(rng), hands=bool(i % 3)) for i in range(20)]
    mocap = [t.frame for t in mocap_frames(load(shared("mocap/131_01.bvh")))[::25]]
    return book + posed + mocap


def vary(frame: TrackingFrame, rng: np.random.Generator) -> TrackingFrame:
    """The frame with random parts missing, added or damaged (as parse_frame repairs damage)."""
    choice = int(rng.integers(0, 9))
    if choice == 0:
        return replace(frame, pose_world=None)
    if choice == 1:
        return replace(frame, left_hand_world=None, right_hand_world=None, face_blendshapes=None)
    if choice == 2 and frame.pose_world is not None:  # legs out of view, or shoulders
        pose = frame.pose_world.copy()
        pose[rng.choice([23, 25, 27, 11], size=2), 3] = 0.2
        return replace(frame, pose_world=pose)
    if choice == 3:
        m = np.eye(4)
        m[:3, :3] = np.linalg.qr(rng.normal(size=(3, 3)))[0] * 1.2
        return replace(frame, face_matrix=m)
    if choice == 4:  # NaN in a landmark, a hand and a blendshape, repaired by parse_frame
        obj = frame.to_json()
        if obj["pose_world"] is not None:
            obj["pose_world"][int(rng.integers(0, 33))][1] = math.nan
        if obj["left_hand_world"] is not None:
            obj["left_hand_world"][3][0] = math.nan
        obj["face_blendshapes"] = {"jawOpen": math.nan, "mouthSmileLeft": 0.7, "eyeBlinkRight": 0.4}
        return parse_frame(obj)
    if choice == 5 and frame.pose_world is not None:
        image = frame.pose_image
        if image is None:  # an image view of the world landmarks, so the hips move sideways
            image = np.column_stack(
                (
                    0.5 + 0.3 * frame.pose_world[:, 0],
                    0.5 + 0.3 * frame.pose_world[:, 1],
                    np.zeros(33),
                    frame.pose_world[:, 3],
                )
            )
        return replace(frame, pose_image=image + rng.normal(scale=0.01, size=(33, 4)) * [1, 1, 0, 0])
    if choice == 6:
        return replace(frame, right_hand_world=frame.left_hand_world, left_hand_world=None)
    return frame


def twin_solvers() -> Callable[[], list[Retargeter]]:
    calibrated = Calibration(
        camera=normalize(np.array([0.12, 0.0, -0.04, 1.0])),
        head=normalize(np.array([0.08, 0.1, 0.0, 1.0])),
        hips=np.array([0.05, 0.0, -2.1]),
    )
    configs = [
        (SolverOptions(), None),
        (SolverOptions(filter=False), calibrated),
        (SolverOptions(filter=False, ease_ms=0.0), None),
        (SolverOptions(min_visibility=0.8, camera_fov_deg=75.0), calibrated),
        (
            SolverOptions(
                rotation_filter=RotationFilterParams(1.0, 0.2),
                position_filter=OneEuroParams(0.5, 1.0, 2.0),
                expression_filter=OneEuroParams(1.0, 1.0, 1.0),
                ease_ms=120.0,
            ),
            Calibration(head=normalize(np.array([0.0, -0.2, 0.0, 1.0]))),
        ),
        (SolverOptions(), calibrated),
    ]
    return lambda: [Retargeter(o, c) for o, c in configs]


def assert_same(a: AvatarPose | FrameError, b: AvatarPose | FrameError) -> None:
    if isinstance(b, FrameError):
        assert isinstance(a, FrameError) and (a.field, str(a)) == (b.field, str(b))
        return
    assert isinstance(a, AvatarPose)
    assert a.t_ms == b.t_ms
    assert list(a.bones) == list(b.bones)
    worst = max(float(np.max(np.abs(a.bones[k] - b.bones[k]))) for k in b.bones)
    assert worst <= TOLERANCE
    assert np.max(np.abs(a.hips_position - b.hips_position)) <= TOLERANCE
    assert set(a.expressions) == set(b.expressions)
    assert all(abs(a.expressions[k] - w) <= TOLERANCE for k, w in b.expressions.items())


def one_at_a_time(solver: Retargeter, frame: TrackingFrame) -> AvatarPose | FrameError:
    try:
        return solver.solve(frame)
    except FrameError as exc:
        return exc


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_give_what_one_frame_at_a_time_gives_step_after_step(
    sources: list[TrackingFrame], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    make = twin_solvers()
    batched, single = make(), make()
    clocks = [0.0] * len(batched)
    compared = errors = 0
    for step in range(80):
        # Some solvers sit a step out; the batch holds the others in a random order.
        slots = [i for i in rng.permutation(len(batched)) if rng.random() < 0.8]
        frames = []
        for i in slots:
            late = step > 3 and rng.random() < 0.07  # a timestamp that does not increase
            clocks[i] += 0.0 if late else float(rng.uniform(20.0, 50.0))
            source = sources[int(rng.integers(0, len(sources)))]
            frames.append(vary(replace(source, t_ms=clocks[i]), rng))
        got = solve_batch([batched[i] for i in slots], frames)
        assert len(got) == len(slots)
        for i, frame, result in zip(slots, frames, got, strict=True):
            want = one_at_a_time(single[i], frame)
            assert_same(result, want)
            compared += 1
            errors += isinstance(want, FrameError)
        if step == 40:  # a reconnection: the state starts over in both
            batched[0].reset()
            single[0].reset()
    assert compared > 300 and errors > 0


def test_a_bad_frame_fails_in_its_slot_and_leaves_its_solver_as_it_was(sources: list[TrackingFrame]) -> None:
    make = twin_solvers()
    batched, single = make(), make()
    first = [replace(sources[k], t_ms=100.0) for k in range(len(batched))]
    solve_batch(batched, first)
    for s, f in zip(single, first, strict=True):
        s.solve(f)
    second = [replace(sources[k + 10], t_ms=133.0) for k in range(len(batched))]
    second[1] = replace(second[1], t_ms=100.0)  # not after the previous frame
    second[3] = replace(second[3], left_hand_world=np.zeros((20, 3)))  # a hand of the wrong shape
    second[4] = replace(second[4], face_matrix=np.full((4, 4), "x"))  # no numbers at all
    got = solve_batch(batched, second)
    assert isinstance(got[1], FrameError) and got[1].field == "t_ms"
    assert isinstance(got[3], FrameError) and got[3].field == "left_hand_world"
    assert isinstance(got[4], FrameError) and got[4].field == "face_matrix"
    assert all(isinstance(g, AvatarPose) for k, g in enumerate(got) if k not in (1, 3, 4))
    # The refused solvers go on exactly as their twins, which never saw the bad frames.
    third = [replace(sources[k + 20], t_ms=166.0) for k in range(len(batched))]
    for k, (s, f) in enumerate(zip(single, second, strict=True)):
        if k not in (1, 3, 4):
            s.solve(f)
    for result, s, f in zip(solve_batch(batched, third), single, third, strict=True):
        assert_same(result, s.solve(f))


def test_a_batch_refuses_the_same_solver_twice_and_mismatched_lengths(sources: list[TrackingFrame]) -> None:
    solver = Retargeter()
    frames = [replace(sources[0], t_ms=1.0), replace(sources[1], t_ms=2.0)]
    with pytest.raises(ValueError, match="twice"):
        solve_batch([solver, solver], frames)
    with pytest.raises(ValueError, match="2 frames"):
        solve_batch([solver], frames)
    assert solve_batch([], []) == []
    # the refusals touched nothing: the solver takes its first frame
    assert isinstance(solve_batch([solver], frames[:1])[0], AvatarPose)


def test_calibrating_one_solver_changes_only_its_own_results(sources: list[TrackingFrame]) -> None:
    instant = SolverOptions(ease_ms=0.0)  # no easing in from rest: the first frame shows the pose
    a, b = Retargeter(instant), Retargeter(instant)
    a.calibrate(sources[:30])
    frames = [replace(sources[40], t_ms=10.0), replace(sources[40], t_ms=10.0)]
    pa, pb = solve_batch([a, b], frames)
    assert isinstance(pa, AvatarPose) and isinstance(pb, AvatarPose)
    assert_same(pb, Retargeter(instant).solve(frames[1]))
    assert max(float(np.max(np.abs(pa.bones[k] - pb.bones[k]))) for k in pa.bones) > 1e-3
