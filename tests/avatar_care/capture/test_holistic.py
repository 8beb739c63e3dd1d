"""Server capture on real video: what MediaPipe finds, in the contract's conventions."""

import itertools
import json
from pathlib import Path

import numpy as np

from rigging.frame import TrackingFrame, parse_frame
from tests.shared_data import shared
from tests.support import run_cli


def test_the_person_is_found_with_hands_and_face(book_clip: tuple[list[TrackingFrame], list[object]]) -> None:
    frames, _ = book_clip
    assert len(frames) == 109
    with_pose = [f for f in frames if f.pose_world is not None]
    assert len(with_pose) >= 0.9 * len(frames)
    assert sum(f.left_hand_world is not None for f in frames) >= 0.4 * len(frames)
    assert sum(f.right_hand_world is not None for f in frames) >= 0.4 * len(frames)
    shapes = next(f.face_blendshapes for f in frames if f.face_blendshapes)
    assert (
        len(shapes) == 51 and "_neutral" not in shapes and "jawOpen" in shapes
    )  # 52 less "_neutral" and "eyeBlinkLeft" in shapes
    for f in with_pose:
        assert f.pose_world is not None and f.pose_image is not None
        assert np.all(np.isfinite(f.pose_world)) and np.all(np.isfinite(f.pose_image))
        # facing the camera, unmirrored: the person's own left shoulder is toward +x (image right)
        assert f.pose_world[11, 0] > f.pose_world[12, 0]
        assert f.pose_image[11, 0] > f.pose_image[12, 0]
        parse_frame(json.loads(json.dumps(f.to_json())))  # what capture writes, the solver reads


def test_left_hand_is_the_persons_own_left_hand(no_clip: tuple[list[TrackingFrame], list[object]]) -> None:
    """The holistic task's left hand has its wrist on pose landmark 15, the person's left wrist."""
    _, raw = no_clip
    checked = agree = 0
    for result in raw:
        pose = getattr(result, "pose_landmarks", None)
        for hand_name, wrist_index, other_index in (
            ("left_hand_landmarks", 15, 16),
            ("right_hand_landmarks", 16, 15),
        ):
            hand = getattr(result, hand_name, None)
            if not pose or not hand:
                continue
            wrist = np.array([hand[0].x, hand[0].y])
            own = np.array([pose[wrist_index].x, pose[wrist_index].y])
            other = np.array([pose[other_index].x, pose[other_index].y])
            if np.linalg.norm(own - other) < 0.15:
                continue  # hands together (signing often joins them): the test says nothing
            agree += np.linalg.norm(wrist - own) < np.linalg.norm(wrist - other)
            checked += 1
    print(f"hand wrist nearer its own side's pose wrist in {agree} of {checked} observations")
    assert checked > 80
    assert agree >= 0.95 * checked


def test_capture_command_writes_tracking_frames(tmp_path: Path) -> None:
    out = tmp_path / "thanks.jsonl"
    result = run_cli("capture", "--every", "3", str(shared("media/asl/thanks.mkv")), str(out))
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 17  # 49 frames, every third
    frames = [parse_frame(json.loads(x)) for x in lines]
    assert all(b.t_ms > a.t_ms for a, b in itertools.pairwise(frames))
    assert sum(f.pose_world is not None for f in frames) >= 15


def test_capture_command_refuses_what_is_not_video(tmp_path: Path) -> None:
    missing = run_cli("capture", str(tmp_path / "nope.mkv"), str(tmp_path / "o.jsonl"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"this is not a video at all" * 10)
    broken = run_cli("capture", str(junk), str(tmp_path / "o.jsonl"))
    assert broken.returncode == 2 and "junk.mkv" in broken.stderr


def test_image_coordinates_map_back_through_the_letterbox() -> None:
    """The same picture with a black band added must give the same landmarks in its own pixels."""
    from avatar_care.capture.holistic import HolisticCapture
    from avatar_care.capture.video import read_video

    rgb = next(t for i, t in enumerate(read_video(shared("media/asl/no.mkv"))) if i == 20)[1]
    padded = np.zeros((480, 880, 3), dtype=np.uint8)
    padded[:, :640] = rgb
    with HolisticCapture(video_mode=False) as a, HolisticCapture(video_mode=False) as b:
        plain = a.process(rgb, 0.0).pose_image
        wide = b.process(padded, 0.0).pose_image
    assert plain is not None and wide is not None
    in_pixels = plain[:, :2] * [640, 480]
    wide_pixels = wide[:, :2] * [880, 480]
    shoulders_wrists = [11, 12, 13, 14, 15, 16]
    assert np.median(np.abs(in_pixels[shoulders_wrists] - wide_pixels[shoulders_wrists])) < 8.0
