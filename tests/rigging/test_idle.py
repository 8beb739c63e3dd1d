import math

import numpy as np

from rigging.idle import Liveliness
from rigging.pose import AvatarPose
from rigging.quaternion import angle_between, from_axis_angle


def run(seconds: float, **flags: bool) -> list[AvatarPose]:
    life = Liveliness(seed=3)
    base = {"chest": from_axis_angle(np.array([0, 1.0, 0]), 0.2)}
    return [
        life.apply(AvatarPose(t_ms=i * 1000 / 30, bones=dict(base), expressions={}), **flags)  # type: ignore[arg-type]
        for i in range(int(seconds * 30))
    ]


def test_an_untracked_face_blinks_every_few_seconds() -> None:
    poses = run(30, face_tracked=False, head_tracked=False)
    blink = np.array([p.expressions.get("blink", 0.0) for p in poses])
    starts = np.flatnonzero((blink[1:] > 0.5) & (blink[:-1] <= 0.5))
    assert 5 <= len(starts) <= 15  # every 2-6 s over 30 s
    assert max(np.diff(np.flatnonzero(blink > 0)).max(initial=1), 1) >= 1
    longest = max(
        (len(run_) for run_ in np.split(blink > 0, np.flatnonzero(np.diff(blink > 0)) + 1) if run_[0]),
        default=0,
    )
    assert longest <= 6  # a blink lasts about 150 ms


def test_a_tracked_face_is_left_alone_but_still_breathes() -> None:
    poses = run(10, face_tracked=True, head_tracked=True)
    assert all("blink" not in p.expressions for p in poses)
    assert all("head" not in p.bones for p in poses)
    base = from_axis_angle(np.array([0, 1.0, 0]), 0.2)
    chest = [math.degrees(float(angle_between(p.bones["chest"], base))) for p in poses]
    assert 0.8 < max(chest) < 3.0  # breathing moves the chest a little over the tracked pose


def test_voice_drives_the_mouth_only_when_the_face_is_not_tracked() -> None:
    life = Liveliness()
    pose = AvatarPose(t_ms=0.0, expressions={"aa": 0.1})
    untracked = life.apply(pose, face_tracked=False, head_tracked=True, visemes={"oh": 0.7})
    tracked = life.apply(pose, face_tracked=True, head_tracked=True, visemes={"oh": 0.7})
    assert untracked.expressions["oh"] == 0.7
    assert tracked.expressions == {"aa": 0.1}
