import json

import pytest

from rigging.frame import FrameError
from rigging.jsonl import StreamReport, read_frames
from tests.rigging.posed_landmarks import make_frame


def line(t: float) -> str:
    return json.dumps(make_frame({}, t_ms=t).to_json())


def test_bad_lines_are_skipped_and_named() -> None:
    nan_frame = make_frame({}, t_ms=50).to_json()
    nan_frame["pose_world"][3][0] = float("nan")
    lines = [line(0), "", "{oops", line(10), line(5), '{"t_ms": 20}', json.dumps(nan_frame), line(60)]
    report = StreamReport()
    frames = list(read_frames(lines, report))
    assert [f.t_ms for f in frames] == [0, 10, 50, 60]
    assert [(e.line, e.field) for e in report.skipped] == [(3, "<line>"), (5, "t_ms"), (6, "pose_world")]
    assert len(report.warnings) == 1 and report.warnings[0].startswith("line 7:")
    assert "3 line(s) skipped" in report.summary()


def test_strict_stops_at_the_first_bad_line() -> None:
    with pytest.raises(FrameError) as err:
        list(read_frames([line(0), "[]"], strict=True))
    assert err.value.line == 2
