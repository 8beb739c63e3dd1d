from pathlib import Path

import numpy as np
import pytest

from rigging.bvh import BvhError, load, parse
from tests.shared_data import shared

SMALL = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Arm
  {
    OFFSET 1 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 2 0 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
0 1 0 0 0 0 0 0 0
0 1 0 0 90 0 90 0 0
"""


def test_forward_kinematics_of_a_small_file() -> None:
    m = parse(SMALL)
    assert [j.name for j in m.joints] == ["Hips", "Arm"] and m.frame_time == 0.5
    pos, rot = m.forward(0)
    assert np.allclose(pos[1], [1, 1, 0]) and np.allclose(m.end_site("Arm", pos, rot), [3, 1, 0])
    pos, rot = m.forward(1)  # hips turned 90 degrees about Y, then the arm 90 degrees about Z
    assert np.allclose(pos[1], [0, 1, -1])
    assert np.allclose(m.end_site("Arm", pos, rot), [0, 3, -1])


def test_the_cmu_recordings_load() -> None:
    for name in ("131_01", "131_02"):
        m = load(shared(f"mocap/{name}.bvh"))
        assert len(m.joints) == 31 and m.frame_time == pytest.approx(1 / 120, rel=1e-3)
        pos, _ = m.forward(len(m.frames) - 1)
        assert np.all(np.isfinite(pos))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected HIERARCHY"),
        (SMALL.replace("CHANNELS 3", "CHANNELS 9"), "0 to 6 channels"),
        (SMALL.replace("Yrotation Xrotation\n", "Yrotation Qrotation\n", 1), "unknown channel"),
        (SMALL.replace("0 1 0 0 90 0 90 0 0\n", "0 1 0 0 90 0\n"), "need 18 numbers"),
        (SMALL.replace("0 1 0 0 90 0 90 0 0", "0 1 0 0 90 0 90 x 0"), "line 20: expected a number"),
        (SMALL.replace("Frame Time: 0.5", "Frame Time: 0"), "positive"),
        (SMALL.split("MOTION")[0], "ends early"),
    ],
)
def test_broken_files_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(BvhError, match=message):
        parse(text)


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load(tmp_path / "none.bvh")
