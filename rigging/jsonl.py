"""Streams of tracking frames as JSON Lines, with the rule for bad lines.

The rule (also in docs/retargeting.md): a line that cannot be used (not JSON, not a frame, a field
of the wrong shape or type, a timestamp that does not come after the previous usable frame's) is
skipped and counted, and its error names the line and the field; a blank line is ignored. A frame
with local damage (a NaN landmark, say) is repaired as ``rigging.frame`` describes and counted as
a warning. ``strict=True`` makes the first skipped line an error instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rigging.frame import FrameError, TrackingFrame, parse_frame

logger = logging.getLogger(__name__)


@dataclass
class StreamReport:
    """What reading a stream skipped or repaired."""

    frames: int = 0
    skipped: list[FrameError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.frames} frame(s) read"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} line(s) skipped (first: {self.skipped[0]})")
        if self.warnings:
            parts.append(f"{len(self.warnings)} repair(s) (first: {self.warnings[0]})")
        return "; ".join(parts)


def read_frames(
    lines: Iterable[str], report: StreamReport | None = None, *, strict: bool = False
) -> Iterator[TrackingFrame]:
    """Parse JSON Lines into frames in increasing time; see the module's rule for bad lines."""
    report = report if report is not None else StreamReport()
    last_t: float | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FrameError("<line>", f"not JSON: {exc.msg} at column {exc.colno}") from None
            frame = parse_frame(obj)
            if last_t is not None and frame.t_ms <= last_t:
                raise FrameError("t_ms", f"{frame.t_ms} does not come after the previous frame's {last_t}")
        except FrameError as exc:
            error = exc.at_line(number)
            if strict:
                raise error from None
            report.skipped.append(error)
            logger.warning("skipped %s", error)
            continue
        last_t = frame.t_ms
        report.frames += 1
        report.warnings.extend(f"line {number}: {w}" for w in frame.warnings)
        yield frame
