"""The finger metric and the causes it names, on hands whose truth is known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rigging.hand_fidelity import (
    ARM_EASING_IN,
    ARM_NOT_IN_VIEW,
    BENT_BACKWARDS,
    BENT_TOO_FAR,
    COLLAPSED,
    PAST_LIMIT,
    HandFidelity,
    figures,
    hand_points,
    hand_shape,
    tracker_causes,
)
from rigging.landmarks import HandPoint, to_avatar
from rigging.pose import AvatarPose
from rigging.quaternion import F64
from rigging.solver import Retargeter, SolverOptions
from tests.rigging.posed_landmarks import make_frame, rq

INSTANT = SolverOptions(filter=False, ease_ms=0.0)
FINGERS = ("Index", "Middle", "Ring", "Little")


def curled(bends: tuple[float, float, float]) -> dict[str, F64]:
    """Both hands' four fingers bent toward the palm by ``bends`` at base, middle and end joint."""
    pose = {}
    for side, s in (("left", -1.0), ("right", 1.0)):
        for finger in FINGERS:
            for joint, bend in zip(("Proximal", "Intermediate", "Distal"), bends, strict=True):
                pose[f"{side}{finger}{joint}"] = rq((0, 0, s), bend)
    return pose


def test_a_solved_hand_matches_its_landmarks_and_bends_toward_the_palm() -> None:
    truth = curled((50.0, 70.0, 30.0))
    frame = make_frame(truth)
    pose = Retargeter(INSTANT).solve(frame)
    samples = HandFidelity(ease_ms=0.0).step(frame, pose)
    assert [s.side for s in samples] == ["left", "right"]
    for s in samples:
        assert s.errors.max() < 0.1 and s.hand_error < 0.1 and s.palm_error < 0.1
        # the bends are signed toward the palm, on either hand (the base knuckle's from the
        # wrist-to-knuckle line, a few degrees off the finger's rest line)
        assert np.allclose(s.tracked.flexion, [50.0, 70.0, 30.0], atol=3.0)
        assert np.allclose(s.avatar.flexion, s.tracked.flexion, atol=0.5)
        assert s.causes == frozenset()


def test_the_metric_can_fail() -> None:
    """The rest pose's loose fingers against a fist are far off."""
    frame = make_frame(curled((80.0, 90.0, 60.0)))
    samples = HandFidelity(ease_ms=0.0).step(frame, AvatarPose(t_ms=0.0))
    f = figures(samples)
    assert f.median > 40 and f.clean_median > 40
    assert all(a < t - 40 for a, t in f.bends.values())


def test_the_tracker_causes() -> None:
    left = hand_points(AvatarPose(t_ms=0.0, bones=curled((20.0, 20.0, 10.0))), "left")
    assert tracker_causes(hand_shape(left, "left")) == set()
    backwards = hand_points(AvatarPose(t_ms=0.0, bones=curled((20.0, -60.0, 10.0))), "left")
    assert tracker_causes(hand_shape(backwards, "left")) == {BENT_BACKWARDS}
    folded = hand_points(AvatarPose(t_ms=0.0, bones=curled((20.0, 150.0, 10.0))), "left")
    assert tracker_causes(hand_shape(folded, "left")) == {BENT_TOO_FAR}
    collapsed = left.copy()
    collapsed[HandPoint.INDEX_DIP] = collapsed[HandPoint.INDEX_PIP] + 0.001 * (
        collapsed[HandPoint.INDEX_DIP] - collapsed[HandPoint.INDEX_PIP]
    )
    assert COLLAPSED in tracker_causes(hand_shape(collapsed, "left"))


def test_a_finger_folded_through_the_palm_is_held_at_its_limit_and_named() -> None:
    frame = make_frame(curled((20.0, 160.0, 10.0)))
    pose = Retargeter(INSTANT).solve(frame)
    (left, right) = HandFidelity(ease_ms=0.0).step(frame, pose)
    for s in (left, right):
        assert {PAST_LIMIT, BENT_TOO_FAR} <= s.causes
        assert s.errors.max() > 20  # the solver did not follow it there


def test_an_arm_out_of_view_and_an_arm_easing_in_are_named() -> None:
    options = SolverOptions(filter=False)  # eases in over 0.3 s
    solver, fidelity = Retargeter(options), HandFidelity(options.ease_ms, options.min_visibility)
    pose = curled((40.0, 40.0, 20.0))
    causes = []
    for i in range(20):
        vis = np.ones(33)
        if i < 5:
            vis[[13, 15]] = 0.1  # the left elbow and wrist out of view
        frame = make_frame(pose, t_ms=i * 33.0, visibility=vis)
        samples = fidelity.step(frame, solver.solve(frame))
        causes.append(samples[0].causes)
    assert all(ARM_NOT_IN_VIEW in c for c in causes[:5])
    # seen from frame 5 on: easing in for 0.3 s (frames 5 to 14), then nothing
    assert all(c == {ARM_EASING_IN} for c in causes[5:14])
    assert all(c == frozenset() for c in causes[15:])


def test_figures_leave_out_only_the_solvers_causes() -> None:
    frame = make_frame(curled((40.0, 40.0, 20.0)))
    (sample, _) = HandFidelity(ease_ms=0.0).step(frame, AvatarPose(t_ms=0.0))
    flagged = dataclasses.replace(sample, causes=frozenset({BENT_BACKWARDS}))
    assert figures([flagged]).clean_hands == 1  # the tracker's flags are counted, not left out
    excused = dataclasses.replace(sample, causes=frozenset({PAST_LIMIT}))
    f = figures([excused])
    assert f.clean_hands == 0 and f.causes[PAST_LIMIT] == 1 and np.isnan(f.clean_median)
    with pytest.raises(ValueError, match="no tracked hand"):
        figures([])


def test_tracked_points_are_read_in_the_avatar_frame() -> None:
    frame = make_frame(curled((30.0, 30.0, 30.0)))
    assert frame.left_hand_world is not None
    tracked = hand_shape(to_avatar(frame.left_hand_world), "left")
    avatar = hand_shape(hand_points(AvatarPose(t_ms=0.0, bones=curled((30.0, 30.0, 30.0))), "left"), "left")
    assert np.allclose(tracked.segments, avatar.segments, atol=1e-6)
