"""One room's motion: the operator's tracking frames in, a motion packet to every customer out.

Frames arrive as JSON on the operator's data channel; each is checked (``rigging.frame``), solved
(``rigging.solver``) and encoded (``rigging.codec``) once, and the same packet goes to every
customer of the room. A bad frame is counted and dropped, never raised into the room; a customer
whose channel fails is dropped from the room without touching the others. Each packet carries the
server's hop times (landmarks received, solved, sent) for the latency figures.

Latency per hop, in ms after the frame's landmarks reached the server (``HubStats.hops``):
``solve`` and ``send`` are measured here; ``receive`` and ``render`` from the customer's reports on
the motion channel (``{"type": "received", "seq"}`` at once, then ``{"type": "rendered", "seq",
"after_receive_ms"}``): the network leg is half the round trip from send to the report, since the
two clocks are not shared. ``capture`` is how old the frame was when the operator's page sent it
(the frame's optional ``capture_age_ms``, measured on the operator's clock).
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from rigging.codec import HopTiming, encode
from rigging.frame import FrameError, TrackingFrame, parse_frame
from rigging.solver import Retargeter, SolverOptions

logger = logging.getLogger(__name__)

Send = Callable[[bytes], None]
MAX_FRAME_BYTES = 64 * 1024
MAX_REPORT_BYTES = 256
HOPS = ("capture", "solve", "send", "receive", "render")
KEEP = 1000  # samples per hop for the quantiles: about half a minute at 30 frames a second


def _samples() -> dict[str, deque[float]]:
    return {hop: deque(maxlen=KEEP) for hop in HOPS}


@dataclass
class HubStats:
    frames: int = 0
    packets_sent: int = 0
    rejected: int = 0
    reports_rejected: int = 0
    last_error: str | None = None
    hops: dict[str, deque[float]] = field(default_factory=_samples)


class MotionHub:
    def __init__(self, room_id: str, prefiltered: bool = True) -> None:
        # Landmarks from MediaPipe in VIDEO mode are smoothed already (docs/capture.md).
        self.room_id = room_id
        self.solver = Retargeter(SolverOptions(filter=not prefiltered))
        self.customers: dict[str, Send] = {}
        self.stats = HubStats()
        self._seq = 0
        self._clock_offset_ms: float | None = None
        # seq -> (landmarks arrived, packet sent), perf_counter seconds, for the customers' reports
        self._sent: OrderedDict[int, tuple[float, float]] = OrderedDict()
        self._received_ms: dict[tuple[str, int], float] = {}

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
        except FrameError as exc:
            return self._refuse(exc)
        age = obj.get("capture_age_ms") if isinstance(obj, dict) else None
        if not (isinstance(age, (int, float)) and not isinstance(age, bool) and 0 <= age < 60_000):
            age = None
        return self._solve_and_send(frame, None if age is None else float(age), received)

    def on_tracking(self, frame: TrackingFrame, capture_age_ms: float | None) -> bool:
        """A frame parsed and checked already (server capture's worker process made it): the same
        path as :meth:`on_frame` after parsing, which saves the event loop the JSON (about a quarter
        of a frame's work here, docs/live-room.md)."""
        return self._solve_and_send(frame, capture_age_ms, time.perf_counter())

    def _refuse(self, exc: FrameError) -> bool:
        self.stats.rejected += 1
        self.stats.last_error = str(exc)
        logger.warning("room %s: frame refused: %s", self.room_id, exc)
        return False

    def _solve_and_send(self, frame: TrackingFrame, age: float | None, received: float) -> bool:
        try:
            pose = self.solver.solve(frame)
        except FrameError as exc:
            return self._refuse(exc)
        solved = time.perf_counter()
        self.stats.frames += 1
        self.stats.hops["solve"].append((solved - received) * 1000.0)
        if age is not None:
            self.stats.hops["capture"].append(age)
        packet = encode(
            pose,
            self._seq,
            HopTiming(0.0, (solved - received) * 1000.0, (time.perf_counter() - received) * 1000.0),
        )
        seq = self._seq
        self._seq += 1
        for customer_id, send in list(self.customers.items()):
            try:
                send(packet)
                self.stats.packets_sent += 1
            except Exception as exc:  # a broken customer channel must not stop the room
                logger.warning("room %s: dropping customer %s: %s", self.room_id, customer_id, exc)
                self.remove_customer(customer_id)
        sent = time.perf_counter()
        self.stats.hops["send"].append((sent - received) * 1000.0)
        self._sent[seq & 0xFFFF] = (received, sent)
        while len(self._sent) > 64:
            self._sent.popitem(last=False)
        return True

    def on_report(self, customer_id: str, message: str | bytes) -> None:
        """A customer's report on a packet it received or rendered (see the module's docstring)."""
        now = time.perf_counter()
        try:
            if len(message) > MAX_REPORT_BYTES:
                raise ValueError(f"{len(message)} bytes, the limit is {MAX_REPORT_BYTES}")
            report = json.loads(message)
            kind, seq = report["type"], int(report["seq"])
        except (ValueError, KeyError, TypeError) as exc:
            self.stats.reports_rejected += 1
            logger.info("room %s: customer %s sent a bad report: %s", self.room_id, customer_id, exc)
            return
        times = self._sent.get(seq & 0xFFFF)
        if times is None:
            return  # too old, or from before a reconnection
        arrived, sent = times
        if kind == "received":
            receive_ms = (sent - arrived + (now - sent) / 2) * 1000.0
            self.stats.hops["receive"].append(receive_ms)
            self._received_ms[(customer_id, seq)] = receive_ms
            if len(self._received_ms) > 256:
                self._received_ms.pop(next(iter(self._received_ms)))
        elif kind == "rendered":
            receive_ms_or_none = self._received_ms.pop((customer_id, seq), None)
            after = report.get("after_receive_ms")
            if receive_ms_or_none is not None and isinstance(after, (int, float)) and 0 <= after < 10_000:
                self.stats.hops["render"].append(receive_ms_or_none + float(after))
