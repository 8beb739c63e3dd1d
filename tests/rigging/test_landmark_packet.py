"""The binary landmark packet: same frames as JSON to within half precision, same bad-input rule."""

import dataclasses
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from rigging.frame import FrameError, parse_frame
from rigging.landmark_packet import BLENDSHAPES, decode, encode, is_landmark_packet
from rigging.quaternion import angle_between
from rigging.skeleton import FINGER_BONES
from rigging.solver import Retargeter, SolverOptions
from tests.rigging import landmark_vectors

ROOT = Path(__file__).resolve().parents[2]
FINGERS = set(FINGER_BONES["left"] + FINGER_BONES["right"])
RECORDED = [
    json.loads(x) for x in (ROOT / "assets" / "demo" / "book.jsonl").read_text().splitlines() if x.strip()
]


def test_the_shared_vectors_are_what_the_encoder_makes() -> None:
    stored = json.loads(landmark_vectors.PATH.read_text())["cases"]
    assert stored == landmark_vectors.cases()  # regenerate: python -m tests.rigging.landmark_vectors


def test_a_whole_frame_fits_one_sctp_chunk_and_decodes_to_within_half_precision() -> None:
    sizes = []
    for obj in RECORDED:
        frame = parse_frame(obj)
        packet = encode(frame, 12.5)
        sizes.append(len(packet))
        back, age = decode(packet)
        assert is_landmark_packet(packet) and age == 12.5 and back.t_ms == frame.t_ms
        for name in ("pose_world", "pose_image", "left_hand_world", "right_hand_world"):
            a, b = getattr(frame, name), getattr(back, name)
            assert (a is None) == (b is None)
            if a is not None:
                assert np.max(np.abs(a - b)) <= 1e-3  # within 2 m, float16's step is at most 1 mm
        if frame.face_blendshapes is not None:
            assert back.face_blendshapes is not None
            assert set(back.face_blendshapes) == set(BLENDSHAPES)
            for k, w in frame.face_blendshapes.items():
                assert abs(back.face_blendshapes[k] - w) <= 5e-4
        if frame.face_matrix is not None:
            assert back.face_matrix is not None and np.allclose(
                back.face_matrix, frame.face_matrix, atol=1e-4
            )
    assert max(sizes) <= 1200  # aiortc's SCTP splits data channel messages above 1200 bytes
    assert max(sizes) < min(len(json.dumps(o)) for o in RECORDED if o.get("face_blendshapes")) / 4


def test_the_avatar_moves_the_same_from_either_form() -> None:
    from_json = Retargeter(SolverOptions(filter=False))
    from_binary = Retargeter(SolverOptions(filter=False))
    errors: dict[bool, list[float]] = {False: [], True: []}  # bones of the body, of the fingers
    for obj in RECORDED:
        a = from_json.solve(parse_frame(obj))
        b = from_binary.solve(decode(encode(parse_frame(obj)))[0])
        for k in a.bones:
            errors[k in FINGERS].append(math.degrees(float(angle_between(a.bones[k], b.bones[k]))))
    assert np.median(errors[False]) < 0.05 and max(errors[False]) < 2.0
    # A phalanx is 1.5 to 4 cm long: float16's step on the hand's points (0.06 mm) turns it by up
    # to a quarter of a degree, more where the tracker shortened it to a few millimetres.
    assert np.median(errors[True]) < 0.5 and np.percentile(errors[True], 99) < 2.0 and max(errors[True]) < 5.0


def test_broken_packets_are_refused_with_a_reason() -> None:
    good = encode(parse_frame(RECORDED[0]))
    cases = {
        b"AL\x01": "shorter than",
        b"XX" + good[2:]: "magic",
        good[:2] + b"\x02" + good[3:]: "version 2",
        good[:3] + b"\xff" + good[4:]: "unknown parts",
        good[:-2]: "bytes, the parts announced take",
        good + b"\x00": "bytes, the parts announced take",
        good[:4] + struct.pack("<d", math.nan) + good[12:]: "t_ms",
    }
    for packet, reason in cases.items():
        with pytest.raises(FrameError, match=reason):
            decode(packet)


def test_nan_is_repaired_by_the_same_rule_as_in_json() -> None:
    obj = json.loads(
        json.dumps(next(o for o in RECORDED if o.get("left_hand_world") and o.get("face_blendshapes")))
    )
    obj["pose_world"][15][0] = math.nan
    obj["left_hand_world"][3][1] = math.nan
    obj["face_blendshapes"]["jawOpen"] = math.nan
    from_json = parse_frame(obj)
    # the same damage, carried as NaN in the binary form (float16 has NaN)
    frame = parse_frame(next(o for o in RECORDED if o.get("left_hand_world") and o.get("face_blendshapes")))
    assert frame.pose_world is not None and frame.left_hand_world is not None
    pose, hand = frame.pose_world.copy(), frame.left_hand_world.copy()
    pose[15, 0] = math.nan
    hand[3, 1] = math.nan
    damaged = dataclasses.replace(
        frame,
        pose_world=pose,
        left_hand_world=hand,
        face_blendshapes=dict(frame.face_blendshapes or {}) | {"jawOpen": math.nan},
    )
    from_binary, _ = decode(encode(damaged))
    for repaired in (from_json, from_binary):
        assert repaired.pose_world is not None and repaired.pose_world[15, 3] == 0.0
        assert repaired.left_hand_world is None
        assert repaired.face_blendshapes is not None and "jawOpen" not in repaired.face_blendshapes
        assert len(repaired.warnings) == 3
