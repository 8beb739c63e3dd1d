"""One room's motion: the operator's tracking frames in, a motion packet to every customer out.

Frames arrive on the operator's data channel as landmark packets (``rigging.landmark_packet``, the
consoles' form) or JSON (tools), or as tracking frames from server capture;
each is checked (``rigging.frame``), solved (``rigging.solver``, batched with the other rooms'
frames of the same moment by ``motion_scheduler``) and encoded (``rigging.codec``) once, and the
same packet goes to every customer of the room.

The output clock: customers get about 30 packets a second even when the operator's capture runs
slower. When no tracked frame's packet has gone out for a frame's time and a little more, the hub
sends its newest pose carried forward in time (``rigging.extrapolate``), then again every 33 ms
until a tracked frame comes, for up to ``FILL_FOR_S`` after the newest one; then the room is quiet
until motion comes back. At 30 tracked frames a second nothing is filled in.

The operator's voice (``voice_visemes``, fed by the room's relay) keeps the avatar alive where
tracking does not reach (``rigging.idle``): while the operator's microphone sends and the face is
not tracked, every packet's mouth follows the voice and the avatar blinks; while no tracked frame
has come for ``FILL_FOR_S`` (no camera, the camera refused or lost), the output clock goes on at
30 packets a second with the avatar gliding to its rest pose and breathing, blinking, swaying and
speaking there. A bad frame is counted and dropped, never raised into the room; a customer
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

import asyncio
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from avatar_care.live.audio_relay import Encoded
from avatar_care.live.motion_scheduler import MotionScheduler
from avatar_care.live.voice_visemes import VoiceVisemes
from rigging import landmark_packet
from rigging.audio_visemes import VISEMES
from rigging.codec import HopTiming, encode
from rigging.extrapolate import carry_forward
from rigging.frame import FrameError, TrackingFrame, parse_frame
from rigging.idle import Liveliness, resting_pose
from rigging.landmark_packet import is_landmark_packet
from rigging.pose import AvatarPose
from rigging.solver import DRIVEN_BONES, Retargeter, SolverOptions

logger = logging.getLogger(__name__)

Send = Callable[[bytes], None]
MAX_FRAME_BYTES = 64 * 1024
MAX_REPORT_BYTES = 256
HOPS = ("capture", "solve", "send", "receive", "render")
KEEP = 1000  # samples per hop for the quantiles: about half a minute at 30 frames a second
#: The output clock: a packet every FRAME_S; a tracked frame may be up to FILL_SLACK_S late before
#: the clock fills in for it; nothing is filled in more than FILL_FOR_S after the newest frame.
FRAME_S = 1.0 / 30.0
FILL_SLACK_S = 0.015
FILL_FOR_S = 3.0
#: How long the avatar takes to glide from its last tracked pose to rest when tracking is gone.
IDLE_EASE_S = 0.8
_MOUTH = frozenset((*VISEMES, "blink"))


#: A frame's ``t_ms`` is the operator's clock, which the room follows: a frame more than
#: MAX_AHEAD_MS ahead of where that clock should be by now, or not after the previous frame, is
#: refused without touching the room's timeline (one frame stamped 1e300 must not make every later
#: frame "too early"). REANCHOR_AFTER refused frames in a row that agree with each other mean the
#: operator's clock itself restarted (a page reload): the room follows the new clock.
MAX_AHEAD_MS = 5_000.0
REANCHOR_AFTER = 5


class Timeline:
    """The room's view of the operator's clock: ``t_ms`` against the frames' arrival times."""

    def __init__(self) -> None:
        self.offset_ms: float | None = None  # t_ms minus arrival, in ms, of the anchoring frame
        self.last_t: float | None = None
        self._strays: list[float] = []  # offsets of the frames refused in a row

    def reset(self) -> None:
        self.offset_ms = self.last_t = None
        self._strays.clear()

    def admit(self, t_ms: float, arrived_s: float) -> tuple[bool, str]:
        """(accepted, reason): reason is the refusal, or "restart" when the clock was re-anchored."""
        offset = t_ms - arrived_s * 1000.0
        if self.offset_ms is None or self.last_t is None:
            self.offset_ms, self.last_t = offset, t_ms
            return True, ""
        if t_ms <= self.last_t:
            reason = f"t_ms {t_ms:g} does not come after the previous frame's {self.last_t:g}"
        elif offset > self.offset_ms + MAX_AHEAD_MS:
            reason = f"t_ms {t_ms:g} is {offset - self.offset_ms:.3g} ms ahead of the room's clock"
        else:
            self.last_t = t_ms
            self._strays.clear()
            return True, ""
        self._strays.append(offset)
        if len(self._strays) >= REANCHOR_AFTER and max(self._strays) - min(self._strays) <= MAX_AHEAD_MS:
            self.offset_ms, self.last_t = offset, t_ms
            self._strays.clear()
            return True, "restart"
        return False, reason


def _samples() -> dict[str, deque[float]]:
    return {hop: deque(maxlen=KEEP) for hop in HOPS}


@dataclass
class HubStats:
    frames: int = 0
    packets_sent: int = 0
    #: packets the output clock sent between tracked frames (the newest pose carried forward)
    packets_filled: int = 0
    #: packets of the avatar at rest, alive and speaking, while no tracked frame comes (voice only)
    packets_idle: int = 0
    #: packets whose mouth was the operator's voice (the face not tracked)
    packets_voiced: int = 0
    rejected: int = 0
    reports_rejected: int = 0
    last_error: str | None = None
    hops: dict[str, deque[float]] = field(default_factory=_samples)


class MotionHub:
    def __init__(
        self, room_id: str, prefiltered: bool = True, scheduler: MotionScheduler | None = None
    ) -> None:
        # Landmarks from MediaPipe in VIDEO mode are smoothed already (docs/capture.md).
        self.room_id = room_id
        self.solver = Retargeter(SolverOptions(filter=not prefiltered))
        self.customers: dict[str, Send] = {}
        self.stats = HubStats()
        #: None: the running event loop's scheduler; outside any loop frames are solved at once.
        self._scheduler = scheduler
        self._seq = 0
        # seq -> (landmarks arrived, packet sent), perf_counter seconds, for the customers' reports
        self._sent: OrderedDict[int, tuple[float, float]] = OrderedDict()
        self._received_ms: dict[tuple[str, int], float] = {}
        # the two newest solved poses and when the newest one's landmarks arrived, for the clock
        self._previous: AvatarPose | None = None
        self._newest: AvatarPose | None = None
        self._newest_at = 0.0
        self._last_packet_at = 0.0
        self._fill_timer: asyncio.TimerHandle | None = None
        self._fill_due = 0.0  # loop time the next filled packet is due at
        #: the operator's voice, for the mouth when the face is not tracked
        self.voice = VoiceVisemes()
        self._life = Liveliness()
        # per frame handed to the solver, in order: (face tracked, head tracked)
        self._seen: deque[tuple[bool, bool]] = deque(maxlen=64)
        self._newest_seen = (True, True)
        self._idle_since: float | None = None
        self._origin = time.perf_counter()  # the idle timeline's zero while nothing was tracked
        self.timeline = Timeline()

    def add_customer(self, customer_id: str, send: Send) -> None:
        self.customers[customer_id] = send

    def remove_customer(self, customer_id: str) -> None:
        self.customers.pop(customer_id, None)

    def operator_reconnected(self) -> None:
        """A new operator connection starts its own clock: forget the old timeline."""
        self.solver.reset()
        self.timeline.reset()
        self._previous = self._newest = None
        self._seen.clear()
        self._idle_since = None
        self.voice.reset()
        self._disarm()

    def voice_heard(self, packet: Encoded) -> None:
        """A packet of the operator's microphone (from the room's relay, on the event loop)."""
        self.voice.push(packet)
        if self._fill_timer is None and self.customers:
            self._arm(FRAME_S)  # a voice without tracking: the output clock runs on the voice

    def on_frame(self, message: str | bytes) -> bool:
        """Handle one message from the operator's landmark channel; False when it was refused.

        A frame that parses is accepted here; one the solver refuses (out of order) is counted
        when its batch is solved.
        """
        received = time.perf_counter()
        try:
            if len(message) > MAX_FRAME_BYTES:
                raise FrameError("<message>", f"{len(message)} bytes, the limit is {MAX_FRAME_BYTES}")
            if is_landmark_packet(message):  # the consoles' binary form (rigging.landmark_packet)
                frame, age = landmark_packet.decode(message)  # type: ignore[arg-type]  # bytes here
                return self.on_tracking(frame, age, received)
            try:
                obj = json.loads(message)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise FrameError("<message>", f"neither JSON nor a landmark packet: {exc}") from None
            frame = parse_frame(obj)
        except FrameError as exc:
            self._refuse(exc)
            return False
        age = obj.get("capture_age_ms") if isinstance(obj, dict) else None
        if not (isinstance(age, (int, float)) and not isinstance(age, bool) and 0 <= age < 60_000):
            age = None
        return self.on_tracking(frame, age, received)

    def on_tracking(
        self, frame: TrackingFrame, capture_age_ms: float | None = None, received: float | None = None
    ) -> bool:
        """Handle one checked tracking frame (from the landmark channel or server capture)."""
        received = time.perf_counter() if received is None else received
        accepted, reason = self.timeline.admit(frame.t_ms, received)
        if not accepted:
            self._refuse(FrameError("t_ms", reason))
            return False
        if reason == "restart":  # the operator's clock started again: so does the solver's timeline
            logger.info("room %s: the operator's clock restarted; following it", self.room_id)
            self.solver.reset()
            self._previous = self._newest = None
        if capture_age_ms is not None:
            self.stats.hops["capture"].append(capture_age_ms)
        self._seen.append(
            (
                frame.face_blendshapes is not None,
                frame.face_matrix is not None or frame.pose_world is not None,
            )
        )
        scheduler = self._scheduler or MotionScheduler.current()
        if scheduler is not None:
            scheduler.submit(self, frame, received)
            return True
        try:
            pose: AvatarPose | FrameError = self.solver.solve(frame)
        except FrameError as exc:
            pose = exc
        return self.deliver(pose, received, time.perf_counter())

    @property
    def next_seq(self) -> int:
        """The sequence number the next packet will carry."""
        return self._seq

    def deliver(
        self, result: AvatarPose | FrameError, received: float, solved: float, packet: bytes | None = None
    ) -> bool:
        """The solver's answer for a frame that arrived at ``received``: send its packet (``packet``
        when the scheduler encoded it with the batch, for ``next_seq``), or count the refusal."""
        seen = self._seen.popleft() if self._seen else (True, True)
        if isinstance(result, FrameError):
            self._refuse(result)
            return False
        self.stats.frames += 1
        self.stats.hops["solve"].append((solved - received) * 1000.0)
        self._previous, self._newest, self._newest_at = self._newest, result, received
        self._newest_seen = seen
        self._idle_since = None
        shown = self._enliven(result, *seen)
        if shown is not result:  # the batch encoded the pose without the voice's mouth
            packet = None
            result = shown
        if packet is None:
            now = time.perf_counter()
            timing = HopTiming(0.0, (solved - received) * 1000.0, (now - received) * 1000.0)
            packet = encode(result, self._seq, timing)
        seq = self._send(packet)
        self._arm(FRAME_S + FILL_SLACK_S)
        sent = self._last_packet_at
        self.stats.hops["send"].append((sent - received) * 1000.0)
        self._sent[seq & 0xFFFF] = (received, sent)
        while len(self._sent) > 64:
            self._sent.popitem(last=False)
        return True

    def fill(self) -> bool:
        """The output clock: send the newest pose carried forward to now; False when there is
        nothing to send (no pose yet, nobody watching, or the newest frame is too old)."""
        self._fill_timer = None
        newest = self._newest
        now = time.perf_counter()
        if not self.customers:
            return False
        if newest is not None and now - self._newest_at <= FILL_FOR_S:
            pose = carry_forward(self._previous, newest, newest.t_ms + (now - self._newest_at) * 1000.0)
            pose = self._enliven(pose, self._newest_seen[0], True)  # the head holds its tracked pose
            self.stats.packets_filled += 1
        elif self.voice.present(now):
            pose = self._idle(now)
            self.stats.packets_idle += 1
        else:
            return False
        self._send(encode(pose, self._seq))  # no hop times: this pose was not tracked
        self._arm(FRAME_S, on_grid=True)
        return True

    def _enliven(self, pose: AvatarPose, face_tracked: bool, head_tracked: bool) -> AvatarPose:
        """``pose`` with the voice's mouth and blinks while the face is not tracked and the
        operator's microphone sends; ``pose`` itself otherwise."""
        if face_tracked or not self.voice.present():
            return pose
        self.stats.packets_voiced += 1
        # the mouth and blinks carried forward from an earlier pose give way to the voice's
        expressions = {k: v for k, v in pose.expressions.items() if k not in _MOUTH}
        bare = AvatarPose(pose.t_ms, pose.hips_position, pose.bones, expressions)
        return self._life.apply(
            bare, face_tracked=False, head_tracked=head_tracked, visemes=self.voice.visemes()
        )

    def _idle(self, now: float) -> AvatarPose:
        """No tracking, a voice: the avatar glides from its last tracked pose to rest, and
        breathes, blinks, sways and speaks there."""
        if self._idle_since is None:
            self._idle_since = now
        newest = self._newest
        if newest is not None:  # the same timeline as the tracked frames before
            t_ms = newest.t_ms + (now - self._newest_at) * 1000.0
        else:
            t_ms = (now - self._origin) * 1000.0
        k = min(1.0, (now - self._idle_since) / IDLE_EASE_S)
        base = resting_pose(t_ms, DRIVEN_BONES, newest, k)
        self.stats.packets_voiced += 1
        return self._life.apply(base, face_tracked=False, head_tracked=False, visemes=self.voice.visemes())

    def _arm(self, delay_s: float, on_grid: bool = False) -> None:
        """(Re)start the output clock's wait; only on an event loop (scripts solve and send at once).

        ``on_grid``: after a filled packet the next one is due a frame after the previous one was
        *due*, not after it went out, so a busy loop delays fillers without thinning them out.
        """
        self._disarm()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._fill_due = (self._fill_due if on_grid else loop.time()) + delay_s
        self._fill_timer = loop.call_at(self._fill_due, self._fill_safely)

    def _fill_safely(self) -> None:
        try:
            self.fill()
        except Exception:  # the clock of one room must never take the loop down with it
            logger.exception("room %s: the output clock failed", self.room_id)

    def _disarm(self) -> None:
        if self._fill_timer is not None:
            self._fill_timer.cancel()
            self._fill_timer = None

    def close(self) -> None:
        """Stop the output clock (the room is closing)."""
        self._disarm()
        self.customers.clear()

    def _send(self, packet: bytes) -> int:
        """Send one encoded packet to every customer; returns its sequence number."""
        seq = self._seq
        self._seq += 1
        for customer_id, send in list(self.customers.items()):
            try:
                send(packet)
                self.stats.packets_sent += 1
            except Exception as exc:  # a broken customer channel must not stop the room
                logger.warning("room %s: dropping customer %s: %s", self.room_id, customer_id, exc)
                self.remove_customer(customer_id)
        self._last_packet_at = time.perf_counter()
        return seq

    def _refuse(self, exc: FrameError) -> None:
        self.stats.rejected += 1
        self.stats.last_error = str(exc)
        logger.warning("room %s: frame refused: %s", self.room_id, exc)

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
