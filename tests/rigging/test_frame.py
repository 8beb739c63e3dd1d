import json
import math

import numpy as np
import pytest

from rigging.frame import FrameError, parse_frame


def good() -> dict[str, object]:
    return {
        "t_ms": 10.0,
        "pose_world": [[0.1, 0.2, 0.3, 0.9]] * 33,
        "pose_image": None,
        "left_hand_world": [[0.0, 0.0, 0.0]] * 21,
        "right_hand_world": None,
        "face_blendshapes": {"jawOpen": 0.5},
        "face_matrix": list(np.eye(4).reshape(16)),
    }


def test_a_good_frame_parses_into_arrays() -> None:
    f = parse_frame(good())
    assert f.pose_world is not None and f.pose_world.shape == (33, 4)
    assert f.left_hand_world is not None and f.right_hand_world is None
    assert f.face_matrix is not None and f.face_matrix.shape == (4, 4)
    assert f.face_blendshapes == {"jawOpen": 0.5}
    assert f.warnings == ()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"t_ms": None}, "t_ms"),
        ({"t_ms": float("nan")}, "t_ms"),
        ({"t_ms": True}, "t_ms"),
        ({"pose_world": [[0, 0, 0, 1]] * 32}, "pose_world"),
        ({"pose_world": [[0, 0, 0]] * 33}, "pose_world"),
        ({"pose_world": "lots"}, "pose_world"),
        ({"left_hand_world": [[0, 0, 0]] * 20}, "left_hand_world"),
        ({"face_matrix": [1.0] * 15}, "face_matrix"),
        ({"face_blendshapes": [0.1]}, "face_blendshapes"),
        ({"face_blendshapes": {"jawOpen": "wide"}}, "face_blendshapes.jawOpen"),
    ],
)
def test_unusable_frames_name_the_field(change: dict[str, object], field: str) -> None:
    obj = good() | change
    with pytest.raises(FrameError) as err:
        parse_frame(obj)
    assert err.value.field == field
    assert field in str(err.value)


def test_missing_keys() -> None:
    obj = good()
    del obj["pose_world"]
    with pytest.raises(FrameError, match="pose_world"):
        parse_frame(obj)
    with pytest.raises(FrameError, match="t_ms"):
        parse_frame({"pose_world": None})
    with pytest.raises(FrameError, match="JSON object"):
        parse_frame([1, 2])
    minimal = parse_frame({"t_ms": 1, "pose_world": None})
    assert minimal.pose_world is None and minimal.left_hand_world is None


def test_local_damage_is_repaired_and_counted() -> None:
    obj = good()
    pose = [[0.1, 0.2, 0.3, 0.9] for _ in range(33)]
    pose[13][1] = math.nan
    hand = [[0.0, 0.0, 0.0] for _ in range(21)]
    hand[4][2] = math.inf
    obj |= {"pose_world": pose, "left_hand_world": hand, "face_blendshapes": {"a": math.nan, "b": 0.2}}
    f = parse_frame(obj)
    assert f.pose_world is not None
    assert f.pose_world[13, 3] == 0.0  # the damaged landmark is now not visible
    assert f.pose_world[12, 3] == pytest.approx(0.9)
    assert f.left_hand_world is None
    assert f.face_blendshapes == {"b": 0.2}
    assert len(f.warnings) == 3
    assert "pose_world[13][1]" in f.warnings[0]


def test_round_trip_through_json() -> None:
    f = parse_frame(good())
    again = parse_frame(f.to_json())
    assert again.pose_world is not None and f.pose_world is not None
    assert np.allclose(again.pose_world, f.pose_world)


@pytest.mark.parametrize(
    ("where", "field"),
    [
        (lambda o: o["pose_world"][5].__setitem__(2, True), "pose_world[5][2]"),
        (lambda o: o["left_hand_world"][20].__setitem__(0, False), "left_hand_world[20][0]"),
        (lambda o: o["face_matrix"].__setitem__(15, True), "face_matrix[15]"),
        (lambda o: o["pose_world"][7].__setitem__(1, "x"), "pose_world[7][1]"),
        (lambda o: o["pose_world"].__setitem__(7, "row"), "pose_world[7]"),
        (lambda o: o["left_hand_world"][2].__setitem__(1, None), "left_hand_world[2][1]"),
        (lambda o: o["pose_world"].__setitem__(3, [0.1, 0.2, [0.3], 0.9]), "pose_world"),  # shape
        (lambda o: o["pose_world"].__setitem__(3, {"x": 1}), "pose_world[3]"),
    ],
)
def test_a_bool_or_other_non_number_anywhere_names_its_place(where: object, field: str) -> None:
    obj = json.loads(json.dumps(good()))
    where(obj)  # type: ignore[operator]
    with pytest.raises(FrameError) as err:
        parse_frame(obj)
    assert err.value.field == field


def test_numbers_of_every_json_kind_pass_the_quick_check() -> None:
    obj = good() | {"pose_world": [[0, 1, -2, 1]] * 16 + [[0.5, 1e-3, 2.5e10, 0.9]] * 17}
    f = parse_frame(json.loads(json.dumps(obj)))
    assert f.pose_world is not None and f.pose_world[0, 2] == -2.0 and f.pose_world[0, 3] == 1.0


def test_blendshape_weights_are_clamped_and_bad_ones_named() -> None:
    f = parse_frame(good() | {"face_blendshapes": {"a": 2, "b": -1, "c": 0.5, "d": 1e400 * 0}})
    assert f.face_blendshapes == {"a": 1.0, "b": 0.0, "c": 0.5}
    assert f.warnings == ("face_blendshapes.d is nan: dropped",)
    assert all(type(w) is float for w in f.face_blendshapes.values())
    with pytest.raises(FrameError) as err:
        parse_frame(good() | {"face_blendshapes": {"jawOpen": 0.1, "blink": True}})
    assert err.value.field == "face_blendshapes.blink"
