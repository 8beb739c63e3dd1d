"""Accuracy against ground truth: CMU motion capture through the solver and back.

The recordings become MediaPipe-style landmarks with known truth (rigging/groundtruth.py); the
solver's poses, put on the rest skeleton by forward kinematics, must point every segment the way
the recording does: median error at most 2 degrees for torso, arms and legs on clean input, at
most 5 degrees for fingers. The figures at 5 mm and 15 mm of landmark noise are printed for the
record (docs/accuracy.md), with only loose bounds.
"""

from collections import defaultdict

import numpy as np
import pytest

from rigging.bvh import load
from rigging.groundtruth import TruthFrame, add_noise, angle_errors, group_of, mocap_frames, solved_segments
from rigging.pose import AvatarPose
from rigging.solver import Retargeter, SolverOptions
from tests.shared_data import shared

EASE_IN = 12  # frames at the start while limbs ease in from rest


@pytest.fixture(scope="module")
def recordings() -> list[list[TruthFrame]]:
    return [mocap_frames(load(shared(f"mocap/{name}.bvh"))) for name in ("131_01", "131_02")]


def medians(recordings: list[list[TruthFrame]], noise_m: float, filtered: bool) -> dict[str, float]:
    errors: dict[str, list[float]] = defaultdict(list)
    rng = np.random.default_rng(0)
    for frames in recordings:
        solver = Retargeter(SolverOptions(filter=filtered))
        for i, truth in enumerate(frames):
            frame = truth.frame if noise_m == 0 else add_noise(truth.frame, noise_m, rng)
            pose = solver.solve(frame)
            if i >= EASE_IN:
                for segment, error in angle_errors(truth.segments, solved_segments(pose)).items():
                    errors[group_of(segment)].append(error)
    return {group: float(np.median(v)) for group, v in errors.items()}


def test_clean_input_within_two_degrees_and_fingers_within_five(recordings: list[list[TruthFrame]]) -> None:
    m = medians(recordings, 0.0, filtered=False)
    print("clean, unfiltered:", {k: round(v, 2) for k, v in m.items()})
    assert set(m) == {"torso", "arms", "legs", "fingers"}
    assert m["torso"] <= 2.0 and m["arms"] <= 2.0 and m["legs"] <= 2.0
    assert m["fingers"] <= 5.0


@pytest.mark.parametrize("noise_mm", [5, 15])
def test_noisy_input_figures(recordings: list[list[TruthFrame]], noise_mm: int) -> None:
    for filtered in (False, True):
        m = medians(recordings, noise_mm / 1000.0, filtered)
        print(
            f"{noise_mm} mm noise, {'filtered' if filtered else 'unfiltered'}:",
            {k: round(v, 2) for k, v in m.items()},
        )
        assert max(m["torso"], m["arms"], m["legs"]) < 4 * noise_mm  # loose: degrades gracefully
        assert m["fingers"] < 70


def test_the_metric_can_fail(recordings: list[list[TruthFrame]]) -> None:
    """A pose that ignores the input (the rest pose) is far from the truth."""
    truth = recordings[0][100]
    errors = angle_errors(truth.segments, solved_segments(AvatarPose(t_ms=0.0)))
    arms = [e for k, e in errors.items() if group_of(k) == "arms"]
    assert np.median(arms) > 30
