"""Voice through a live room, relayed encoded, with real aiortc peers on loopback."""

import asyncio
import fractions
import itertools
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import RtpPacket

from avatar_care.live.audio_relay import AudioFanout, ForwardAtOnce, PassthroughOpusDecoder
from avatar_care.live.ice import use_loopback_only
from avatar_care.live.room import LiveRoom, wait_open

RATE = 48000
SAMPLES = 960


@pytest.fixture(autouse=True)
def loopback() -> object:
    use_loopback_only()
    yield
    use_loopback_only(False)


class Tone(MediaStreamTrack):
    """A microphone that sings one frequency, paced like a real one; with ``frames``, it falls
    silent (sends nothing more) after that many."""

    kind = "audio"

    def __init__(self, hz: float, frames: int | None = None) -> None:
        super().__init__()
        self.hz = hz
        self.n = 0
        self.start = 0.0
        self.frames = frames

    async def recv(self) -> av.AudioFrame:
        if self.frames is not None and self.n >= self.frames:
            await asyncio.Event().wait()  # a muted microphone: no more packets
        if self.n == 0:  # the microphone starts when the connection asks for sound, not before
            self.start = time.monotonic()
        await asyncio.sleep(max(0.0, self.start + self.n * SAMPLES / RATE - time.monotonic()))
        t = (np.arange(SAMPLES) + self.n * SAMPLES) / RATE
        samples = (0.3 * 32767 * np.sin(2 * math.pi * self.hz * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.n * SAMPLES
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += 1
        return frame


async def record(track: MediaStreamTrack, heard: list[Any]) -> None:
    """Everything ``track`` delivers, until it ends with its connection."""
    try:
        while True:
            heard.append(await track.recv())
    except Exception:  # the track ended with the connection
        return


class Person:
    """A browser-like peer: a data channel, its microphone, and what it hears (encoded packets)."""

    def __init__(self, label: str, hz: float | None, microphone: MediaStreamTrack | None = None) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = self.pc.createDataChannel(label, ordered=False, maxRetransmits=0)
        if hz is not None:
            microphone = Tone(hz)
        if microphone is None:
            self.pc.addTransceiver("audio", direction="recvonly")
        else:
            self.pc.addTrack(microphone)
        self.heard: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.create_task(self._listen(track)))

    async def _listen(self, track: MediaStreamTrack) -> None:
        await record(track, self.heard)

    async def connect(self, answer_for) -> None:  # type: ignore[no-untyped-def]
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await answer_for(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await wait_open(self.channel)

    def loudest_hz(self) -> float:
        """Decode what was heard (this process relays encoded, so it arrives as Opus packets)."""
        decoder = av.CodecContext.create("opus", "r")
        chunks = []
        for packet in self.heard[-50:]:
            for frame in decoder.decode(av.Packet(bytes(packet))):
                chunks.append(frame.to_ndarray().reshape(-1, frame.samples).mean(axis=0))
        signal = np.concatenate(chunks)
        spectrum = np.abs(np.fft.rfft(signal))
        return float(np.argmax(spectrum) * RATE / len(signal))

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()


@pytest.fixture
async def room() -> AsyncIterator[LiveRoom]:
    r = LiveRoom("voice")
    yield r
    await r.close()


async def test_the_operator_is_heard_by_every_customer_and_hears_the_customer(room: LiveRoom) -> None:
    operator = Person("landmarks", hz=440)
    await operator.connect(room.operator_offer)
    talking = Person("motion", hz=1000)
    await talking.connect(lambda sdp: room.customer_offer("talking", sdp))
    listening = Person("motion", hz=None)  # no microphone permission: listens only
    await listening.connect(lambda sdp: room.customer_offer("listening", sdp))
    await asyncio.sleep(2.0)
    for customer in (talking, listening):
        assert len(customer.heard) >= 50  # 20 ms packets: about 100 in two seconds
        assert isinstance(customer.heard[-1], av.Packet)  # never decoded on the way
        assert abs(customer.loudest_hz() - 440) < 30
    assert len(operator.heard) >= 50
    assert abs(operator.loudest_hz() - 1000) < 30
    # the server's audio receivers handed the payloads to their tracks without a decoder thread
    assert room.operator is not None
    receivers = [r for r in room.operator.getReceivers() if r.track.kind == "audio"]
    assert receivers and all(r._RTCRtpReceiver__decoder_queue.handed_over >= 50 for r in receivers)
    for p in (operator, talking, listening):
        await p.close()


async def test_the_server_holds_back_none_of_the_operators_voice(room: LiveRoom) -> None:
    # aiortc's own audio receivers keep each packet until four more have come: a relay doing so
    # delays the voice 80 ms behind the motion. Here the operator sends 40 packets and stops: every
    # one of them must have left for the customer, not 36.
    customer = Person("motion", hz=None)
    await customer.connect(lambda sdp: room.customer_offer("c", sdp))
    microphone = Tone(440, frames=40)
    operator = Person("landmarks", hz=None, microphone=microphone)
    await operator.connect(room.operator_offer)
    for _ in range(100):  # until the microphone has sent its last and the relay is quiet
        await asyncio.sleep(0.1)
        if microphone.n >= 40 and room.operator_audio.packets >= 40:
            break
    await asyncio.sleep(0.5)
    assert microphone.n == 40
    assert room.operator_audio.packets == 40
    await operator.close()
    await customer.close()


async def test_an_operator_reconnecting_is_heard_again(room: LiveRoom) -> None:
    customer = Person("motion", hz=None)
    await customer.connect(lambda sdp: room.customer_offer("c", sdp))
    first = Person("landmarks", hz=300)
    await first.connect(room.operator_offer)
    await asyncio.sleep(1.0)
    second = Person("landmarks", hz=700)
    await second.connect(room.operator_offer)
    await first.close()
    await asyncio.sleep(1.5)
    assert abs(customer.loudest_hz() - 700) < 30
    await second.close()
    await customer.close()


class Packets:
    def __init__(self, pts: list[int]) -> None:
        self.pts = pts

    async def recv(self) -> Any:
        await asyncio.sleep(0.001)
        if not self.pts:
            await asyncio.sleep(3600)
        packet = av.Packet(b"\xfc\xff\xfe")
        packet.pts = self.pts.pop(0)
        return packet


async def test_a_new_source_continues_the_timeline_and_a_slow_listener_loses_only_its_oldest() -> None:
    fanout = AudioFanout("t")
    slow = fanout.subscribe()
    fanout.set_source(Packets([5000, 5960, 6920]))
    await asyncio.sleep(0.05)
    fanout.set_source(Packets([0, 960]))  # a reconnected operator's clock starts again at 0
    await asyncio.sleep(0.05)
    pts = [(await slow.recv()).pts for _ in range(5)]
    assert pts == [960, 1920, 2880, 3840, 4800]
    fanout.set_source(Packets([i * 960 for i in range(30)]))
    await asyncio.sleep(0.2)
    assert slow.dropped == 20  # nobody read: only the newest ten packets are kept
    slow.stop()
    assert fanout.listeners == []
    await fanout.close()


async def test_a_gap_at_the_sender_is_kept_and_a_new_clock_is_not() -> None:
    fanout = AudioFanout("t")
    listener = fanout.subscribe()
    wrap = 2**32
    second = 48000
    # 3 s with no packet (a stalled sender, a lost network): kept. Then a jump of over a minute
    # (a new clock, not time that passed), the 32-bit wrap (one frame), a jump of two minutes
    # and one from behind: each carried on by one frame
    source = [0, 960, 960 + 3 * second, wrap - 960, 0, 960 + 120 * second, 5]
    fanout.set_source(Packets(list(source)))
    await asyncio.sleep(0.05)
    pts = [(await listener.recv()).pts for _ in range(len(source))]
    steps = [b - a for a, b in itertools.pairwise(pts)]
    assert steps == [960, 3 * second, 960, 960, 960, 960], steps
    listener.stop()
    await fanout.close()


def test_the_passthrough_decoder_keeps_the_payload_and_its_time() -> None:
    class Frame:
        data = b"\x01\x02\x03"
        timestamp = 96000

    (packet,) = PassthroughOpusDecoder().decode(Frame())
    assert isinstance(packet, av.Packet) and bytes(packet) == b"\x01\x02\x03"
    assert packet.pts == 96000 and packet.time_base == fractions.Fraction(1, 48000)


def rtp(seq: int, timestamp: int, payload: bytes = b"\xfc\xff\xfe") -> RtpPacket:
    packet = RtpPacket(payload_type=111, sequence_number=seq, timestamp=timestamp, payload=payload)
    packet._data = payload  # type: ignore[attr-defined]  # as aiortc's receiver depayloads it
    return packet


def test_each_voice_packet_goes_on_as_it_comes_and_late_ones_are_dropped() -> None:
    buffer = ForwardAtOnce()
    forwarded = []
    # in order across the sequence numbers' wrap, a repeat, one overtaken, a gap (a loss)
    for seq in (65534, 65535, 0, 0, 2, 1, 3):
        pli, frame = buffer.add(rtp(seq, seq * 960 % 2**32))
        assert pli is False
        if frame is not None:
            forwarded.append(frame.timestamp // 960)
    assert forwarded == [65534, 65535, 0, 2, 3]
    assert buffer.dropped == 2
    # a sender that started again far behind is followed, not dropped
    _, frame = buffer.add(rtp(40_000, 5))
    assert frame is not None and frame.timestamp == 5 and frame.data == b"\xfc\xff\xfe"
    _, frame = buffer.add(rtp(40_001, 965))
    assert frame is not None
