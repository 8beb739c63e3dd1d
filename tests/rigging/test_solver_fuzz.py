"""Whatever finite numbers arrive, the solver answers with a valid pose and never raises."""

import numpy as np

from rigging.frame import TrackingFrame
from rigging.pose import AvatarPose
from rigging.solver import Retargeter, SolverOptions
from tests.rigging.posed_landmarks import make_frame


def random_frame(rng: np.random.Generator, t_ms: float) -> TrackingFrame:
    scale = float(rng.choice([1e-6, 0.01, 1.0, 100.0]))

    def maybe(shape: tuple[int, ...]) -> np.ndarray | None:
        if rng.random() < 0.2:
            return None
        a = rng.normal(scale=scale, size=shape)
        if rng.random() < 0.2:
            a[rng.integers(0, shape[0], size=5)] = a[0]  # coincident points: zero-length bones
        return a

    pose = maybe((33, 4))
    if pose is not None:
        pose[:, 3] = rng.random(33) if rng.random() < 0.5 else 1.0
    image = maybe((33, 4))
    if image is not None:
        image[:, 3] = rng.random(33)
    matrix = rng.normal(size=(4, 4)) if rng.random() < 0.3 else None
    shapes = (
        {n: float(rng.random() * 2 - 0.5) for n in ("jawOpen", "eyeBlinkLeft", "mouthPucker")}
        if rng.random() < 0.5
        else None
    )
    return TrackingFrame(
        t_ms=t_ms,
        pose_world=pose,
        pose_image=image,
        left_hand_world=maybe((21, 3)),
        right_hand_world=maybe((21, 3)),
        face_blendshapes=shapes,
        face_matrix=matrix,
    )


def check(pose: AvatarPose) -> None:
    q = np.array(list(pose.bones.values()))
    assert np.all(np.isfinite(q)) and np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-6)
    assert np.all(np.isfinite(pose.hips_position))
    assert all(0.0 <= w <= 1.0 for w in pose.expressions.values())


def test_random_frames_give_valid_poses() -> None:
    rng = np.random.default_rng(2026)
    for options in (SolverOptions(), SolverOptions(filter=False, ease_ms=0.0)):
        solver = Retargeter(options)
        for i in range(400):
            check(solver.solve(random_frame(rng, i * 33.0)))


def test_real_frames_interleaved_with_garbage_keep_working() -> None:
    rng = np.random.default_rng(7)
    solver = Retargeter()
    for i in range(120):
        frame = make_frame({}, t_ms=i * 33.0) if i % 3 else random_frame(rng, i * 33.0)
        check(solver.solve(frame))
