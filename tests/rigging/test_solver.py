import itertools
import math

import numpy as np
import pytest

from rigging.frame import FrameError, TrackingFrame
from rigging.limits import CONES
from rigging.quaternion import (
    F64,
    IDENTITY,
    angle,
    angle_between,
    multiply,
    normalize,
    swing_twist,
    to_matrix,
)
from rigging.skeleton import BONES, REST
from rigging.solver import Retargeter, SolverOptions
from tests.rigging.posed_landmarks import forward, make_frame, rq, segment_errors

INSTANT = SolverOptions(filter=False, ease_ms=0.0)
LIMB_BONE_ENDINGS = ("Arm", "Hand", "Leg", "Foot", "Proximal", "Intermediate", "Distal", "Metacarpal")


def solve(locals_: dict[str, F64], **kw: object) -> dict[str, F64]:
    return Retargeter(INSTANT).solve(make_frame(locals_, **kw)).bones  # type: ignore[arg-type]


def test_t_pose_gives_identity_everywhere() -> None:
    bones = solve({})
    worst = max(math.degrees(float(angle(q))) for q in bones.values())
    assert worst < 0.01


def random_pose(rng: np.random.Generator) -> dict[str, F64]:
    """Anatomically plausible random pose: hinges bend one way, everything inside its cone."""

    def cone(bone: str, fraction: float = 0.6) -> F64:
        axis = REST.direction(bone)
        perp = np.cross(axis, rng.normal(size=3))
        swing = rq(tuple(perp), rng.uniform(0, fraction * CONES[bone].swing_deg))  # type: ignore[arg-type]
        twist = rq(tuple(axis), rng.uniform(-1, 1) * fraction * CONES[bone].twist_deg)  # type: ignore[arg-type]
        return multiply(swing, twist)

    pose = {b: cone(b, 0.3) for b in ("spine", "chest")}
    pose["hips"] = rq((0, 1, 0), rng.uniform(-60, 60))
    for side, s in (("left", -1.0), ("right", 1.0)):
        pose[f"{side}UpperArm"] = cone(f"{side}UpperArm", 0.5)
        pose[f"{side}LowerArm"] = multiply(
            rq((0, s, 0), rng.uniform(5, 130)), rq((-s, 0, 0), rng.uniform(-80, 80))
        )
        pose[f"{side}Hand"] = cone(f"{side}Hand", 0.5)
        pose[f"{side}UpperLeg"] = rq((1, 0, 0), rng.uniform(-80, 20))
        pose[f"{side}LowerLeg"] = rq((1, 0, 0), rng.uniform(5, 110))
        for finger in ("Index", "Middle", "Ring", "Little"):
            pose[f"{side}{finger}Proximal"] = multiply(
                rq((0, 0, s), rng.uniform(0, 80)), rq((0, 1, 0), rng.uniform(-10, 10))
            )
            pose[f"{side}{finger}Intermediate"] = rq((0, 0, s), rng.uniform(0, 90))
            pose[f"{side}{finger}Distal"] = rq((0, 0, s), rng.uniform(0, 60))
        pose[f"{side}ThumbMetacarpal"] = rq((0, 1, 0), rng.uniform(-30, 30))
        pose[f"{side}ThumbProximal"] = rq((0, s, 0), rng.uniform(0, 40))
        pose[f"{side}ThumbDistal"] = rq((0, s, 0), rng.uniform(0, 50))
    return pose


def test_random_poses_point_every_limb_and_finger_where_the_landmarks_do() -> None:
    rng = np.random.default_rng(42)
    errors: list[float] = []
    for _ in range(60):
        truth = random_pose(rng)
        errs = segment_errors(truth, solve(truth))
        # segments of the limb bones themselves (torso internals are not observable from landmarks)
        errors += [v for k, v in errs.items() if k.split("->")[0].endswith(LIMB_BONE_ENDINGS)]
    assert np.median(errors) < 0.01
    assert np.percentile(errors, 99) < 0.5


def test_no_mirroring_the_persons_right_hand_raises_the_avatars_right_hand() -> None:
    # The person's right upper arm points up: avatar-frame rotation of the right arm from -X to +Y.
    truth = {"rightUpperArm": rq((0, 0, 1), -90)}
    frame = make_frame(truth)
    assert frame.pose_world is not None
    # In MediaPipe's world (y down) the person's right wrist is above (smaller y) the shoulder,
    # and on the image's left (x < 0), since the person faces the camera.
    assert frame.pose_world[16, 1] < frame.pose_world[12, 1] - 0.3
    assert frame.pose_world[16, 0] < 0
    bones = Retargeter(INSTANT).solve(frame).bones
    _, pos, _ = forward(bones)
    assert pos["rightHand"][1] > pos["rightUpperArm"][1] + 0.3
    assert pos["leftHand"][1] < pos["leftUpperArm"][1] + 0.05


def test_each_hand_drives_its_own_side() -> None:
    truth = {"leftIndexProximal": rq((0, 0, -1), 70), "leftIndexIntermediate": rq((0, 0, -1), 80)}
    bones = solve(truth)
    assert math.degrees(float(angle(bones["leftIndexProximal"]))) == pytest.approx(70, abs=0.5)
    assert math.degrees(float(angle(bones["rightIndexProximal"]))) < 0.5
    # Feeding the left hand as the right one puts the palm the wrong way round: large errors.
    frame = make_frame(truth)
    swapped = TrackingFrame(
        t_ms=0,
        pose_world=frame.pose_world,
        left_hand_world=frame.right_hand_world,
        right_hand_world=frame.left_hand_world,
    )
    wrong = Retargeter(INSTANT).solve(swapped).bones
    assert max(segment_errors(truth, wrong).values()) > 20


@pytest.mark.parametrize("twist", [-170.0, 170.0])
def test_a_palm_turned_up_keeps_its_hand_where_the_landmarks_put_it(twist: float) -> None:
    """The forearm turns about half a turn from palm down (the rest) to palm up; its limit is not
    symmetric about the rest, so it must let the whole half-turn through either way, or the hand
    (and every finger with it) is turned away from where the landmarks put it."""
    for side, s in (("left", -1.0), ("right", 1.0)):
        truth = {
            f"{side}UpperArm": rq((0, 0, -s), 40),
            f"{side}LowerArm": multiply(rq((0, s, 0), 90), rq((-s, 0, 0), twist)),
            f"{side}IndexProximal": rq((0, 0, s), 50),
        }
        errs = segment_errors(truth, solve(truth))
        hand = [v for k, v in errs.items() if k.startswith(f"{side}Hand->") or k.startswith(f"{side}Index")]
        assert max(hand) < 0.5


def test_limits_hold_rotations_inside_their_cones() -> None:
    # A finger bent 170 degrees backwards is beyond any hand: it is clamped to its cone.
    truth = {"leftMiddleIntermediate": rq((0, 0, 1), 170)}
    bones = solve(truth)
    q = bones["leftMiddleIntermediate"]
    swing, _twist = swing_twist(q, REST.direction("leftMiddleIntermediate"))
    assert math.degrees(float(angle(swing))) <= CONES["leftMiddleIntermediate"].swing_deg + 0.01
    assert math.degrees(float(angle(swing))) > 100  # clamped, not reset


def test_head_from_face_matrix_and_from_face_points() -> None:
    yaw = rq((0, 1, 0), 30)
    m = np.eye(4)
    m[:3, :3] = to_matrix(yaw) * 1.3  # the matrix may carry a scale
    frame = make_frame({})
    with_matrix = TrackingFrame(t_ms=0, pose_world=frame.pose_world, face_matrix=m)
    bones = Retargeter(INSTANT).solve(with_matrix).bones
    head_world = multiply(bones["neck"], bones["head"])
    assert math.degrees(float(angle_between(head_world, yaw))) < 0.1
    # without a matrix the ears and nose of the pose give the same turn
    bones = solve({"neck": rq((0, 1, 0), 15), "head": rq((0, 1, 0), 15)})
    assert math.degrees(float(angle_between(multiply(bones["neck"], bones["head"]), yaw))) < 0.5


def test_crouching_lowers_the_hips() -> None:
    standing = Retargeter(INSTANT).solve(make_frame({}))
    pose = {f"{s}UpperLeg": rq((1, 0, 0), -60) for s in ("left", "right")}
    pose |= {f"{s}LowerLeg": rq((1, 0, 0), 110) for s in ("left", "right")}
    pose |= {f"{s}Foot": rq((1, 0, 0), -50) for s in ("left", "right")}
    crouching = Retargeter(INSTANT).solve(make_frame(pose))
    assert abs(standing.hips_position[1]) < 0.02
    assert crouching.hips_position[1] < -0.15


def test_expressions_from_blendshapes() -> None:
    frame = make_frame({})
    r = Retargeter(INSTANT)

    def run(shapes: dict[str, float], t: float) -> dict[str, float]:
        return r.solve(
            TrackingFrame(t_ms=t, pose_world=frame.pose_world, face_blendshapes=shapes)
        ).expressions

    assert run({"jawOpen": 0.6}, 0).get("aa", 0) > 0.5
    assert run({"mouthPucker": 0.8, "jawOpen": 0.3}, 1).get("ou", 0) > 0.3
    blink = run({"eyeBlinkLeft": 0.9}, 2)
    assert blink.get("blinkLeft", 0) > 0.8 and blink.get("blinkRight", 0) == 0 and blink.get("blink", 0) == 0
    both = run({"eyeBlinkLeft": 0.9, "eyeBlinkRight": 0.9}, 3)
    assert both.get("blink", 0) > 0.8 and both.get("blinkLeft", 0) < 0.05
    assert run({"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8}, 4).get("happy", 0) > 0.8
    assert run({"eyeLookOutLeft": 0.7, "eyeLookInRight": 0.7}, 5).get("lookLeft", 0) > 0.8
    assert all(
        0.0 <= w <= 1.0 for w in run({k: 1.0 for k in ("jawOpen", "mouthFunnel", "browDownLeft")}, 6).values()
    )
    assert run({}, 7) == {}


def test_timestamps_must_increase() -> None:
    r = Retargeter()
    r.solve(make_frame({}, t_ms=10))
    with pytest.raises(FrameError, match="t_ms"):
        r.solve(make_frame({}, t_ms=10))
    r.solve(make_frame({}, t_ms=11))  # the solver is still usable


def test_nobody_in_view_eases_everything_to_rest() -> None:
    r = Retargeter(SolverOptions(filter=False))
    raised = {"leftUpperArm": rq((0, 0, 1), 60)}
    for i in range(20):
        r.solve(make_frame(raised, t_ms=i * 33.0))
    out = [r.solve(TrackingFrame(t_ms=700 + i * 33.0, pose_world=None)) for i in range(15)]
    arm = [o.bones["leftUpperArm"] for o in out]
    steps = [math.degrees(float(angle_between(a, b))) for a, b in itertools.pairwise(arm)]
    assert max(steps) < 25  # no snap
    relaxed = out[-1].bones["leftUpperArm"]
    _, pos, _ = forward({"leftUpperArm": relaxed})
    assert pos["leftHand"][1] < pos["leftUpperArm"][1] - 0.4  # hanging down


def test_every_output_quaternion_is_unit_and_finite_under_noise() -> None:
    rng = np.random.default_rng(3)
    r = Retargeter()
    for i in range(50):
        frame = make_frame(random_pose(rng), t_ms=i * 33.0)
        assert frame.pose_world is not None
        frame.pose_world[:, :3] += rng.normal(scale=0.03, size=(33, 3))
        pose = r.solve(frame)
        qs = np.array(list(pose.bones.values()))
        assert np.all(np.isfinite(qs)) and np.allclose(np.linalg.norm(qs, axis=1), 1.0)
        assert set(pose.bones) <= set(BONES)


def test_degenerate_landmarks_do_not_break_the_solver() -> None:
    # every landmark at the same point: no direction is defined anywhere
    pose = np.zeros((33, 4))
    pose[:, 3] = 1.0
    hand = np.zeros((21, 3))
    out = Retargeter(INSTANT).solve(TrackingFrame(t_ms=0, pose_world=pose, left_hand_world=hand))
    qs = np.array(list(out.bones.values()))
    assert np.all(np.isfinite(qs))
    assert np.allclose(np.linalg.norm(normalize(qs), axis=1), 1.0)
    assert np.all(np.isfinite(out.hips_position))
    _ = IDENTITY


def test_hips_follow_the_person_sideways_and_in_depth_from_the_image() -> None:
    """pose_image gives the hips' motion: right in the image is +X, larger on screen is nearer (+Z)."""
    r = Retargeter(INSTANT)
    frame = make_frame({})
    assert frame.pose_world is not None
    width = float(np.linalg.norm(frame.pose_world[11, :3] - frame.pose_world[12, :3]))

    def seen_at(u: float, scale: float, t: float) -> TrackingFrame:
        # a person of shoulder width `width` m whose shoulders span `scale` of the image width
        image = np.zeros((33, 4))
        image[:, 3] = 1.0
        image[:, 0] = u + frame.pose_world[:, 0] / width * scale  # type: ignore[index]
        image[:, 1] = 0.5 + frame.pose_world[:, 1] / width * scale  # type: ignore[index]
        return TrackingFrame(t_ms=t, pose_world=frame.pose_world, pose_image=image)

    start = r.solve(seen_at(0.5, 0.2, 0.0)).hips_position
    moved = r.solve(seen_at(0.7, 0.2, 33.0)).hips_position
    nearer = r.solve(seen_at(0.5, 0.3, 66.0)).hips_position
    assert np.allclose(start, 0.0)
    assert moved[0] == pytest.approx(width, rel=1e-6) and abs(moved[2]) < 1e-6  # moved by one shoulder width
    focal = 0.5 / math.tan(math.radians(30))  # the default 60-degree field of view
    assert nearer[2] == pytest.approx(focal * width * (1 / 0.2 - 1 / 0.3), rel=1e-6) and abs(nearer[0]) < 1e-6
