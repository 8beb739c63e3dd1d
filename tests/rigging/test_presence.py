"""Limbs out of view ease to rest over about 0.3 s and back in when seen, never snapping."""

import itertools
import math

import numpy as np

from rigging.quaternion import F64, angle_between
from rigging.solver import Retargeter, SolverOptions
from tests.rigging.posed_landmarks import forward, make_frame, rq

RAISED = {"leftUpperArm": rq((0, 0, 1), 70), "leftLowerArm": rq((0, -1, 0), 40)}


def arm_track(visible: list[bool]) -> tuple[list[F64], list[float]]:
    r = Retargeter(SolverOptions(filter=False))
    arms, hand_heights = [], []
    for i, seen in enumerate(visible):
        vis = np.ones(33)
        if not seen:
            vis[[13, 15, 17, 19, 21]] = 0.1  # elbow and wrist out of view
        frame = make_frame(RAISED, t_ms=i * 33.0, visibility=vis, hands=seen)
        pose = r.solve(frame)
        arms.append(pose.bones["leftUpperArm"])
        hand_heights.append(forward(pose.bones)[1]["leftHand"][1])
    return arms, hand_heights


def test_unseen_arm_eases_down_in_about_a_third_of_a_second_and_back_up() -> None:
    pattern = [True] * 30 + [False] * 30 + [True] * 30
    arms, heights = arm_track(pattern)
    steps = [math.degrees(float(angle_between(a, b))) for a, b in itertools.pairwise(arms)]
    assert max(steps) < 30  # a 145-degree change spread over ~10 frames (smoothstep peak 1.5x): no snap
    raised, relaxed = heights[29], heights[59]
    assert raised > relaxed + 0.4
    # 0.3 s after it vanished the arm is down, and it took a few frames to get there
    assert abs(heights[30 + 10] - relaxed) < 0.01
    assert heights[30 + 3] > relaxed + 0.1
    # seen again: back up within about 0.3 s
    assert abs(heights[60 + 10] - raised) < 0.01
    assert heights[60 + 3] < raised - 0.1


def test_a_flickering_limb_never_jumps() -> None:
    rng = np.random.default_rng(0)
    pattern = list(rng.random(120) < 0.5)
    arms, _ = arm_track(pattern)
    steps = [math.degrees(float(angle_between(a, b))) for a, b in itertools.pairwise(arms)]
    assert max(steps) < 30
