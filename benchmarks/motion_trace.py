"""When each motion packet reached a customer: the input of ``benchmarks/jitter_buffer.mjs``.

A trace is one customer's stream: per packet, the arrival on this machine's monotonic clock (ms),
the packet's sequence number, its capture time (``t_ms``, the operator's clock) and whether it is a
tracked frame (the server's output clock fills in poses between slower tracked frames). Only the
packet's header is read (``rigging.codec.packet_header``), so recording costs the customer next to
nothing. A file holds any number of streams under a label:
``{"label": ..., "streams": [[[arrival_ms, seq, t_ms, tracked], ...]]}``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rigging.codec import CodecError, packet_header


class MotionTrace:
    """One customer's arrivals (see the module)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, int, float, int]] = []
        self.recording = False

    def record(self, message: bytes | str) -> None:
        if not self.recording or not isinstance(message, bytes):
            return
        try:
            seq, t_ms, tracked = packet_header(message)
        except CodecError:
            return  # not a motion packet: nothing to time
        self.arrivals.append((time.monotonic() * 1000.0, seq, t_ms, int(tracked)))


def save(path: Path, label: str, traces: list[MotionTrace]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    streams = [t.arrivals for t in traces if t.arrivals]
    path.write_text(json.dumps({"label": label, "streams": streams}))
