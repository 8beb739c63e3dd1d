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
  from then on it stays a frame behind, which absorbs its jitter. Each input's frame is decoded a
  tick before it is mixed, so the mix knows whether the next one is there: where an input's voice
  breaks off (late, dropped) it fades out over 2.5 ms, and back in, instead of clicking.
* Decoding, mixing and encoding run in one mixing thread shared by the process's rooms (libopus
  and numpy let go of the interpreter lock); the event loop only hands packets over and sends the
  result. Measured (``benchmarks/capacity.py --mix-cost``): about 0.5-0.75 ms of that thread per
  20 ms frame for 2-4 voices, 2.5-3.8 % of a core per mixed stream, which would otherwise be the
  event loop's, the part of the server that saturates first.
* An event loop held up (a busy machine) makes several ticks due at once, while the inputs'
  frames of that time are still unread in its sockets. The late tick first waits, while they keep
  coming and up to :data:`SETTLE_MAX_S`, until every input has a frame for each due tick, and then
  makes them all (up to :data:`CATCH_UP`); only after that does an input still more than
  :data:`QUEUE_FRAMES` behind lose its oldest frames. Mixing at once would have made the due ticks without those frames and
  then dropped them as a burst; at the switch into the mix, that dropped the relayed voice's next
  frame and clicked (-25 dB above 3 kHz, with the loop held up 120 ms as the mix started).
* An input whose packets stop for :data:`DROP_OUT_S` leaves the mix (a browser sends a packet every
  20 ms while its microphone is on, silence included); with one left, its packets are forwarded
  encoded again.

Switching between the two must not click. The listener's decoder goes from one encoder's stream
to another's: a fresh encoder starts from silence and its first frame decodes as a burst, so the
mix encoder is first fed the last :data:`PRIME_FRAMES` frames the listener already heard (kept
encoded while relaying, decoded only at the switch) and what it makes of them is thrown away; and
the mix's first frame waits (a few ticks at most) for the relayed voice's next frame, so that no
gap falls between its last relayed frame and the mix.
Measured on a 440 Hz tone through libopus alone, the first mixed frames' energy above 3 kHz went
from -42 dB (relative to the tone) with a fresh encoder to -69 dB primed (the steady tone: -73), with
a level wobble of about -2.5/+1.4 dB for a few milliseconds; between real aiortc peers
(``tests/avatar_care/live/test_audio_mix.py``) the switch into the mix measures about -57 dB and
the switch back about -71 dB. The output's timestamps always go on
from where they were (``AudioFanout.forward`` re-times every packet), whichever path made them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
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
HELD_UP_S = 0.01  # a tick this late found the event loop held up: the inputs' frames of that time
# are still in its sockets, and the tick waits until they are read: while they keep coming (no
# pause of SETTLE_QUIET_S), for at most SETTLE_MAX_S
SETTLE_QUIET_S = 0.02
SETTLE_MAX_S = 0.15
SETTLE_POLL_S = 0.002
FADE = 120  # samples (2.5 ms) of fade where an input's voice stops or starts within the mix
# a raised cosine, not a line: a line's corners splatter above 3 kHz (measured on a 440 Hz tone
# broken off for a frame: -55 dB with a line, -72 dB with the cosine, as the steady tone)
FADE_IN = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, FADE, endpoint=False))).astype(np.float32)
FADE_OUT = FADE_IN[::-1].copy()
DROP_OUT_S = 0.5  # an input silent (no packets) this long is not mixed any more
QUEUE_FRAMES = 5  # frames an input may have waiting after a tick; beyond that its oldest go
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
        if channels == 1:
            chunks.append(array.reshape(-1))
        elif frame.format.is_planar:  # one row per channel
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
    # on the event loop
    last_arrival: float = -1e9
    recent: deque[Encoded] = field(default_factory=lambda: deque(maxlen=PRIME_FRAMES))
    waiting: deque[Encoded] = field(default_factory=deque)
    # while mixing, each input's frame is decoded a tick before it is mixed, so that the mix
    # knows whether the next one came and can fade the voice out before a gap instead of cutting it
    held_packet: Encoded | None = None
    held_follows: bool = False  # the frame before the held one was heard: no fade-in
    broken: bool = False  # frames were dropped after the held one
    # in the mixing thread only
    decoder: Any = None
    held: Samples | None = None
    bad: int = 0

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
    damaged: int = 0  # input frames that would not decode (mixed as silence)
    dropped: int = 0  # input frames that came too many at once
    late: int = 0  # ticks where an input in the mix had no frame yet (silent for that tick)
    behind: int = 0  # ticks skipped because the mixing thread was behind
    failed: int = 0  # frames lost to an error in the mixing thread
    switches: int = 0  # from relaying to mixing or back
    mix_cpu_s: float = 0.0  # the mixing thread's time decoding, mixing and encoding


@dataclass
class _Part:
    """One input's share of a tick's work, decided on the event loop."""

    source: _Input
    packet: Encoded | None  # the input's next frame, to decode and hold
    mixes: bool  # a frame is held from the last tick: mix it
    fade_in: bool
    fade_out: bool


@dataclass
class _Done:
    packets: list[Any]
    decoded: int
    damaged: int
    cpu_s: float
    mixed: bool


class _Encoding:
    """One mix's encoder and limiter, from a switch to mixing to the switch back (mixing thread)."""

    def __init__(self) -> None:
        self.encoder: Any = opus_encoder()
        self.limiter = Limiter()
        self.frames = 0

    def encode(self, samples: Samples) -> list[Any]:
        frame = to_frame(samples, self.frames * FRAME_TICKS)
        self.frames += 1
        return list(self.encoder.encode(frame))


def _prime(encoding: _Encoding, sources: list[_Input], voice: _Input | None, heard: list[Encoded]) -> _Done:
    started = time.thread_time()
    for source in sources:
        source.decoder, source.held = None, None  # every mix starts its decoders afresh
    if voice is not None:
        # the last frames the listener heard, so that the new encoder starts where they left off
        for packet in heard:
            encoding.encode(voice.decode(packet))
    return _Done([], len(heard) if voice is not None else 0, 0, time.thread_time() - started, False)


def _mix(encoding: _Encoding, parts: list[_Part], emit: bool) -> _Done:
    started = time.thread_time()
    total = np.zeros(FRAME_TICKS, dtype=np.float32)
    decoded = damaged = 0
    for part in parts:
        source = part.source
        if part.mixes and source.held is not None:
            voice = source.held
            if part.fade_in:
                voice[:FADE] *= FADE_IN
            if part.fade_out:
                voice[-FADE:] *= FADE_OUT
            total += voice
        source.held = None
        if part.packet is not None:
            bad = source.bad
            source.held = source.decode(part.packet)
            decoded += 1
            damaged += source.bad - bad
    packets = encoding.encode(encoding.limiter.apply(total)) if emit else []
    return _Done(packets, decoded, damaged, time.thread_time() - started, emit)


# One thread mixes for every room of the process: libopus and numpy let go of the interpreter
# lock, so it runs beside the event loop, and one thread keeps each mix's frames in order.
_MIXING = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice-mix")
CATCH_UP = 12  # frames one late tick may make (an event loop held up 240 ms misses none)
MAX_IN_FLIGHT = 16  # frames the mixing thread may be behind (320 ms) before ticks are skipped
# frames an input may have waiting between ticks: its frames of a hold-up wait for their ticks
MAX_WAITING = QUEUE_FRAMES + CATCH_UP
MAX_FILL_TICKS = 3  # at most this long (60 ms) does a new mix wait for the relayed voice's next frame


class VoiceMix:
    """Named inputs in, one encoded stream out to ``output``'s listeners.

    Everything here runs on the event loop except decoding, mixing and encoding, which go to the
    mixing thread (measured: about half a millisecond per 20 ms frame, against 40 us for the hop).
    """

    def __init__(self, name: str, output: AudioFanout) -> None:
        self.name = name
        self.output = output
        self.stats = MixStats()
        self._inputs: dict[str, _Input] = {}
        self._voice: str | None = None  # the input relayed as it is, while not mixing
        self._encoding: _Encoding | None = None  # while mixing
        self._pts = 0
        self._tick: asyncio.TimerHandle | None = None
        self._tick_at = 0.0  # on the event loop's clock
        # the first ticks of a mix only decode, until the voice relayed so far has a frame held
        # (a tick without it would put a gap, a click, between its last relayed frame and the mix)
        self._filling = False
        self._fill_ticks = 0
        self._lead: _Input | None = None
        # while a late tick waits for the inputs' frames: since when, how many were waiting at
        # the last frame that came, and when that was; and when the last such wait ended
        self._settle_started: float | None = None
        self._settle_seen = 0
        self._settle_progress_at = 0.0
        self._settled_at = -1.0
        self._in_flight: deque[asyncio.Future[_Done]] = deque()
        # after mixing, relayed packets wait here until the last mixed frames are out
        self._draining: list[tuple[_Input, Encoded]] | None = None
        self._closed = False

    @property
    def mixing(self) -> bool:
        return self._encoding is not None

    def active(self, grace: float = 0.0) -> list[str]:
        """The inputs that sent voice within the last :data:`DROP_OUT_S` (plus ``grace``)."""
        now = time.monotonic()
        return [name for name, i in self._inputs.items() if now - i.last_arrival <= DROP_OUT_S + grace]

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
            self._trim(source, MAX_WAITING)
            return
        if self._draining is not None:
            self._draining.append((source, packet))
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
        self._closed = True
        if self.mixing:
            self._stop_mixing()
        self._inputs.clear()
        self._voice = None
        self._draining = None

    async def settled(self) -> None:
        """Until the mixing thread has handed out every frame asked of it so far."""
        while self._in_flight:
            with contextlib.suppress(Exception):
                await self._in_flight[-1]
            await asyncio.sleep(0)  # a future done already returns at once: let its hand-out run

    def _relay(self, source: _Input, packet: Encoded) -> None:
        source.recent.append(packet)
        self.output.forward(copy_packet(packet))
        self.stats.passed += 1

    def _start_mixing(self, newcomer: str, packet: Encoded, now: float) -> None:
        self.stats.switches += 1
        logger.info("voice mix %s: %s speaks too, mixing %s", self.name, newcomer, ", ".join(self.active()))
        self._encoding = _Encoding()
        voice = self._inputs.get(self._voice) if self._voice is not None else None
        if voice is not None and voice.name == newcomer:
            voice = None
        next_due = now if voice is None else max(now, voice.last_arrival + FRAME_S)
        for source in self._inputs.values():
            source.waiting.clear()
            source.held_packet, source.broken = None, False
            # the relayed voice goes on in the mix without a fade; everyone else fades in
            source.held_follows = source is voice
        self._filling, self._fill_ticks, self._lead = True, 0, voice
        self._inputs[newcomer].waiting.append(packet)
        heard = list(voice.recent) if voice is not None else []
        self._submit(_prime, self._encoding, list(self._inputs.values()), voice, heard)
        # the clock's phase: just after the voice heard so far is due, so that it misses no tick
        loop = asyncio.get_running_loop()
        self._tick_at = loop.time() + (next_due - now) + FIRST_TICK_S
        self._tick = loop.call_at(self._tick_at, self.tick)

    def _stop_mixing(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        self._encoding = None
        for source in self._inputs.values():
            source.waiting.clear()
            source.held_packet = None

    def tick(self) -> None:
        """Make the mixed frames that are due (the mix's clock calls this every 20 ms)."""
        self._tick = None
        if not self.mixing:
            return
        loop = asyncio.get_running_loop()
        # An event loop held up makes several frames due at once: make them all (up to a point),
        # since the inputs' frames are waiting for them and would otherwise be dropped. Nor has it
        # read the packets that came meanwhile, so the time it was held up is not the inputs'
        # silence: it is added to the time they may be quiet before they leave the mix.
        held_up = max(0.0, loop.time() - self._tick_at)
        # (ticks that fell due during a hold-up already waited for: they follow without waiting)
        if held_up > HELD_UP_S and self._tick_at > self._settled_at and self._unread(held_up, loop.time()):
            self._tick = loop.call_later(SETTLE_POLL_S, self.tick)
            return
        if self._settle_started is not None:
            self._settle_started, self._settled_at = None, loop.time()
        for _ in range(CATCH_UP):
            active = self.active(grace=held_up)
            if len(active) <= 1:
                self._back_to_relay(active[0] if active else None)
                return
            if len(self._in_flight) >= MAX_IN_FLIGHT:
                self.stats.behind += 1
            else:
                self._mix_frame([self._inputs[name] for name in active])
            self._tick_at += FRAME_S
            if self._tick_at > loop.time():
                break
        if self._tick_at > loop.time():
            # caught up: an input still this far behind the mix's clock (its sender's network
            # delivered a burst) loses its oldest frames, which would otherwise be heard as late as
            # they are for as long as the mix goes on
            for source in self._inputs.values():
                self._trim(source, QUEUE_FRAMES)
        if self._tick_at < loop.time() - BEHIND_S:
            self._tick_at = loop.time() + FRAME_S
        self._tick = loop.call_at(self._tick_at, self.tick)

    def _trim(self, source: _Input, frames: int) -> None:
        while len(source.waiting) > frames:
            source.waiting.popleft()
            source.broken = True
            self.stats.dropped += 1

    def _unread(self, held_up: float, now: float) -> bool:
        """Whether a late tick should wait: an input in the mix has fewer frames waiting than
        ticks are due, frames still came within :data:`SETTLE_QUIET_S`, and the wait has not yet
        lasted :data:`SETTLE_MAX_S`.

        While the event loop was held up, the senders went on; what they sent is in the sockets,
        and takes the loop a few turns to read. Mixing at once would make every due tick without
        those frames (each input silent, its voice faded out and in) and then drop them as a burst
        too many to queue; and a new mix would give up waiting for the relayed voice, whose frame
        is there but unread, and cut it off with a click. A busy machine reads them slowly, a few
        at a time (a fixed 50 ms wait dropped 10 frames of a 120 ms hold-up in a full test run);
        an input whose sender really stopped brings none, and the wait ends soon after.
        """
        active = self.active(grace=held_up)
        waiting = sum(len(self._inputs[name].waiting) for name in active)
        if self._settle_started is None:
            self._settle_started, self._settle_seen, self._settle_progress_at = now, waiting, now
        elif waiting > self._settle_seen:
            self._settle_seen, self._settle_progress_at = waiting, now
        if now - self._settle_started >= SETTLE_MAX_S or now - self._settle_progress_at >= SETTLE_QUIET_S:
            return False
        due = min(int(held_up / FRAME_S) + 1, CATCH_UP)
        return any(len(self._inputs[name].waiting) < due for name in active)

    def _mix_frame(self, sources: list[_Input]) -> None:
        """Ask for the frames held since the last tick to be mixed, and each input's next held."""
        assert self._encoding is not None
        parts = []
        for source in sources:
            packet = source.waiting.popleft() if source.waiting else None
            held = source.held_packet is not None
            parts.append(
                _Part(source, packet, held, held and not source.held_follows, packet is None or source.broken)
            )
            if not self._filling:  # (while filling, whether it follows was set at the switch)
                source.held_follows = held
            source.held_follows = source.held_follows and not source.broken
            source.broken = False
            source.held_packet = packet
            if packet is None:
                self.stats.late += 1
            else:
                source.recent.append(packet)
        self._submit(_mix, self._encoding, parts, not self._filling)
        if self._filling:
            self._fill_ticks += 1
            lead = self._lead
            if lead is None or lead.held_packet is not None or self._fill_ticks >= MAX_FILL_TICKS:
                self._filling, self._lead = False, None

    def _submit(self, work: Callable[..., _Done], *args: Any) -> None:
        future = asyncio.get_running_loop().run_in_executor(_MIXING, work, *args)
        self._in_flight.append(future)
        future.add_done_callback(self._hand_out)

    def _hand_out(self, future: asyncio.Future[_Done]) -> None:
        """A tick's work is done (on the event loop, in the order it was asked for)."""
        with contextlib.suppress(ValueError):  # the oldest, as the one mixing thread keeps order
            self._in_flight.remove(future)
        if self._closed or future.cancelled():
            return
        error = future.exception()
        if error is not None:  # this frame is lost; the mix, and the room, go on
            self.stats.failed += 1
            if self.stats.failed == 1 or self.stats.failed % 500 == 0:
                logger.error("voice mix %s: %d frames failed to mix: %r", self.name, self.stats.failed, error)
        else:
            done = future.result()
            self.stats.decoded += done.decoded
            self.stats.damaged += done.damaged
            self.stats.mix_cpu_s += done.cpu_s
            self.stats.mixed += done.mixed
            for encoded in done.packets:
                self._pts += FRAME_TICKS
                encoded.pts = self._pts
                encoded.time_base = OPUS_TIME_BASE
                self.output.forward(encoded)
        if not self._in_flight and self._draining is not None:
            self._end_draining()

    def _back_to_relay(self, survivor: str | None) -> None:
        self.stats.switches += 1
        logger.info("voice mix %s: only %s speaks, relaying it encoded", self.name, survivor or "nobody")
        self._draining = []
        if survivor is not None:  # its frame held for the next mix, then those still waiting
            source = self._inputs[survivor]
            held = [p for p in (source.held_packet, *source.waiting) if p is not None]
            self._draining = [(source, p) for p in held]
        self._stop_mixing()
        self._voice = survivor
        if not self._in_flight:
            self._end_draining()

    def _end_draining(self) -> None:
        waiting, self._draining = self._draining or [], None
        self.output.new_timeline()
        for source, packet in waiting:  # frames that came in since the last mixed one, in order
            self._relay(source, packet)
