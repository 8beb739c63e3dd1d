import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rigging.codec import (
    CodecError,
    HopTiming,
    MotionPacket,
    decode,
    encode,
    encode_batch,
    packet_header,
    seq_newer,
)
from rigging.frame import parse_frame
from rigging.pose import AvatarPose
from rigging.quaternion import angle_between, normalize
from rigging.skeleton import BONES, EXPRESSIONS
from rigging.solver import Retargeter
from tests.rigging.codec_vectors import PATH, build, cases

ROOT = Path(__file__).resolve().parents[2]


def full_pose(seed: int = 0) -> AvatarPose:
    rng = np.random.default_rng(seed)
    return AvatarPose(
        t_ms=1234.5,
        hips_position=np.array([0.1, -0.25, 0.4]),
        bones=dict(zip(BONES, normalize(rng.normal(size=(len(BONES), 4))), strict=True)),
        expressions={e: float(rng.random()) for e in EXPRESSIONS},
    )


def test_full_body_packet_fits_in_300_bytes() -> None:
    size = len(encode(full_pose(), 1, HopTiming(30.0, 31.0, 32.0)))
    print(f"full body with every expression and timing: {size} bytes")
    assert size <= 300


def test_rotation_error_stays_under_half_a_degree() -> None:
    rng = np.random.default_rng(7)
    errors = []
    for _ in range(200):  # 200 packets x 55 bones = 11000 random rotations
        q = normalize(rng.normal(size=(len(BONES), 4)))
        q[:5] = normalize(q[:5] * np.array([0.01, 0.01, 0.01, 1.0]))  # near identity, the common case
        packet = decode(encode(AvatarPose(t_ms=0.0, bones=dict(zip(BONES, q, strict=True))), 0))
        back = np.array([packet.pose.bones[b] for b in BONES])
        errors.append(np.degrees(angle_between(back, q)))
    err = np.concatenate(errors)
    print(f"rotation error: max {err.max():.3f} deg, median {np.median(err):.3f} deg")
    assert err.max() <= 0.5


def test_round_trip_of_every_field() -> None:
    pose = full_pose(3)
    packet = decode(encode(pose, 70000, HopTiming(12.34, 20.0, 7000.0)))
    assert packet.seq == 70000 % 65536
    assert packet.pose.t_ms == pose.t_ms
    assert np.allclose(packet.pose.hips_position, pose.hips_position, atol=0.0005)
    for name, weight in pose.expressions.items():
        assert abs(packet.pose.expressions[name] - weight) <= 0.5 / 255 + 1e-9
    assert packet.timing == HopTiming(12.3, 20.0, 6553.5)  # tenths of a ms, saturating
    assert decode(encode(AvatarPose(t_ms=1.0), 5)).pose.bones == {}


def test_sequence_numbers_compare_across_the_wrap() -> None:
    assert seq_newer(1, 0) and seq_newer(0, 65535) and seq_newer(10, 65530)
    assert not seq_newer(65535, 0) and not seq_newer(5, 5)


@pytest.mark.parametrize(
    ("pose", "message"),
    [
        (AvatarPose(t_ms=0.0, bones={"tail": np.array([0, 0, 0, 1.0])}), "bones.tail"),
        (AvatarPose(t_ms=0.0, bones={"head": np.array([0, 0, 0, 0.0])}), "bones.head"),
        (AvatarPose(t_ms=0.0, bones={"head": np.array([math.nan, 0, 0, 1.0])}), "bones.head"),
        (AvatarPose(t_ms=0.0, expressions={"wink": 1.0}), "expressions.wink"),
        (AvatarPose(t_ms=math.inf), "t_ms"),
        (AvatarPose(t_ms=0.0, hips_position=np.array([0, math.nan, 0])), "hips_position"),
    ],
)
def test_encode_refuses_bad_poses_naming_the_field(pose: AvatarPose, message: str) -> None:
    with pytest.raises(CodecError, match=message.replace(".", r"\.")):
        encode(pose, 0)


def test_decode_never_crashes_on_random_bytes() -> None:
    rng = np.random.default_rng(11)
    good = encode(full_pose(), 3)
    outcomes = {"packet": 0, "error": 0}
    for i in range(3000):
        if i % 2:
            data = bytes(rng.integers(0, 256, size=int(rng.integers(0, 320)), dtype=np.uint8))
        else:  # mutations of a real packet reach deeper into the decoder
            buf = bytearray(good)
            for _ in range(int(rng.integers(1, 4))):
                buf[int(rng.integers(0, len(buf)))] = int(rng.integers(0, 256))
            data = bytes(buf[: int(rng.integers(0, len(buf) + 1))])
        try:
            assert isinstance(decode(data), MotionPacket)
            outcomes["packet"] += 1
        except CodecError:
            outcomes["error"] += 1
    assert outcomes["packet"] > 0 and outcomes["error"] > 0


def test_the_vector_file_is_what_the_encoder_makes() -> None:
    """The committed vectors pin the format: the encoder must still produce them byte for byte."""
    committed = json.loads(PATH.read_text())
    assert committed == json.loads(json.dumps(build())), "format changed: see tests/rigging/codec_vectors.py"
    for case in committed["valid"]:
        packet = decode(bytes.fromhex(case["hex"]))
        exp = case["expected"]
        assert packet.seq == exp["seq"] and packet.pose.t_ms == exp["t_ms"]
        assert set(packet.pose.bones) == set(exp["bones"])
    for case in committed["invalid"]:
        with pytest.raises(CodecError, match=case["error"]):
            decode(bytes.fromhex(case["hex"]))


def test_javascript_humanoid_lists_match_python() -> None:
    text = (ROOT / "web_client" / "src" / "humanoid.js").read_text()
    bones = json.loads(text.split("BONES = Object.freeze(")[1].split(");")[0])
    expressions = json.loads(text.split("EXPRESSIONS = Object.freeze(")[1].split(");")[0])
    assert bones == list(BONES) and expressions == list(EXPRESSIONS)


def test_javascript_decoder_reads_the_shared_vectors() -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the web client's tests (scripts/setup.sh checks for it)"
    result = subprocess.run(
        [node, "--test", "test/"],
        cwd=ROOT / "web_client",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_batch_encodes_byte_for_byte_what_encode_gives() -> None:
    rng = np.random.default_rng(5)
    poses, seqs, timings = [], [], []
    for i in range(40):
        pose = full_pose(i)
        keep = [b for b in BONES if rng.random() < 0.7]
        order = list(rng.permutation(keep))  # dict order need not be wire order
        pose.bones = {str(b): pose.bones[b] * float(rng.uniform(0.5, 2.0)) for b in order}  # not unit
        pose.expressions = {str(e): float(rng.uniform(-0.2, 1.2)) for e in EXPRESSIONS if rng.random() < 0.5}
        pose.hips_position = rng.normal(scale=20.0, size=3)  # some beyond the clamp
        poses.append(pose)
        seqs.append(int(rng.integers(0, 200_000)))
        timings.append(None if i % 3 else HopTiming(*rng.uniform(0, 9000, 3)))
    poses.append(AvatarPose(t_ms=7.0))
    seqs.append(1)
    timings.append(None)
    expected = [encode(p, s, t) for p, s, t in zip(poses, seqs, timings, strict=True)]
    assert encode_batch(poses, seqs, timings) == expected
    assert encode_batch([], [], []) == []


def test_a_batch_encodes_the_shared_vectors_and_solver_output() -> None:
    committed = {case["name"]: case["hex"] for case in json.loads(PATH.read_text())["valid"]}
    named = cases()
    packets = encode_batch([c[1] for c in named], [c[2] for c in named], [c[3] for c in named])
    assert [p.hex() for p in packets] == [committed[c[0]] for c in named]
    lines = (ROOT / "assets" / "demo" / "book.jsonl").read_text().splitlines()
    solver = Retargeter()
    solved = [solver.solve(parse_frame(json.loads(line))) for line in lines]
    timing = HopTiming(1.0, 2.5, 3.25)
    assert encode_batch(solved, list(range(len(solved))), [timing] * len(solved)) == [
        encode(p, i, timing) for i, p in enumerate(solved)
    ]


def test_a_batch_with_a_bad_pose_names_it() -> None:
    good = full_pose(1)
    bad = AvatarPose(t_ms=0.0, bones={"head": np.array([0, 0, 0, 0.0])})
    with pytest.raises(CodecError, match=r"pose 1: bones\.head"):
        encode_batch([good, bad, good], [0, 1, 2], [None, None, None])
    with pytest.raises(CodecError, match=r"pose 0: expressions\.wink"):
        encode_batch([AvatarPose(t_ms=0.0, expressions={"wink": 1.0})], [0], [None])
    with pytest.raises(CodecError, match="timing"):
        encode_batch([good], [0], [HopTiming(math.nan, 0.0, 0.0)])
    with pytest.raises(CodecError, match="2 sequence numbers"):
        encode_batch([good], [0, 1], [None])


def test_solved_poses_changed_afterwards_encode_what_they_hold() -> None:
    lines = (ROOT / "assets" / "demo" / "book.jsonl").read_text().splitlines()
    solver = Retargeter()
    solved = [solver.solve(parse_frame(json.loads(line))) for line in lines[:4]]
    assert all(p.bone_rows() is not None for p in solved)
    # a bone replaced, one rotated in place, one dropped, and the dict reordered
    solved[0].bones["head"] = np.array([0.0, 0.0, 0.0, 1.0])
    solved[1].bones["head"][:] = [0.0, 1.0, 0.0, 0.0]
    del solved[2].bones["hips"]
    solved[3].bones = dict(reversed(solved[3].bones.items()))
    assert [p.bone_rows() is None for p in solved] == [True, False, True, True]
    by_hand = [AvatarPose(p.t_ms, p.hips_position.copy(), dict(p.bones), dict(p.expressions)) for p in solved]
    timing = HopTiming(1.0, 2.5, 3.25)
    expected = [encode(p, i, timing) for i, p in enumerate(by_hand)]
    assert encode_batch(solved, list(range(4)), [timing] * 4) == expected
    assert [encode(p, i, timing) for i, p in enumerate(solved)] == expected
    assert encode_batch(solved[1:2], [1], [timing]) == expected[1:2]


def test_the_header_alone_gives_sequence_capture_time_and_timing() -> None:
    lines = (ROOT / "assets" / "demo" / "book.jsonl").read_text().splitlines()
    pose = Retargeter().solve(parse_frame(json.loads(lines[0])))
    for seq, timing in ((7, HopTiming(1.0, 2.5, 3.25)), (65535, None)):
        packet = encode(pose, seq, timing)
        assert packet_header(packet) == (seq, pose.t_ms, timing is not None)
    with pytest.raises(CodecError, match="too short"):
        packet_header(packet[:5])
