"""``avatar-care retarget`` and ``calibrate`` run as a user runs them: the installed command."""

import json
from pathlib import Path

from tests.rigging.posed_landmarks import make_frame, rq
from tests.support import run_cli


def write_frames(path: Path, n: int = 20, extra: tuple[str, ...] = ()) -> None:
    lines = [
        json.dumps(make_frame({"rightUpperArm": rq((0, 0, 1), -60)}, t_ms=i * 33.0).to_json())
        for i in range(n)
    ]
    path.write_text("\n".join([*lines[:5], *extra, *lines[5:]]) + "\n")


def test_retarget_writes_one_pose_per_usable_line(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_frames(src, extra=("not json", '{"t_ms": 1, "pose_world": [[0, 0, 0, 1]]}'))
    result = run_cli("retarget", str(src), str(out))
    assert result.returncode == 0, result.stderr
    poses = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(poses) == 20
    assert [p["t_ms"] for p in poses] == [i * 33.0 for i in range(20)]
    assert set(poses[-1]) == {"t_ms", "hips_position", "bones", "expressions"}
    assert "rightUpperArm" in poses[-1]["bones"] and len(poses[-1]["bones"]["rightUpperArm"]) == 4
    assert (
        "2 line(s) skipped" in result.stderr
        and "line 6" in result.stderr
        and "line 7: pose_world" in result.stderr
    )


def test_no_filter_and_strict(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_frames(src, extra=("not json",))
    assert run_cli("retarget", "--no-filter", str(src), str(out)).returncode == 0
    strict = run_cli("retarget", "--strict", str(src), str(out))
    assert strict.returncode == 2 and "line 6" in strict.stderr


def test_calibrate_then_retarget(tmp_path: Path) -> None:
    src, calib, out = tmp_path / "in.jsonl", tmp_path / "c.json", tmp_path / "out.jsonl"
    write_frames(src)
    assert run_cli("calibrate", str(src), str(calib)).returncode == 0
    assert set(json.loads(calib.read_text())) == {"camera", "head", "hips"}
    assert run_cli("retarget", "--calibration", str(calib), str(src), str(out)).returncode == 0
    calib.write_text("[]")
    bad = run_cli("retarget", "--calibration", str(calib), str(src), str(out))
    assert bad.returncode == 2 and "calibration" in bad.stderr


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("retarget", str(tmp_path / "nope.jsonl"), str(tmp_path / "out.jsonl"))
    assert result.returncode != 0 and "cannot read" in result.stderr


def test_the_voice_moves_the_mouth_when_the_face_is_not_tracked(tmp_path: Path) -> None:
    from tests.shared_data import shared

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    # 6 s of frames with a body but no face tracking, against 6 s of speech
    lines = [json.dumps(make_frame({}, t_ms=i * 1000 / 30).to_json()) for i in range(180)]
    src.write_text("\n".join(lines) + "\n")
    wav = shared("speech/sense_and_sensibility_01_austen_64kb-0870.wav")
    result = run_cli("retarget", "--audio", str(wav), str(src), str(out))
    assert result.returncode == 0, result.stderr
    poses = [json.loads(x) for x in out.read_text().splitlines()]
    mouth = [sum(p["expressions"].get(v, 0) for v in ("aa", "ih", "ou", "ee", "oh")) for p in poses]
    assert (
        max(mouth) > 0.5 and sum(m < 0.05 for m in mouth) > 10
    )  # opens while she speaks, closes between words
    assert any(p["expressions"].get("blink", 0) > 0.5 for p in poses)  # and the avatar blinks
    bad = run_cli("retarget", "--audio", str(src), str(src), str(out))
    assert bad.returncode == 2 and "in.jsonl" in bad.stderr
