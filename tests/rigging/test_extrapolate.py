"""Carrying a pose forward between tracked frames (rigging.extrapolate)."""

import numpy as np

from rigging.extrapolate import HORIZON_MS, carry_forward
from rigging.pose import AvatarPose
from rigging.quaternion import angle_between, from_axis_angle

AXIS = np.array([0.3, 0.8, -0.5]) / np.linalg.norm([0.3, 0.8, -0.5])


def _pose(t_ms: float, degrees: float, smile: float, x: float) -> AvatarPose:
    q = from_axis_angle(AXIS, np.radians(degrees))
    return AvatarPose(t_ms, np.array([x, 0.0, 0.0]), {"leftUpperArm": q, "head": q}, {"happy": smile})


def test_a_steady_turn_goes_on_at_the_same_speed() -> None:
    before, newest = _pose(0.0, 10.0, 0.2, 0.00), _pose(33.3, 20.0, 0.3, 0.01)
    out = carry_forward(before, newest, 33.3 + 16.65)  # half a frame later
    truth = from_axis_angle(AXIS, np.radians(25.0))
    assert np.degrees(angle_between(out.bones["leftUpperArm"], truth)) < 1e-6
    assert abs(out.expressions["happy"] - 0.35) < 1e-9
    assert abs(out.hips_position[0] - 0.015) < 1e-9
    assert out.t_ms == 33.3 + 16.65


def test_motion_stops_at_the_horizon_and_weights_stay_in_range() -> None:
    before, newest = _pose(0.0, 0.0, 0.0, 0.0), _pose(10.0, 10.0, 0.9, 0.0)
    far = carry_forward(before, newest, 10.0 + 10 * HORIZON_MS)
    at_horizon = carry_forward(before, newest, 10.0 + HORIZON_MS)
    assert np.degrees(angle_between(far.bones["head"], at_horizon.bones["head"])) < 1e-9
    assert far.expressions["happy"] == 1.0  # clipped, not 0.9 + 6.6 * 0.9


def test_without_a_previous_pose_or_time_order_the_newest_holds() -> None:
    newest = _pose(50.0, 30.0, 0.5, 0.1)
    for previous in (None, _pose(50.0, 0.0, 0.0, 0.0), _pose(80.0, 0.0, 0.0, 0.0)):
        out = carry_forward(previous, newest, 70.0)
        assert np.allclose(out.bones["head"], newest.bones["head"])
        assert out.expressions == newest.expressions
        assert out.t_ms == 70.0


def test_a_bone_new_in_the_newest_pose_turns_from_rest() -> None:
    before = AvatarPose(0.0, np.zeros(3), {}, {})
    newest = _pose(30.0, 6.0, 0.0, 0.0)
    out = carry_forward(before, newest, 60.0)
    assert np.degrees(angle_between(out.bones["head"], from_axis_angle(AXIS, np.radians(12.0)))) < 1e-6
