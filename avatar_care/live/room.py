"""A live room's peers: the operator's connection in, the customers' connections out.

One aiortc peer connection per participant. The operator's browser opens a data channel named
``landmarks`` and sends tracking frames on it; each customer's browser opens one named ``motion``
(unordered, no retransmission: every packet carries the whole pose, so a lost one costs nothing,
and SCTP's retransmission delay of a second or more would stall the motion), on which the room
sends motion packets. Voice goes both ways: the operator's microphone to every customer, relayed
encoded (``audio_relay``), and every customer's microphone to the operator, each through a
:class:`~avatar_care.live.audio_mix.VoiceMix` (relayed encoded while one voice speaks, mixed
while several do). Supervisors listen (sending nothing), whisper (to the operator alone) or barge
in (to the operator and every customer); their audio line carries a mix of the operator and every
customer, and a ``motion`` channel if they open one. Who sends to and hears which mix is the
roles' table, ``avatar_care.live.roles``. Signaling (offers and answers) reaches this class from
the WebSocket layer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from aiortc import (
    MediaStreamTrack,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from avatar_care.live.audio_mix import VoiceMix
from avatar_care.live.audio_relay import (
    AudioFanout,
    Encoded,
    FanoutTrack,
    PacketSource,
    install_audio_passthrough,
)
from avatar_care.live.ice import IceConfig
from avatar_care.live.motion_hub import MotionHub
from avatar_care.live.roles import ROLES, SUPERVISING, Ear, Role, RoleSpec
from avatar_care.live.sender_clock import SenderClock
from avatar_care.live.server_capture import CaptureStats, ProcessCapture, capture_track

logger = logging.getLogger(__name__)


OPERATOR_MIRROR = "operator-mirror"
OPERATOR_VOICE = "operator"  # the operator's voice, as the mixes name it (the others: "<role>/<id>")
#: How often server capture's state is said again to the operator's console.
CAPTURE_BEACON_S = 1.0


class RoomError(ValueError):
    """A signaling step the room refuses; the message says why."""


class LiveRoom:
    def __init__(self, room_id: str, ice: IceConfig | None = None, relay_encoded: bool = True) -> None:
        self.room_id = room_id
        self.hub = MotionHub(room_id)
        #: how the room's peers find the participants' (avatar_care/live/ice.py, from the settings)
        self.ice = ice or IceConfig()
        self.operator: RTCPeerConnection | None = None
        #: everyone but the operator, by role and id (roles.ROLES)
        self.peers: dict[Role, dict[str, RTCPeerConnection]] = {r: {} for r in ROLES if r != "operator"}
        self.customers = self.peers["customer"]
        self.listeners = self.peers["listener"]  # supervisors, listen-only
        self.whisperers = self.peers["whisperer"]  # supervisors the operator alone hears
        self.bargers = self.peers["barger"]  # supervisors everyone hears
        self._offering: dict[tuple[Role, str], asyncio.Lock] = {}
        if relay_encoded:  # False only to measure the plain relay (decode, re-encode per listener)
            install_audio_passthrough()
        self.operator_audio = AudioFanout(f"{room_id}/operator")  # the operator's microphone
        # the three ears (roles.py): each a mix, and the fanout to everyone who hears it
        self.customer_audio = AudioFanout(f"{room_id}/customers")  # to the operator
        self.to_customers_audio = AudioFanout(f"{room_id}/to-customers")  # to every customer
        self.listener_audio = AudioFanout(f"{room_id}/listeners")  # to every supervisor
        self.operator_hears = VoiceMix(f"{room_id}/to-operator", self.customer_audio)
        self.customers_hear = VoiceMix(f"{room_id}/to-customers", self.to_customers_audio)
        self.listeners_hear = VoiceMix(f"{room_id}/to-listeners", self.listener_audio)
        self.ears: dict[Ear, VoiceMix] = {
            "operator": self.operator_hears,
            "customers": self.customers_hear,
            "supervisors": self.listeners_hear,
        }
        # what the operator says (or the demo's recording) goes into the mixes the operator's role
        # speaks to; alone in the customers' mix, it is relayed as it came
        for ear in ROLES["operator"].voice_to:
            self.operator_audio.taps.append(_into(self.ears[ear], OPERATOR_VOICE))
        # the operator's own voice (not the demo's recording) moves the avatar's mouth where the
        # face is not tracked, and keeps the avatar alive where nothing is (motion_hub)
        self.operator_audio.taps.append(self._operator_voice)
        #: What customers hear while no operator speaks (the demo operator's recording).
        self.fallback_audio: PacketSource | None = None
        self._mics: dict[tuple[Role, str], asyncio.Task[None]] = {}
        #: Called with (customer id, packet) for every packet of a customer's microphone, as received
        #: (a consultation's recorder, avatar_care/live/recordings.py).
        self.voice_taps: list[Callable[[str, Encoded], None]] = []
        self._listening: dict[int, FanoutTrack] = {}  # by id() of the peer connection
        self.capture: ProcessCapture | None = None
        self.capture_stats = CaptureStats()  # across this room's capture workers, for /metrics
        self._capture_task: asyncio.Task[None] | None = None
        self._capture_stops: set[asyncio.Task[None]] = set()
        self._operator_landmarks: RTCDataChannel | None = None
        #: Server capture's newest state for the console, and the timer that repeats it.
        self._capture_state: tuple[str, str] | None = None
        self._capture_beacon: asyncio.TimerHandle | None = None

    def _start_capture(self, track: MediaStreamTrack, receiver: object) -> None:
        self._stop_capture()
        self.capture = ProcessCapture(
            self.room_id, self.hub.on_tracking, self.capture_stats, self._capture_event
        )
        clock = SenderClock(receiver) if receiver is not None else None
        self._capture_task = asyncio.create_task(capture_track(track, self.capture, clock))
        self._repeat_capture_state()  # no state yet: this arms the repeats

    def _capture_event(self, state: str, message: str) -> None:
        """Tell the operator's console how server capture is doing, on its landmarks channel."""
        if state != "ready":
            logger.warning("room %s: server capture %s: %s", self.room_id, state, message)
        self._capture_state = (state, message)
        self._tell_capture_state()

    def _tell_capture_state(self) -> None:
        channel = self._operator_landmarks
        if self._capture_state is None or channel is None or channel.readyState != "open":
            return
        state, message = self._capture_state
        channel.send(json.dumps({"type": "capture", "state": state, "message": message}))

    def _repeat_capture_state(self) -> None:
        # The landmarks channel is unordered and unreliable (it carries motion), and the worker may
        # be ready before the console's channel opens: a state said once could be lost, leaving the
        # console saying "starting" for good. Repeating it costs one small message a second.
        self._tell_capture_state()
        self._capture_beacon = asyncio.get_running_loop().call_later(
            CAPTURE_BEACON_S, self._repeat_capture_state
        )

    def _stop_capture(self) -> None:
        if self._capture_beacon is not None:
            self._capture_beacon.cancel()
            self._capture_beacon = None
        self._capture_state = None
        if self._capture_task is not None:
            self._capture_task.cancel()
            self._capture_task = None
        if self.capture is not None:
            # the worker ends in the background; close() waits for it
            capture, self.capture = self.capture, None
            stopping = asyncio.get_running_loop().create_task(capture.stop())
            self._capture_stops.add(stopping)
            stopping.add_done_callback(self._capture_stops.discard)

    def _operator_voice(self, packet: Encoded) -> None:
        source = self.operator_audio.source
        if self.operator is not None and source is not None and source is not self.fallback_audio:
            self.hub.voice_heard(packet)

    def set_fallback_audio(self, source: PacketSource | None) -> None:
        self.fallback_audio = source
        if self.operator is None or self.operator_audio.source is None:
            self.operator_audio.set_source(source)

    async def operator_offer(self, sdp: str) -> str:
        """The operator (re)connects: a new connection replaces any previous one."""
        if self.operator is not None:
            old, self.operator = self.operator, None
            self._stop_capture()  # the new connection brings its own video, or none (edge capture)
            await self._close_peer(old)
        pc = RTCPeerConnection(self.ice.for_server())
        self.operator = pc
        self.hub.operator_reconnected()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self.operator_audio.set_source(track)
            elif track.kind == "video":  # server capture: the console sends its camera
                receiver = next((t.receiver for t in pc.getTransceivers() if t.receiver.track is track), None)
                self._start_capture(track, receiver)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and self.operator is pc:
                self.operator = None
                self._stop_capture()
                self.hub.remove_customer(OPERATOR_MIRROR)
                self.operator_audio.set_source(self.fallback_audio)

        @pc.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            if channel.label == "landmarks":
                self._operator_landmarks = channel
                channel.on("message", self.hub.on_frame)
                self._tell_capture_state()  # the worker may have been ready before the channel
            elif channel.label == "motion":  # the console's mirror: what the customers see
                self.hub.add_customer(OPERATOR_MIRROR, channel.send)
            else:
                logger.warning("room %s: operator opened an unknown channel %r", self.room_id, channel.label)

        return await self._answer(pc, sdp, ROLES["operator"])

    async def offer(self, role: Role, participant: str, sdp: str) -> str:
        """A participant (re)connects as ``role`` (``roles.ROLES`` says what they send and hear);
        a new offer from the same id in the same role replaces their previous peer (a page that
        lost its network comes back this way). The answer, or :class:`RoomError`."""
        if role == "operator":
            return await self.operator_offer(sdp)
        # one offer at a time per participant: a page retrying while its previous offer still
        # waits for the old peer to close must not leave two peers, the older one's failure later
        # taking the newer one's motion with it
        lock = self._offering.setdefault((role, participant), asyncio.Lock())
        async with lock:
            return await self._join(ROLES[role], participant, sdp)

    async def left(self, role: Role, participant: str) -> None:
        """The participant's part ends: their peer closes, their voice leaves the mixes."""
        if role == "operator":
            if self.operator is not None:
                await self.operator_left(self.operator)
            return
        spec = ROLES[role]
        self.hub.remove_customer(_motion_key(role, participant))
        mic = self._mics.pop((role, participant), None)
        if mic is not None:
            mic.cancel()
        for ear in spec.voice_to:
            self.ears[ear].remove(_voice_key(role, participant))
        pc = self.peers[role].pop(participant, None)
        if pc is not None:
            await self._close_peer(pc)

    async def operator_left(self, pc: RTCPeerConnection) -> None:
        """The operator's part ends on the server's side (their token was revoked, their account
        disabled or deleted): their peer ``pc`` closes, and with it their camera, voice and motion;
        customers hear the fallback again and the room stays for the next operator. Nothing
        happens when ``pc`` is no longer the operator's connection (they connected again since,
        from another socket)."""
        if self.operator is not pc:
            return
        self.operator = None
        self._stop_capture()
        self.hub.remove_customer(OPERATOR_MIRROR)
        self.operator_audio.set_source(self.fallback_audio)
        await self._close_peer(pc)

    # the roles' own names, for the callers that know which role they mean
    async def customer_offer(self, customer_id: str, sdp: str) -> str:
        return await self.offer("customer", customer_id, sdp)

    async def customer_left(self, customer_id: str) -> None:
        await self.left("customer", customer_id)

    async def listener_offer(self, listener_id: str, sdp: str) -> str:
        return await self.offer("listener", listener_id, sdp)

    async def listener_left(self, listener_id: str) -> None:
        await self.left("listener", listener_id)

    async def _join(self, spec: RoleSpec, participant: str, sdp: str) -> str:
        role = spec.role
        peers = self.peers[role]
        if participant in peers:
            await self.left(role, participant)
        if spec.supervises:  # a supervisor is in one mode at a time: listening, whispering or barging
            for other in SUPERVISING:
                if other != role and participant in self.peers[other]:
                    await self.left(other, participant)
        pc = RTCPeerConnection(self.ice.for_server())
        peers[participant] = pc
        who = f"{role} {participant}"

        @pc.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            if channel.label not in spec.channels:
                logger.warning("room %s: %s opened an unknown channel %r", self.room_id, who, channel.label)
                return
            if channel.ordered or channel.maxRetransmits != 0:
                logger.info(
                    "room %s: %s's motion channel is reliable or ordered; motion may stall", self.room_id, who
                )
            self.hub.add_customer(_motion_key(role, participant), channel.send)
            if role == "customer":  # the customer's page reports what it shows (motion_hub)
                channel.on("message", lambda message: self.hub.on_report(participant, message))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and spec.sends_voice:
                self._mics[(role, participant)] = asyncio.create_task(self._hear(spec, participant, track))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            # only while it is still the participant's peer: a reconnecting page's new peer
            # replaces this one, and this one's closing must not take the new one with it
            if pc.connectionState in ("failed", "closed") and peers.get(participant) is pc:
                await self.left(role, participant)

        try:
            return await self._answer(pc, sdp, spec)
        except RoomError:
            if peers.get(participant) is pc:
                del peers[participant]
            raise

    async def _hear(self, spec: RoleSpec, participant: str, track: MediaStreamTrack) -> None:
        """Read a participant's microphone all the time, into the mixes their role speaks to (each
        decides whether to relay it as it is or to mix it with other voices)."""
        key = _voice_key(spec.role, participant)
        ears = [self.ears[ear] for ear in spec.voice_to]
        try:
            while True:
                packet = await track.recv()
                if spec.role == "customer":
                    for tap in list(self.voice_taps):
                        try:
                            tap(participant, packet)
                        except Exception:  # a recorder's fault must not silence the customer
                            logger.exception("room %s: a voice tap failed; it is removed", self.room_id)
                            self.voice_taps.remove(tap)
                for ear in ears:
                    ear.push(key, packet)
        except MediaStreamError:
            return
        except Exception:  # a fault in the mixing loses this participant's voice, not the room
            logger.exception("room %s: %s %s's voice stopped", self.room_id, spec.role, participant)

    async def close(self) -> None:
        for role, peers in self.peers.items():
            for participant in list(peers):
                await self.left(role, participant)
        if self.operator is not None:
            await self._close_peer(self.operator)
            self.operator = None
        self._stop_capture()
        self.hub.close()
        if self._capture_stops:
            await asyncio.gather(*self._capture_stops)
        await self.operator_audio.close()
        for mix in self.ears.values():
            mix.close()
            await mix.output.close()

    async def _close_peer(self, pc: RTCPeerConnection) -> None:
        listening = self._listening.pop(id(pc), None)
        if listening is not None:
            listening.stop()
        await pc.close()

    async def _answer(self, pc: RTCPeerConnection, sdp: str, spec: RoleSpec) -> str:
        if not sdp.startswith("v=0"):
            await pc.close()
            raise RoomError("not a usable SDP offer: it does not start with v=0")
        if spec.needs_data_channel and "m=application" not in sdp:
            await pc.close()
            raise RoomError("not a usable SDP offer: it must offer a data channel (m=application)")
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except (ValueError, AttributeError) as exc:
            await pc.close()
            raise RoomError(f"not a usable SDP offer: {exc}") from None
        audio = [t for t in pc.getTransceivers() if t.kind == "audio"]
        if not spec.needs_data_channel:
            # a supervisor shows nothing: of theirs, only the microphone of a role that speaks is
            # received (a listener's line only plays)
            line = audio[0] if audio else None
            for transceiver in pc.getTransceivers():
                if transceiver is not line:
                    transceiver.direction = "inactive"
                elif not spec.sends_voice:
                    transceiver.direction = "sendonly"
        if audio:
            # the offer's audio line carries this peer's microphone in and what it hears out
            listening = self.ears[spec.hears].output.subscribe()
            self._listening[id(pc)] = listening
            pc.addTrack(listening)
        await pc.setLocalDescription(await pc.createAnswer())
        # aiortc gathers every candidate before setLocalDescription returns: the answer is complete.
        description = pc.localDescription
        return self.ice.announce(str(description.sdp))


def _into(mix: VoiceMix, name: str) -> Callable[[Encoded], None]:
    def push(packet: Encoded) -> None:
        mix.push(name, packet)

    return push


def _voice_key(role: Role, participant: str) -> str:
    """A participant's name among a mix's inputs."""
    return f"{role}/{participant}"


def _motion_key(role: Role, participant: str) -> str:
    """A participant's name among the motion hub's receivers (a customer's is their id: the hub
    keeps their reports under it)."""
    return participant if role == "customer" else f"{role}/{participant}"


async def wait_open(channel: RTCDataChannel, timeout: float = 10.0) -> None:
    """Until ``channel`` is open (for peers that opened it themselves)."""
    if channel.readyState == "open":
        return
    opened = asyncio.Event()
    channel.on("open", opened.set)
    await asyncio.wait_for(opened.wait(), timeout)
