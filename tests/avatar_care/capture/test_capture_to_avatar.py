"""Real video through capture and the solver: the avatar's arms and hands do what the person does."""

import math

import numpy as np

from rigging.frame import TrackingFrame
from rigging.landmarks import to_avatar
from rigging.solver import Retargeter, SolverOptions
from tests.rigging.posed_landmarks import forward

SIDES = (("left", 11, 15), ("right", 12, 16))


def test_arms_follow_the_person_and_both_wrists_rise_in_front_of_the_chest(
    book_clip: tuple[list[TrackingFrame], list[object]],
) -> None:
    frames, _ = book_clip
    # VIDEO mode has smoothed the landmarks already: the solver does not filter again.
    solver = Retargeter(SolverOptions(filter=False))
    angles: list[float] = []
    raised_frames = raised_ok = 0
    rest_hand = forward({})[1]
    for frame in frames:
        pose = solver.solve(frame)
        if frame.pose_world is None or frame.pose_image is None or frame.t_ms < 400:
            continue  # skip the first moments while limbs ease in from rest
        _, joints, _ = forward(pose.bones)
        pts = to_avatar(frame.pose_world)
        for side, shoulder, wrist in SIDES:
            if min(frame.pose_world[shoulder, 3], frame.pose_world[wrist, 3]) < 0.5:
                continue
            seen = pts[wrist] - pts[shoulder]
            shown = joints[f"{side}Hand"] - joints[f"{side}UpperArm"]
            cos = np.dot(seen, shown) / (np.linalg.norm(seen) * np.linalg.norm(shown))
            angles.append(math.degrees(math.acos(np.clip(cos, -1, 1))))
        img = frame.pose_image
        chest_y = 0.5 * (img[11, 1] + img[23, 1])
        if img[15, 1] < chest_y and img[16, 1] < chest_y:  # both wrists up in the image
            raised_frames += 1
            chest = joints["upperChest"]
            ok = all(
                joints[f"{s}Hand"][1] > rest_hand[f"{s}Hand"][1] - 0.35  # well above hanging (~0.6 m below)
                and joints[f"{s}Hand"][2] > chest[2] + 0.05  # in front of the chest
                for s in ("left", "right")
            )
            raised_ok += ok
    print(
        f"shoulder-to-wrist direction error: median {np.median(angles):.1f} deg over {len(angles)} arms; "
        f"both hands raised in front in {raised_ok}/{raised_frames} frames"
    )
    assert len(angles) > 100
    assert np.median(angles) < 12
    assert raised_frames > 30
    assert raised_ok >= 0.8 * raised_frames
