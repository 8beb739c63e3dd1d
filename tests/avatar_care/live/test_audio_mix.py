"""Several voices in one live room, with real aiortc peers on loopback: who hears whom, mixed or not."""

import asyncio
import fractions
import itertools
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from avatar_care.live.audio_mix import (
    CEILING,
    DROP_OUT_S,
    Limiter,
    VoiceMix,
    opus_encoder,
    to_frame,
)
from avatar_care.live.audio_relay import AudioFanout
from avatar_care.live.demo_voice import RecordedVoice
from avatar_care.live.ice import use_loopback_only
from avatar_care.live.room import LiveRoom, RoomError, wait_open
from tests.avatar_care.live.test_audio_relay import RATE, SAMPLES, Person, Tone, record
from tests.rigging.posed_landmarks import make_frame, rq

Answer = Callable[[str], Awaitable[str]]


@pytest.fixture(autouse=True)
def loopback() -> object:
    use_loopback_only()
    yield
    use_loopback_only(False)


@pytest.fixture
async def room() -> AsyncIterator[LiveRoom]:
    r = LiveRoom("mix")
    yield r
    await r.close()


def decode_all(packets: list[Any]) -> np.ndarray:
    """What a listener's browser would play: every packet heard, in order, through one decoder."""
    decoder = av.CodecContext.create("opus", "r")
    chunks = []
    for packet in packets:
        for frame in decoder.decode(av.Packet(bytes(packet))):
            chunks.append(frame.to_ndarray().reshape(-1, frame.samples).mean(axis=0))
    return np.concatenate(chunks)


def levels(packets: list[Any], freqs: tuple[float, ...]) -> list[float]:
    """The spectrum's magnitude at each frequency, relative to its strongest peak."""
    signal = decode_all(packets)
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    hz = np.fft.rfftfreq(len(signal), 1 / RATE)
    top = float(spectrum.max())
    return [float(spectrum[np.abs(hz - f) < 15].max()) / top for f in freqs]


def rtp_steps(packets: list[Any]) -> list[int]:
    """Steps between consecutive RTP timestamps as heard (they are 32-bit and may wrap)."""
    pts = [int(p.pts) for p in packets]
    return [(b - a) % 2**32 for a, b in itertools.pairwise(pts)]


def goes_forward(packets: list[Any]) -> bool:
    """No RTP timestamp as heard goes back (a step back shows as nearly 2**32). Steps forward may be
    more than a frame: a receiver on a machine this busy sometimes loses packets."""
    return all(0 < step < 5 * RATE for step in rtp_steps(packets))


def high_band_db(signal: np.ndarray, tone_amplitude: float = 0.3) -> float:
    """The loudest 5 ms of energy above 3 kHz, in dB relative to a tone: a click is broadband."""
    window = np.hanning(256)
    reference = np.sum(np.abs(np.fft.rfft(tone_amplitude * np.sin(np.arange(256) * 0.06) * window)) ** 2)
    worst = 0.0
    for start in range(0, len(signal) - 256, 64):
        spectrum = np.abs(np.fft.rfft(signal[start : start + 256] * window)) ** 2
        worst = max(worst, float(np.sum(spectrum[16:])))  # bin 16 of 256 at 48 kHz is 3 kHz
    return 10 * math.log10(max(worst, 1e-12) / reference)


class FadingTone(Tone):
    """A tone that fades in over 50 ms, and on request fades out and then stops sending."""

    def __init__(self, hz: float) -> None:
        super().__init__(hz)
        self.stop_at: int | None = None  # the frame where the fade-out starts

    async def recv(self) -> av.AudioFrame:
        fading = self.stop_at is not None and self.n >= self.stop_at
        if fading and self.stop_at is not None and self.n >= self.stop_at + 3:
            await asyncio.sleep(3600)  # a microphone that went quiet: no more packets
        frame = await super().recv()
        samples = frame.to_ndarray().astype(np.float64).reshape(-1)
        t = (np.arange(SAMPLES) + (self.n - 1) * SAMPLES) / RATE
        gain = np.clip(t / 0.05, 0.0, 1.0)
        if fading and self.stop_at is not None:
            gain = gain * np.clip(1 - ((t * RATE - self.stop_at * SAMPLES) / (3 * SAMPLES)), 0.0, 1.0)
        shaped = av.AudioFrame.from_ndarray(
            (samples * gain).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        shaped.sample_rate, shaped.pts, shaped.time_base = RATE, frame.pts, frame.time_base
        return shaped


class Speaker(Person):
    """A customer whose microphone is a :class:`FadingTone`."""

    def __init__(self, hz: float) -> None:
        self.tone = FadingTone(hz)
        super().__init__("motion", hz=None, microphone=self.tone)


class Listener:
    """A supervisor's browser: receives audio only, with or without a motion channel."""

    def __init__(self, motion: bool) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTransceiver("audio", direction="recvonly")
        self.channel = (
            self.pc.createDataChannel("motion", ordered=False, maxRetransmits=0) if motion else None
        )
        self.motion: list[bytes] = []
        if self.channel is not None:
            self.channel.on("message", self.motion.append)
        self.heard: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", lambda track: self._tasks.append(asyncio.create_task(self._listen(track))))

    async def _listen(self, track: MediaStreamTrack) -> None:
        await record(track, self.heard)

    async def connect(self, answer_for: Answer) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await answer_for(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        if self.channel is not None:
            await wait_open(self.channel)
        return answer

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()


async def until(condition: Callable[[], bool], timeout: float = 10.0, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(poll)


async def test_the_operator_hears_two_customers_at_once(room: LiveRoom) -> None:
    operator = Person("landmarks", hz=None)
    await operator.connect(room.operator_offer)
    low, high = Person("motion", hz=440), Person("motion", hz=1000)
    await low.connect(lambda sdp: room.customer_offer("low", sdp))
    await high.connect(lambda sdp: room.customer_offer("high", sdp))
    await asyncio.sleep(2.0)
    assert room.operator_hears.mixing
    at_440, at_1000, at_700 = levels(operator.heard[-50:], (440, 1000, 700))
    assert at_440 > 0.3 and at_1000 > 0.3  # both voices, neither drowned
    assert at_700 < 0.05  # and nothing between them: a mix, not noise
    assert room.operator_hears.stats.mixed >= 50  # 20 ms frames for a second and more
    for customer in (low, high):  # each still hears the operator's (silent) line, and nothing broke
        assert customer.pc.connectionState == "connected"
    for p in (operator, low, high):
        await p.close()


class Recorded(MediaStreamTrack):
    """A microphone whose voice is already Opus: the payloads it sends are known byte for byte."""

    kind = "audio"

    def __init__(self, payloads: list[bytes]) -> None:
        super().__init__()
        self.voice = RecordedVoice(payloads)

    async def recv(self) -> Any:
        return await self.voice.recv()


def tone_payloads(hz: float, frames: int) -> list[bytes]:
    encoder = opus_encoder()
    t = np.arange(frames * SAMPLES) / RATE
    wave = (0.3 * np.sin(2 * math.pi * hz * t)).astype(np.float32)
    return [
        bytes(p)
        for i in range(frames)
        for p in encoder.encode(to_frame(wave[i * SAMPLES : (i + 1) * SAMPLES], i * SAMPLES))
    ]


async def test_one_customer_alone_is_relayed_as_sent_never_decoded(room: LiveRoom) -> None:
    operator = Person("landmarks", hz=None)
    await operator.connect(room.operator_offer)
    sent = tone_payloads(600, 150)
    customer = Person("motion", hz=None, microphone=Recorded(sent))
    await customer.connect(lambda sdp: room.customer_offer("alone", sdp))
    await asyncio.sleep(2.0)
    assert len(operator.heard) >= 50
    assert {bytes(p) for p in operator.heard} <= set(sent)  # the customer's own bytes
    assert room.operator_hears.stats.decoded == 0 and not room.operator_hears.mixing
    assert abs(operator.loudest_hz() - 600) < 30
    for p in (operator, customer):
        await p.close()


async def test_a_customer_leaving_mid_mix_leaves_the_other_audible(room: LiveRoom) -> None:
    operator = Person("landmarks", hz=None)
    await operator.connect(room.operator_offer)
    first, second = Person("motion", hz=500), Person("motion", hz=1500)
    await first.connect(lambda sdp: room.customer_offer("first", sdp))
    await second.connect(lambda sdp: room.customer_offer("second", sdp))
    await asyncio.sleep(1.5)
    assert all(level > 0.3 for level in levels(operator.heard[-40:], (500, 1500)))
    await first.close()
    await room.customer_left("first")
    heard = len(operator.heard)
    await asyncio.sleep(1.5)
    assert len(operator.heard) - heard >= 50  # the voice went on, at about 50 packets a second
    at_500, at_1500 = levels(operator.heard[-40:], (500, 1500))
    assert at_1500 > 0.99 and at_500 < 0.05
    assert not room.operator_hears.mixing  # one voice left: relayed encoded again
    assert goes_forward(operator.heard), sorted(set(rtp_steps(operator.heard)))
    await second.close()
    await operator.close()


@pytest.mark.parametrize("held_up_s", [0.0, 0.12], ids=["quiet", "loop-held-up"])
async def test_switching_between_relaying_and_mixing_keeps_time_and_makes_no_click(
    room: LiveRoom, held_up_s: float
) -> None:
    """With ``held_up_s``, the event loop (everyone's: the room's and the peers') is held up that
    long just as the mix starts and again while it goes on, as a busy machine holds it up."""
    loop = asyncio.get_running_loop()
    operator = Person("landmarks", hz=None)
    await operator.connect(room.operator_offer)
    steady, joining = Speaker(440), Speaker(1000)
    await steady.connect(lambda sdp: room.customer_offer("steady", sdp))
    await asyncio.sleep(1.0)
    assert not room.operator_hears.mixing  # one voice: relayed
    await joining.connect(lambda sdp: room.customer_offer("joining", sdp))
    if held_up_s:
        # held up within a millisecond of the switch, before the mix's first tick (5 ms after the
        # relayed voice's next frame is due): its first ticks fall due with the voices' frames
        # unread. Without the wait for them, the burst overflowed the queue, the relayed voice's
        # next frame was dropped, and the switch clicked (-25 dB)
        await until(lambda: room.operator_hears.mixing, poll=0.001)
        time.sleep(held_up_s)
        loop.call_later(0.5, time.sleep, held_up_s)
    await until(lambda: room.operator_hears.mixing)
    await asyncio.sleep(1.0)
    joining.tone.stop_at = joining.tone.n + 2  # fades out, then its packets stop: it drops out
    await until(lambda: not room.operator_hears.mixing)
    await asyncio.sleep(0.6)
    stats = room.operator_hears.stats
    assert stats.switches >= 2 and stats.mixed >= 40 and stats.passed >= 50
    assert "joining" in room.customers  # still in the room, only no longer in the mix
    assert goes_forward(operator.heard), sorted(set(rtp_steps(operator.heard)))
    # the mix's encoder is mono and the customers' (aiortc's) stereo: the TOC byte shows each switch
    stereo = [bool(bytes(p)[0] & 0x04) for p in operator.heard]
    switches = [i for i in range(1, len(stereo)) if stereo[i] != stereo[i - 1]]
    assert len(switches) >= 2 and stereo[0] and stereo[-1]
    signal = decode_all(operator.heard)
    for i in switches:
        # each tone fades in and out, so broadband energy here can only come from the switch
        around = signal[(i - 3) * SAMPLES : (i + 4) * SAMPLES]
        assert high_band_db(around) < -50, (i, high_band_db(around), stats)
    for p in (operator, steady, joining):
        await p.close()


async def operator_and_customer(room: LiveRoom) -> tuple[Person, Person]:
    """An operator singing 440 Hz and a customer singing 1 kHz, both connected."""
    operator = Person("landmarks", hz=440)
    await operator.connect(room.operator_offer)
    customer = Person("motion", hz=1000)
    await customer.connect(lambda sdp: room.customer_offer("c", sdp))
    return operator, customer


async def test_a_listener_hears_the_operator_and_a_customer(room: LiveRoom) -> None:
    operator, customer = await operator_and_customer(room)
    listener = Listener(motion=False)
    answer = await listener.connect(lambda sdp: room.listener_offer("supervisor", sdp))
    assert "a=sendonly" in answer  # the listener is heard by nobody
    await until(lambda: len(listener.heard) >= 60)  # 20 ms packets: about 1.2 s of them
    at_440, at_1000 = levels(listener.heard[-50:], (440, 1000))
    assert at_440 > 0.3 and at_1000 > 0.3
    assert abs(customer.loudest_hz() - 440) < 30  # the customer still hears only the operator
    assert abs(operator.loudest_hz() - 1000) < 30  # and the operator only the customer
    for p in (operator, customer, listener):
        await p.close()


async def test_a_listener_with_a_motion_channel_sees_the_avatar(room: LiveRoom) -> None:
    operator = Person("landmarks", hz=None)
    await operator.connect(room.operator_offer)
    listener = Listener(motion=True)
    await listener.connect(lambda sdp: room.listener_offer("supervisor", sdp))
    raised = {"rightUpperArm": rq((0, 0, 1), -80)}
    for i in range(10):
        operator.channel.send(json.dumps(make_frame(raised, t_ms=i * 33.3).to_json()))
        await asyncio.sleep(0.033)
    await asyncio.sleep(0.3)
    assert len(listener.motion) >= 8
    await listener.close()
    await operator.close()


async def test_a_listeners_peer_closing_does_not_disturb_the_room(room: LiveRoom) -> None:
    operator, customer = await operator_and_customer(room)
    listener = Listener(motion=True)
    await listener.connect(lambda sdp: room.listener_offer("supervisor", sdp))
    await asyncio.sleep(1.0)
    assert len(listener.heard) >= 25
    await listener.close()  # the browser tab closes; nobody calls listener_left
    await until(lambda: not room.listeners)
    assert room.listener_audio.listeners == [] and "listener/supervisor" not in room.hub.customers
    operator_heard, customer_heard = len(operator.heard), len(customer.heard)
    await room.listeners_hear.settled()  # frames already asked of the mixing thread come out
    mixed = room.listeners_hear.stats.mixed
    await asyncio.sleep(1.5)
    assert len(operator.heard) - operator_heard >= 50 and len(customer.heard) - customer_heard >= 50
    assert abs(operator.loudest_hz() - 1000) < 30 and abs(customer.loudest_hz() - 440) < 30
    assert room.listeners_hear.stats.mixed - mixed <= 1  # nobody listens: no mixing for nobody
    for p in (operator, customer):
        await p.close()


async def test_listeners_close_with_the_room_and_only_they_may_come_without_a_data_channel() -> None:
    room = LiveRoom("closing")
    with pytest.raises(RoomError, match="SDP"):
        await room.listener_offer("x", "not an offer")
    assert room.listeners == {}
    audio_only = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    audio_only.addTransceiver("audio", direction="recvonly")
    await audio_only.setLocalDescription(await audio_only.createOffer())
    for join in (lambda sdp: room.customer_offer("x", sdp), room.operator_offer):
        with pytest.raises(RoomError, match="data channel"):  # only a listener may come without one
            await join(audio_only.localDescription.sdp)
    await audio_only.close()
    assert room.customers == {} and room.operator is None
    listener = Listener(motion=False)
    await listener.connect(lambda sdp: room.listener_offer("supervisor", sdp))
    pc = room.listeners["supervisor"]
    await room.close()
    assert room.listeners == {} and pc.connectionState == "closed"
    await listener.close()


def test_the_limiter_leaves_a_quiet_sum_alone_and_keeps_a_loud_one_below_full_scale() -> None:
    limiter = Limiter()
    t = np.arange(SAMPLES) / RATE
    quiet = (0.4 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
    assert np.array_equal(limiter.apply(quiet), quiet)
    loud = quiet * 4  # four voices at once, peaking at 1.6
    for _ in range(5):
        out = limiter.apply(loud)
        assert np.max(np.abs(out)) <= 1.0
    assert np.max(np.abs(out)) == pytest.approx(CEILING, abs=0.01)  # held at the ceiling, not crushed
    for _ in range(60):  # a second later the voices are quiet again: the gain is back
        out = limiter.apply(quiet)
    assert limiter.gain > 0.99


async def test_a_silent_voice_does_not_hold_the_mix_back_and_a_damaged_packet_is_silence() -> None:
    output = AudioFanout("unit")
    ear = output.subscribe()
    mix = VoiceMix("unit", output)
    a = tone_payloads(440, 40)

    def packet(payload: bytes) -> Any:
        p = av.Packet(payload)
        p.pts, p.time_base = 0, fractions.Fraction(1, RATE)
        return p

    mix.push("a", packet(a[0]))
    assert mix.stats.passed == 1 and not mix.mixing  # alone: relayed as it came
    mix.push("b", packet(b"\xff\xff\xff\xff\x00"))  # a second voice: one damaged packet, then nothing
    b_sent = time.monotonic()
    assert mix.mixing
    for payload in a[1:8]:
        await asyncio.sleep(0.02)
        mix.push("a", packet(payload))
    await asyncio.sleep(0.05)
    assert mix.stats.mixed >= 4  # a's frames went on being mixed while b sent nothing
    assert mix.stats.late >= 4 and mix.stats.damaged == 1
    # b has not been quiet long enough to leave the mix yet: 0.19 s of the test's sleeps against
    # DROP_OUT_S (0.5 s), unless a busy machine held this test longer than that (once, in a full
    # run beside the browser tests), when b may have left already; that it leaves is checked below
    if time.monotonic() - b_sent < DROP_OUT_S:
        assert mix.mixing
    for payload in a[8:30]:
        await asyncio.sleep(0.02)
        mix.push("a", packet(payload))
    assert not mix.mixing and mix.stats.switches == 2  # b dropped out: a is relayed again
    heard = [ear._queue.get_nowait() for _ in range(ear._queue.qsize())]
    assert len(heard) == 10 and ear.dropped == output.packets - 10  # nobody read: the newest kept
    assert all(step == 960 for step in rtp_steps(heard))
    assert {bytes(p) for p in heard[-3:]} <= set(a)  # relayed again: a's own bytes
    mix.close()
    ear.stop()
