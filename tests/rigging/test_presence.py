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


# A fist: every finger joint bent 60 degrees toward the palm (the left hand's palm faces -Y at rest).
FIST = RAISED | {
    f"left{finger}{joint}": rq((0, 0, -1), 60)
    for finger in ("Index", "Middle", "Ring", "Little")
    for joint in ("Proximal", "Intermediate", "Distal")
}


def finger_track(hand_seen: list[bool]) -> list[float]:
    """The shown index finger's middle joint's bend (degrees) while the hand comes and goes."""
    r = Retargeter(SolverOptions(filter=False))
    bends = []
    for i, seen in enumerate(hand_seen):
        pose = r.solve(make_frame(FIST, t_ms=i * 33.0, hands=seen))
        bends.append(
            math.degrees(float(angle_between(pose.bones["leftIndexIntermediate"], rq((0, 0, 1), 0))))
        )
    return bends


def test_fingers_seen_again_show_their_shape_at_once() -> None:
    # The arm is in view all along; only the hand's own landmarks come and go.
    bends = finger_track([False] * 20 + [True] * 5)
    assert bends[19] < 20  # at rest: loosely curled
    assert abs(bends[20] - 60) < 0.5  # the first frame the hand is found shows its handshape


def test_fingers_hold_their_shape_through_a_short_gap_then_relax() -> None:
    bends = finger_track([True] * 10 + [False] * 4 + [True] * 3 + [False] * 40)
    # Lost for four frames (0.13 s): the handshape is held, not relaxed and formed again.
    assert all(abs(b - 60) < 0.5 for b in bends[:17])
    # Lost for good: held for one ease time (0.3 s), then eased to rest over another.
    assert abs(bends[17 + 8] - 60) < 0.5
    assert 20 < bends[17 + 13] < 55
    assert bends[17 + 20] < 20
    steps = [abs(a - b) for a, b in itertools.pairwise(bends[17:])]
    assert max(steps) < 15  # relaxing, it glides
