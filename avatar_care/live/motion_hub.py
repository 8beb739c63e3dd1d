"""One room's motion: the operator's tracking frames in, a motion packet to every customer out.

Frames arrive as JSON on the operator's data channel; each is checked (``rigging.frame``), solved
(``rigging.solver``) and encoded (``rigging.codec``) once, and the same packet goes to every
customer of the room. A bad frame is counted and dropped, never raised into the room; a customer
whose channel fails is dropped from the room without touching the others. Each packet carries the
server's hop times (landmarks received, solved, sent) for the latency figures.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rigging.codec import HopTiming, encode
from rigging.frame import FrameError, parse_frame
from rigging.solver import Retargeter, SolverOptions

logger = logging.getLogger(__name__)

Send = Callable[[bytes], None]
MAX_FRAME_BYTES = 64 * 1024


@dataclass
class HubStats:
    frames: int = 0
    packets_sent: int = 0
    rejected: int = 0
    last_error: str | None = None
    solve_ms: list[float] = field(default_factory=list)
    send_ms: list[float] = field(default_factory=list)


class MotionHub:
    def __init__(self, room_id: str, prefiltered: bool = True) -> None:
        # Landmarks from MediaPipe in VIDEO mode are smoothed already (docs/capture.md).
        self.room_id = room_id
        self.solver = Retargeter(SolverOptions(filter=not prefiltered))
        self.customers: dict[str, Send] = {}
        self.stats = HubStats()
        self._seq = 0
        self._clock_offset_ms: float | None = None

    def add_customer(self, customer_id: str, send: Send) -> None:
        self.customers[customer_id] = send

    def remove_customer(self, customer_id: str) -> None:
        self.customers.pop(customer_id, None)

    def operator_reconnected(self) -> None:
        """A new operator connection starts its own clock: forget the old timeline."""
        self.solver.reset()
        self._clock_offset_ms = None

    def on_frame(self, message: str | bytes) -> bool:
        """Handle one message from the operator's landmark channel; False when it was refused."""
        received = time.perf_counter()
        try:
            if len(message) > MAX_FRAME_BYTES:
                raise FrameError("<message>", f"{len(message)} bytes, the limit is {MAX_FRAME_BYTES}")
            try:
                obj = json.loads(message)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise FrameError("<message>", f"not JSON: {exc}") from None
            frame = parse_frame(obj)
            pose = self.solver.solve(frame)
        except FrameError as exc:
            self.stats.rejected += 1
            self.stats.last_error = str(exc)
            logger.warning("room %s: frame refused: %s", self.room_id, exc)
            return False
        solved = time.perf_counter()
        self.stats.frames += 1
        self.stats.solve_ms.append((solved - received) * 1000.0)
        del self.stats.solve_ms[:-1000]
        packet = encode(
            pose,
            self._seq,
            HopTiming(0.0, (solved - received) * 1000.0, (time.perf_counter() - received) * 1000.0),
        )
        self._seq += 1
        for customer_id, send in list(self.customers.items()):
            try:
                send(packet)
                self.stats.packets_sent += 1
            except Exception as exc:  # a broken customer channel must not stop the room
                logger.warning("room %s: dropping customer %s: %s", self.room_id, customer_id, exc)
                self.remove_customer(customer_id)
        self.stats.send_ms.append((time.perf_counter() - received) * 1000.0)
        del self.stats.send_ms[:-1000]
        return True
