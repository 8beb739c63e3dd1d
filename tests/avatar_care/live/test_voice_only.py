"""A voice-only operator with real aiortc peers on loopback: no camera, a microphone reading a text
with pauses; the customer's avatar speaks with the voice, is still in the pauses, and is alive
(breathing, blinking, its head swaying) with no tracked frame at all."""

from __future__ import annotations

import asyncio
import fractions
import itertools
import json
import math
import statistics
import time
import wave
from collections.abc import AsyncIterator

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from avatar_care.live.ice import use_loopback_only
from avatar_care.live.room import LiveRoom, wait_open
from rigging.audio_visemes import VISEMES
from rigging.codec import decode
from rigging.quaternion import angle_between
from tests.avatar_care.live.test_room_peers import RAISED, Peer
from tests.rigging.posed_landmarks import make_frame
from tests.shared_data import shared

RATE = 48000
SAMPLES = 960  # 20 ms, as browsers send
PAUSE_S = 1.5
SPEECH = (
    "speech/sense_and_sensibility_01_austen_64kb-0880.wav",
    "speech/sense_and_sensibility_01_austen_64kb-0890.wav",
)
EDGE_S = 0.25  # around a change between speech and pause, the packets are not judged


@pytest.fixture(autouse=True)
def loopback() -> object:
    use_loopback_only()
    yield
    use_loopback_only(False)


def read_speech(relative: str) -> np.ndarray:
    """A 16-bit mono recording at 48 kHz (the speech files are 16 kHz)."""
    with wave.open(str(shared(relative))) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
        rate = w.getframerate()
    t = np.arange(round(len(x) * RATE / rate)) / RATE
    return np.interp(t, np.arange(len(x)) / rate, x)


class Reading(MediaStreamTrack):
    """A microphone reading the recordings, a pause of silence before and after each, paced like
    a real one; ``spans`` are the (start, end) seconds of speech after its first frame."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        silence = np.zeros(int(PAUSE_S * RATE))
        parts, self.spans, at = [silence], [], PAUSE_S
        for relative in SPEECH:
            speech = read_speech(relative)
            parts += [speech, silence]
            self.spans.append((at, at + len(speech) / RATE))
            at += (len(speech) + len(silence)) / RATE
        self.samples = np.concatenate(parts).astype(np.int16)
        self.n = 0
        self.start = 0.0

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE

    async def recv(self) -> av.AudioFrame:
        if self.n == 0:
            self.start = time.monotonic()
        await asyncio.sleep(max(0.0, self.start + self.n * SAMPLES / RATE - time.monotonic()))
        i = (self.n * SAMPLES) % (len(self.samples) - SAMPLES)
        frame = av.AudioFrame.from_ndarray(
            self.samples[i : i + SAMPLES].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = RATE
        frame.pts = self.n * SAMPLES
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += 1
        return frame


class Operator:
    """The console with a microphone and no camera: a landmarks channel that sends nothing."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = self.pc.createDataChannel("landmarks", ordered=False, maxRetransmits=0)
        self.microphone = Reading()
        self.pc.addTrack(self.microphone)

    async def connect(self, room: LiveRoom) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await room.operator_offer(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await wait_open(self.channel)


class Watcher(Peer):
    """A customer that notes when each motion packet arrived."""

    def __init__(self) -> None:
        super().__init__("motion", unordered=True)
        self.arrivals: list[float] = []
        self.channel.on("message", lambda _: self.arrivals.append(time.monotonic()))


def mouth(expressions: dict[str, float]) -> float:
    return sum(expressions.get(v, 0.0) for v in VISEMES)


@pytest.fixture
async def room() -> AsyncIterator[LiveRoom]:
    r = LiveRoom("voice-room")
    yield r
    await r.close()


async def test_a_voice_only_operators_avatar_speaks_with_the_voice_and_is_alive(room: LiveRoom) -> None:
    customer = Watcher()
    await customer.connect(lambda sdp: room.customer_offer("c", sdp))
    operator = Operator()
    await operator.connect(room)
    reading = operator.microphone
    while reading.n == 0:
        await asyncio.sleep(0.01)
    await asyncio.sleep(reading.seconds + 0.3)
    started = reading.start
    packets = [decode(p) for p in customer.received]
    assert len(packets) == len(customer.arrivals)
    received_for = time.monotonic() - customer.arrivals[0]
    # with no tracked frame at all, the output clock still runs at about 30 packets a second
    assert room.hub.stats.frames == 0
    assert len(packets) / received_for > 25, (len(packets), received_for)
    assert all(p.timing is None for p in packets)

    # the mouth: open while the voice speaks, closed in the pauses (on loopback a packet arrives
    # within a few ms of the voice it was made from)
    speaking, pausing = [], []
    for packet, arrived in zip(packets, customer.arrivals, strict=True):
        at = arrived - started
        if any(a + EDGE_S < at < b - EDGE_S for a, b in reading.spans):
            speaking.append(mouth(packet.pose.expressions))
        elif at > EDGE_S and all(not (a - EDGE_S < at < b + EDGE_S) for a, b in reading.spans):
            pausing.append(mouth(packet.pose.expressions))
    assert len(speaking) > 100 and len(pausing) > 40, (len(speaking), len(pausing))
    assert statistics.median(speaking) > 0.25, sorted(speaking)[:: len(speaking) // 10]
    assert sum(m > 0.1 for m in speaking) > 0.5 * len(speaking)  # words have gaps of their own
    assert max(pausing) < 0.05, sorted(pausing)[-5:]
    # and within the speech it follows the voice's loudness, syllable by syllable
    opening, level = [], []
    for packet, arrived in zip(packets, customer.arrivals, strict=True):
        end = int((arrived - started) * RATE)
        if SAMPLES * 2 < end < len(reading.samples):
            window = reading.samples[end - RATE // 30 : end].astype(np.float64) / 32768.0
            level.append(20 * math.log10(math.sqrt(float(np.mean(window**2))) + 1e-4))
            opening.append(mouth(packet.pose.expressions))
    correlation = float(np.corrcoef(opening, level)[0, 1])
    assert correlation > 0.6, correlation

    # alive: blinks, the chest breathing, the head swaying
    blinks = [p.pose.expressions.get("blink", 0.0) for p in packets]
    assert max(blinks) > 0.8 and min(blinks) == 0.0
    for bone, least_deg in (("chest", 1.0), ("head", 1.0)):
        qs = np.array([p.pose.bones[bone] for p in packets])
        spread = math.degrees(float(np.max(angle_between(qs, qs[:1]))))
        assert spread > least_deg, (bone, spread)
    # at rest with the arms down, not in the T-pose of a pose with no bones
    assert packets[-1].pose.bones["rightUpperArm"][2] > 0.5
    await operator.pc.close()
    await customer.pc.close()


async def test_when_the_camera_is_lost_the_avatar_glides_to_rest_and_keeps_speaking(room: LiveRoom) -> None:
    customer = Watcher()
    await customer.connect(lambda sdp: room.customer_offer("c", sdp))
    operator = Operator()
    await operator.connect(room)
    # a camera with the right arm raised and no face, for a second, then nothing more
    for i in range(30):
        operator.channel.send(json.dumps(make_frame(RAISED, t_ms=i * 33.3).to_json()))
        await asyncio.sleep(0.033)
    tracked_until = time.monotonic()
    await asyncio.sleep(6.5)
    packets = [decode(p) for p in customer.received]
    assert room.hub.stats.frames >= 25
    after = [p for p, t in zip(packets, customer.arrivals, strict=True) if t > tracked_until + 0.1]
    # packets go on at about 30 a second, on the tracked frames' timeline
    assert len(after) / 6.4 > 25
    assert all(b.pose.t_ms > a.pose.t_ms for a, b in itertools.pairwise(after))
    # the raised arm is held, then glides down to rest: never a jump between two packets
    arm = np.array([p.pose.bones["rightUpperArm"] for p in after])
    # degrees per frame interval (1/30 s of pose time): a packet the room's clock sent late, or that
    # came late, spans more of the glide, which is still no jump
    intervals = np.maximum(np.diff([p.pose.t_ms for p in after]) / (1000 / 30), 1.0)
    steps = np.degrees(angle_between(arm[1:], arm[:-1])) / intervals
    assert arm[0][2] < -0.5 and arm[-1][2] > 0.5
    assert float(np.max(steps)) < 15.0, float(np.max(steps))
    # the face was never tracked: the mouth speaks with the voice, before and after the camera went
    speaking = [mouth(p.pose.expressions) for p in packets]
    assert max(speaking) > 0.5
    assert room.hub.stats.packets_idle > 60 and room.hub.stats.packets_voiced > 150
    await operator.pc.close()
    await customer.pc.close()
