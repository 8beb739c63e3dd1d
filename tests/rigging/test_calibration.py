import math

import numpy as np
import pytest

from rigging.calibration import Calibration
from rigging.frame import TrackingFrame
from rigging.quaternion import angle, to_matrix
from rigging.solver import Retargeter, SolverOptions
from tests.rigging.posed_landmarks import forward, make_frame, rq


def tilted(frame: TrackingFrame, degrees: float) -> TrackingFrame:
    """The same person seen by a camera pitched by ``degrees`` (MediaPipe axes)."""
    m = to_matrix(rq((1, 0, 0), degrees))
    assert frame.pose_world is not None
    pose = frame.pose_world.copy()
    pose[:, :3] = pose[:, :3] @ m.T
    hands = [None if h is None else h @ m.T for h in (frame.left_hand_world, frame.right_hand_world)]
    return TrackingFrame(
        t_ms=frame.t_ms, pose_world=pose, left_hand_world=hands[0], right_hand_world=hands[1]
    )


def test_calibration_removes_camera_tilt_and_keeps_the_motion() -> None:
    neutral = [tilted(make_frame({}, t_ms=i * 33.0), 20) for i in range(15)]
    plain = Retargeter(SolverOptions(filter=False, ease_ms=0))
    assert math.degrees(float(angle(plain.solve(neutral[0]).bones["hips"]))) > 15

    r = Retargeter(SolverOptions(filter=False, ease_ms=0))
    calibration = r.calibrate(neutral)
    assert math.degrees(float(angle(calibration.camera))) == pytest.approx(20, abs=0.5)
    later = tilted(make_frame({"rightUpperArm": rq((0, 0, 1), -90)}, t_ms=1000), 20)
    pose = r.solve(later)
    assert math.degrees(float(angle(pose.bones["hips"]))) < 0.5
    _, pos, _ = forward(pose.bones)
    assert pos["rightHand"][1] > pos["rightUpperArm"][1] + 0.4  # still raised straight up


def test_calibration_removes_a_habitual_head_turn() -> None:
    looking_down = {"neck": rq((1, 0, 0), 6), "head": rq((1, 0, 0), 6)}
    r = Retargeter(SolverOptions(filter=False, ease_ms=0))
    r.calibrate([make_frame(looking_down, t_ms=i * 33.0) for i in range(10)])
    pose = r.solve(make_frame(looking_down, t_ms=1000))
    assert math.degrees(float(angle(pose.bones["head"]))) < 0.3


def test_calibration_file_round_trip_and_bad_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = Calibration(camera=rq((1, 0, 0), 10), head=rq((0, 1, 0), 5), hips=np.array([0.1, 0.0, -2.0]))
    path = tmp_path / "c.json"
    c.save(path)
    again = Calibration.load(path)
    assert np.allclose(again.camera, c.camera) and again.hips is not None and np.allclose(again.hips, c.hips)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        Calibration.load(path)
    with pytest.raises(ValueError, match="calibration"):
        Calibration.from_json({"camera": [0, 0, 0], "head": [0, 0, 0, 1]})
    with pytest.raises(ValueError, match="finite"):
        Calibration.from_json({"camera": [0, 0, float("nan"), 1], "head": [0, 0, 0, 1]})


def test_calibration_needs_the_operator_in_view() -> None:
    with pytest.raises(ValueError, match="shoulders"):
        Retargeter().calibrate([TrackingFrame(t_ms=0, pose_world=None)])
