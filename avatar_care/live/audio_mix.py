"""Several voices into one ear: relayed encoded while one speaks, mixed while several do.

A :class:`VoiceMix` takes encoded Opus packets from any number of named inputs (a room's
customers, the operator) and hands one stream to an :class:`~avatar_care.live.audio_relay.AudioFanout`
(the operator's ear, or the listeners'):

* While a single input sends voice, its packets are forwarded as they are, never decoded (the
  cheap path of ``audio_relay``, and the usual case: a consultation is one customer).
* As soon as a second input sends, every active input is decoded (libopus), their 20 ms frames are
  summed through a :class:`Limiter` and encoded once (one encoder per mix, however many hear it).
  Frames are aligned by arrival, not by the senders' clocks, which are unrelated: the mix has a
  20 ms clock of its own, and each tick takes the oldest frame waiting from every input (a few at
  most: :data:`QUEUE_FRAMES`). An input with nothing waiting is silent for that tick, so a late or
  silent customer never holds the others back; its late frame is mixed at the next tick, and
  from then on it stays a frame behind, which absorbs its jitter.
* An input whose packets stop for :data:`DROP_OUT_S` leaves the mix (a browser sends a packet every
  20 ms while its microphone is on, silence included); with one left, its packets are forwarded
  encoded again.

Switching between the two must not click. The listener's decoder goes from one encoder's stream
to another's: a fresh encoder starts from silence and its first frame decodes as a burst, so the
mix encoder is first fed the last :data:`PRIME_FRAMES` frames the listener already heard (kept
encoded while relaying, decoded only at the switch) and what it makes of them is thrown away.
Measured on a 440 Hz tone, the switch then stays within the codec's noise floor above 3 kHz, with a
level wobble of about -2.5/+1.4 dB for a few milliseconds. The output's timestamps always go on
from where they were (``AudioFanout.forward`` re-times every packet), whichever path made them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from avatar_care.live.audio_relay import FRAME_TICKS, OPUS_CLOCK, OPUS_TIME_BASE, AudioFanout, Encoded

logger = logging.getLogger(__name__)

Samples = npt.NDArray[np.float32]

FRAME_S = FRAME_TICKS / OPUS_CLOCK
FIRST_TICK_S = 0.005  # the first tick comes this long after the relayed voice's next packet is due
BEHIND_S = 0.1  # a clock this far behind (the event loop was held up) starts again from now
FADE = 120  # samples (2.5 ms) of fade where an input's voice stops or starts within the mix
FADE_IN = np.linspace(0.0, 1.0, FADE, endpoint=False, dtype=np.float32)
FADE_OUT = FADE_IN[::-1].copy()
DROP_OUT_S = 0.25  # an input silent (no packets) this long is not mixed any more
QUEUE_FRAMES = 5  # frames an input may have waiting; beyond that its oldest go (it came in a burst)
PRIME_FRAMES = 2  # frames the listener already heard, fed to a new mix encoder to start it warm
MIX_BITRATE = 40000  # one encoder carries several voices: a little above a single voice's 32 kbit/s
CEILING = 0.89  # the limiter's ceiling, about -1 dBFS
RELEASE = 0.1  # per frame, the share of the way back to unity gain: about 200 ms


class Limiter:
    """Keeps a sum of voices below the ceiling: the gain falls at once, and comes back slowly."""

    def __init__(self, ceiling: float = CEILING, release: float = RELEASE) -> None:
        self.ceiling = ceiling
        self.release = release
        self.gain = 1.0

    def apply(self, frame: Samples) -> Samples:
        peak = float(np.max(np.abs(frame))) if frame.size else 0.0
        target = 1.0 if peak <= self.ceiling else self.ceiling / peak
        # down to the target at once (it is below the gain), up towards unity a share per frame
        new = min(target, self.gain + (1.0 - self.gain) * self.release)
        if new == 1.0 and self.gain == 1.0:
            return frame
        # a ramp, not a step, so the gain change itself makes no click; the clip catches what
        # the ramp's start lets through in the frame where a peak arrives
        ramp = np.linspace(self.gain, new, frame.size, endpoint=False, dtype=np.float32)
        self.gain = new
        limited: Samples = np.clip(frame * ramp, -1.0, 1.0)
        return limited


def opus_decoder() -> Any:
    decoder: Any = av.CodecContext.create("libopus", "r")
    decoder.sample_rate = OPUS_CLOCK
    decoder.layout = "mono"  # libopus downmixes a stereo stream itself
    decoder.format = "s16"
    return decoder


def opus_encoder() -> Any:
    encoder: Any = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = OPUS_CLOCK
    encoder.layout = "mono"
    encoder.format = "s16"
    encoder.bit_rate = MIX_BITRATE
    encoder.time_base = OPUS_TIME_BASE
    encoder.options = {"application": "voip"}
    return encoder


def to_samples(decoded: list[Any]) -> Samples:
    """One 20 ms frame of mono float samples from what a decoder gave (or a decoded frame)."""
    chunks = []
    for frame in decoded:
        array = frame.to_ndarray()
        if array.dtype == np.int16:
            array = array.astype(np.float32) / 32768.0
        channels = len(frame.layout.channels)
        if frame.format.is_planar:  # one row per channel
            chunks.append(array.reshape(channels, -1).mean(axis=0, dtype=np.float32))
        else:  # one row, the channels interleaved
            chunks.append(array.reshape(-1, channels).mean(axis=1, dtype=np.float32))
    if not chunks:
        return np.zeros(FRAME_TICKS, dtype=np.float32)
    samples = np.concatenate(chunks)
    if samples.size < FRAME_TICKS:  # a 10 ms packet: the rest of the frame is silence
        samples = np.pad(samples, (0, FRAME_TICKS - samples.size))
    return samples[:FRAME_TICKS]


def to_frame(samples: Samples, pts: int) -> av.AudioFrame:
    pcm = np.round(samples * 32767.0).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = OPUS_CLOCK
    frame.pts = pts
    frame.time_base = OPUS_TIME_BASE
    return frame


def copy_packet(packet: Encoded) -> Encoded:
    """A packet of our own to re-time: the same input packet may go to several mixes."""
    if isinstance(packet, av.Packet):
        copy = av.Packet(bytes(packet))
        copy.pts = packet.pts
        copy.time_base = OPUS_TIME_BASE
        return copy
    return packet  # a decoded frame (the plain relay, measured only): not shared between ears


@dataclass
class _Input:
    name: str
    last_arrival: float = -1e9
    recent: deque[Encoded] = field(default_factory=lambda: deque(maxlen=PRIME_FRAMES))
    waiting: deque[Encoded] = field(default_factory=deque)
    decoder: Any = None
    bad: int = 0
    # while mixing, each input's frame is decoded a tick before it is mixed, so that the mix
    # knows whether the next one came and can fade the voice out before a gap instead of cutting it
    held: Samples | None = None
    held_packet: Encoded | None = None
    held_follows: bool = False  # the frame before the held one was heard: no fade-in
    broken: bool = False  # frames were dropped after the held one

    def decode(self, packet: Encoded) -> Samples:
        if not isinstance(packet, av.Packet):
            return to_samples([packet])
        if self.decoder is None:
            self.decoder = opus_decoder()
        try:
            return to_samples(self.decoder.decode(av.Packet(bytes(packet))))
        except av.FFmpegError as exc:  # a damaged packet is this input's silence, not the mix's end
            self.bad += 1
            if self.bad == 1 or self.bad % 500 == 0:
                logger.warning("voice %s: %d undecodable packets (%s)", self.name, self.bad, exc)
            return np.zeros(FRAME_TICKS, dtype=np.float32)


@dataclass
class MixStats:
    passed: int = 0  # packets forwarded as they came
    mixed: int = 0  # frames made by mixing
    decoded: int = 0  # input frames decoded
    dropped: int = 0  # input frames that came too many at once
    damaged: int = 0  # input frames that would not decode (mixed as silence)
    late: int = 0  # ticks where an input in the mix had no frame yet (silent for that tick)
    switches: int = 0  # from relaying to mixing or back
    mix_cpu_s: float = 0.0  # thread time spent decoding, mixing and encoding


class VoiceMix:
    """Named inputs in, one encoded stream out to ``output``'s listeners."""

    def __init__(self, name: str, output: AudioFanout) -> None:
        self.name = name
        self.output = output
        self.stats = MixStats()
        self._inputs: dict[str, _Input] = {}
        self._voice: str | None = None  # the input relayed as it is, while not mixing
        self._encoder: Any = None  # set while mixing
        self._limiter = Limiter()
        self._pts = 0
        self._encoded = 0  # frames given to the current encoder
        self._tick: asyncio.TimerHandle | None = None
        self._tick_at = 0.0  # on the event loop's clock
        self._filling = False  # the first tick of a mix only decodes: nothing is held yet

    @property
    def mixing(self) -> bool:
        return self._encoder is not None

    def active(self) -> list[str]:
        """The inputs that sent voice within the last :data:`DROP_OUT_S`."""
        now = time.monotonic()
        return [name for name, i in self._inputs.items() if now - i.last_arrival <= DROP_OUT_S]

    def push(self, name: str, packet: Encoded) -> None:
        """One 20 ms packet from input ``name`` (it joins the mix with its first packet)."""
        source = self._inputs.get(name)
        if source is None:
            source = self._inputs[name] = _Input(name)
            logger.info("voice mix %s: %s joins", self.name, name)
        now = time.monotonic()
        source.last_arrival = now
        if not self.output.listeners:  # nobody hears this mix: no work, only keep track
            if self.mixing:
                self._stop_mixing()
            self._voice = None
            source.recent.append(packet)
            return
        if self.mixing:
            source.waiting.append(packet)
            while len(source.waiting) > QUEUE_FRAMES:
                source.waiting.popleft()
                source.broken = True
                self.stats.dropped += 1
            return
        active = self.active()
        if self._voice not in active or self._voice not in self._inputs:
            if self._voice != name:
                self.output.new_timeline()
            self._voice = name
        if len(active) > 1:
            self._start_mixing(name, packet, now)
            return
        self._relay(source, packet)

    def remove(self, name: str) -> None:
        """Input ``name`` is gone (a customer left): the others go on without waiting for it."""
        source = self._inputs.pop(name, None)
        if source is None:
            return
        logger.info("voice mix %s: %s leaves", self.name, name)
        if self._voice == name:
            self._voice = None
        if self.mixing and len(self.active()) <= 1:
            self._back_to_relay(next(iter(self.active()), None))

    def close(self) -> None:
        if self.mixing:
            self._stop_mixing()
        self._inputs.clear()
        self._voice = None

    def _relay(self, source: _Input, packet: Encoded) -> None:
        source.recent.append(packet)
        self.output.forward(copy_packet(packet))
        self.stats.passed += 1

    def _start_mixing(self, newcomer: str, packet: Encoded, now: float) -> None:
        started = time.thread_time()
        self.stats.switches += 1
        logger.info("voice mix %s: %s speaks too, mixing %s", self.name, newcomer, ", ".join(self.active()))
        self._encoder = opus_encoder()
        self._encoded = 0
        self._limiter = Limiter()
        self.output.new_timeline()
        voice = self._inputs.get(self._voice) if self._voice is not None else None
        next_due = now
        if voice is not None and voice.name != newcomer:
            # the last frames the listener heard, so that the new encoder starts where they left off
            for heard in voice.recent:
                self._encode(voice.decode(heard))
                self.stats.decoded += 1
            next_due = max(now, voice.last_arrival + FRAME_S)
        for source in self._inputs.values():
            source.waiting.clear()
            source.held, source.held_packet, source.broken = None, None, False
            # the relayed voice goes on in the mix without a fade; everyone else fades in
            source.held_follows = source is voice
        self._filling = True
        self._inputs[newcomer].waiting.append(packet)
        self.stats.mix_cpu_s += time.thread_time() - started
        # the clock's phase: just after the voice heard so far is due, so that it misses no tick
        loop = asyncio.get_running_loop()
        self._tick_at = loop.time() + (next_due - now) + FIRST_TICK_S
        self._tick = loop.call_at(self._tick_at, self._on_tick)

    def _stop_mixing(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        self._encoder = None
        for source in self._inputs.values():
            source.decoder = None  # a new mix starts its decoders afresh from the primed frames
            source.waiting.clear()
            source.held, source.held_packet = None, None

    def _on_tick(self) -> None:
        self._tick = None
        if not self.mixing:
            return
        active = self.active()
        if len(active) <= 1:
            self._back_to_relay(active[0] if active else None)
            return
        try:
            self._mix_frame([self._inputs[name] for name in active])
        finally:
            loop = asyncio.get_running_loop()
            self._tick_at += FRAME_S
            if self._tick_at < loop.time() - BEHIND_S:
                self._tick_at = loop.time() + FRAME_S
            self._tick = loop.call_at(self._tick_at, self._on_tick)

    def _mix_frame(self, sources: list[_Input]) -> None:
        """Mix the frames held since the last tick, and hold each input's next frame."""
        started = time.thread_time()
        total = np.zeros(FRAME_TICKS, dtype=np.float32)
        for source in sources:
            packet = source.waiting.popleft() if source.waiting else None
            if source.held is not None:
                voice = source.held
                if not source.held_follows:
                    voice[:FADE] *= FADE_IN
                if packet is None or source.broken:
                    voice[-FADE:] *= FADE_OUT
                total += voice
            if not self._filling:  # (on the first tick, whether it follows was set at the switch)
                source.held_follows = source.held is not None
            source.held_follows = source.held_follows and not source.broken
            source.broken = False
            source.held, source.held_packet = None, packet
            if packet is None:
                self.stats.late += 1
                continue
            source.recent.append(packet)
            damaged = source.bad
            source.held = source.decode(packet)
            self.stats.decoded += 1
            self.stats.damaged += source.bad - damaged
        if self._filling:
            self._filling = False
        else:
            for encoded in self._encode(self._limiter.apply(total)):
                self._pts += FRAME_TICKS
                encoded.pts = self._pts
                encoded.time_base = OPUS_TIME_BASE
                self.output.forward(encoded)
            self.stats.mixed += 1
        self.stats.mix_cpu_s += time.thread_time() - started

    def _encode(self, samples: Samples) -> list[Any]:
        frame = to_frame(samples, self._encoded * FRAME_TICKS)
        self._encoded += 1
        return list(self._encoder.encode(frame))

    def _back_to_relay(self, survivor: str | None) -> None:
        self.stats.switches += 1
        logger.info("voice mix %s: only %s speaks, relaying it encoded", self.name, survivor or "nobody")
        waiting: list[Encoded] = []
        if survivor is not None:  # its frame held for the next mix, then those still waiting
            source = self._inputs[survivor]
            waiting = [p for p in (source.held_packet, *source.waiting) if p is not None]
        self._stop_mixing()
        self.output.new_timeline()
        self._voice = survivor
        if survivor is not None:
            for packet in waiting:  # frames that came in since the last mixed one, in order
                self._relay(self._inputs[survivor], packet)
