"""Voice through the room without decoding or re-encoding it.

A plain aiortc relay decodes every incoming Opus frame and encodes it again for each listener; on
this machine that saturates near 40 listeners. Here the server never touches the audio samples:

* :func:`install_audio_passthrough` makes aiortc's receivers hand out the encoded Opus payloads (as
  ``av.Packet``) instead of decoded frames. aiortc's ``RTCRtpSender`` sends an ``av.Packet`` as it
  is (``encoder.pack``), so one received packet becomes one RTP packet per listener, at the cost of
  a copy. Browsers and aiortc both put Opus first in their offers, so Opus is what is negotiated.
  aiortc offers no per-receiver hook for this, so the decoder factory its receivers use is
  wrapped once per process; video still gets the real decoder (server capture needs pixels).
  The encoded payload also skips aiortc's decoder thread: an audio receiver hands each frame to
  a worker thread, which hands it back to the event loop, a thread switch and a loop wake-up per
  20 ms packet for nothing to decode. Measured with the capacity benchmark, that round trip was the
  largest cost of a room after DTLS; each audio receiver's hand-over goes straight to its track.
  Nor does the server hold the voice in a jitter buffer of its own (:class:`ForwardAtOnce`): aiortc's
  audio receivers keep every packet until four more have come (80 ms), which a decoder playing the
  voice here would want, but a relay only delays the voice by it, behind the motion that leaves at
  once, where no customer can see it (docs/live-room.md, "Voice and motion in step"). The
  listener's own jitter buffer evens out the arrivals.
* :class:`AudioFanout` forwards one source (the operator's microphone, or the demo recording) to
  any number of :class:`FanoutTrack` listeners, each with a short queue that drops the oldest
  packet when a listener falls behind, so a slow customer never delays the others. When the source
  changes (an operator reconnects, the demo gives way), the timestamps are rewritten to continue
  smoothly, so the listener's jitter buffer does not see time jump backwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

import av
from aiortc import MediaStreamTrack, rtcrtpreceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError

logger = logging.getLogger(__name__)
# an encoded Opus frame, timed in 1/48000 s (a decoded frame when the plain relay is measured)
Encoded: TypeAlias = "av.Packet[Any] | av.frame.Frame"

OPUS_CLOCK = 48000
OPUS_TIME_BASE = fractions.Fraction(1, OPUS_CLOCK)
FRAME_TICKS = 960  # 20 ms at 48 kHz, the frame size browsers send
RTP_WRAP = 1 << 32
# a forward jump of the source's time up to this is a gap at the sender (kept); longer, a new clock
MAX_GAP_TICKS = 60 * OPUS_CLOCK
LISTENER_QUEUE = 10  # 200 ms of voice: beyond that a listener is behind and old packets go
SEQ_MOD = 1 << 16
# a packet this far behind the newest one is not late but a new start (aiortc's own limit)
MAX_MISORDER = 100


class PassthroughOpusDecoder:
    """Stands in for aiortc's Opus decoder: hands the encoded payload on as an ``av.Packet``."""

    def decode(self, encoded_frame: Any) -> list[Encoded]:
        packet = av.Packet(bytes(encoded_frame.data))
        packet.pts = int(encoded_frame.timestamp)
        packet.time_base = OPUS_TIME_BASE
        return [packet]


class ForwardAtOnce:
    """Stands in for an audio receiver's jitter buffer: each packet's payload goes on as it arrives.

    One Opus packet is one frame, so nothing needs reassembling. A packet that is not newer than the
    newest one forwarded (a repeat, or one overtaken on the way) is dropped: the timeline the relay
    continues runs forwards only, and the listener conceals the gap as it would a loss. One far
    behind the newest is a sender that started again, and is taken as the new newest.
    """

    capacity = 16  # read by nothing here; kept for what aiortc's own buffer offers

    def __init__(self) -> None:
        self._newest: int | None = None  # the newest sequence number forwarded
        self.dropped = 0

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        seq = int(packet.sequence_number)
        if self._newest is not None:
            ahead = (seq - self._newest) % SEQ_MOD
            behind = SEQ_MOD - ahead
            if ahead == 0 or (ahead >= SEQ_MOD // 2 and behind < MAX_MISORDER):
                self.dropped += 1
                return False, None
        self._newest = seq
        data: bytes = getattr(packet, "_data", b"")  # the depayloaded frame aiortc put there
        return False, JitterFrame(data=data, timestamp=int(packet.timestamp))


class _StraightToTrack:
    """Stands in for an audio receiver's queue to its decoder thread: Opus payloads go to the
    receiver's track at once, on the event loop; anything else (the stop signal, another codec)
    still goes through to the thread, which reads from here."""

    def __init__(self, thread_queue: Any, receiver: Any) -> None:
        self._thread_queue = thread_queue
        self._receiver = receiver
        self._opus = PassthroughOpusDecoder()
        self.handed_over = 0  # packets that skipped the decoder thread, for the tests

    def put(self, item: Any) -> None:
        track = self._receiver._track
        if item is not None and track is not None and str(item[0].mimeType).lower() == "audio/opus":
            for packet in self._opus.decode(item[1]):
                track._queue.put_nowait(packet)
            self.handed_over += 1
        else:
            self._thread_queue.put(item)

    def get(self) -> Any:  # the decoder thread's side
        return self._thread_queue.get()


_installed = False


def install_audio_passthrough() -> None:
    """From now on, this process's aiortc receivers give Opus audio encoded (idempotent)."""
    global _installed
    if _installed:
        return
    original: Callable[[Any], Any] = rtcrtpreceiver.get_decoder  # type: ignore[attr-defined]

    def get_decoder(codec: Any) -> Any:
        if str(codec.mimeType).lower() == "audio/opus":
            return PassthroughOpusDecoder()
        return original(codec)

    rtcrtpreceiver.get_decoder = get_decoder  # type: ignore[attr-defined]
    original_init = rtcrtpreceiver.RTCRtpReceiver.__init__

    def init(self: Any, kind: str, transport: Any) -> None:
        original_init(self, kind, transport)
        if kind == "audio":  # aiortc 1.16's private names; the pinned version is tested
            queue = self._RTCRtpReceiver__decoder_queue
            self._RTCRtpReceiver__decoder_queue = _StraightToTrack(queue, self)
            self._RTCRtpReceiver__jitter_buffer = ForwardAtOnce()

    rtcrtpreceiver.RTCRtpReceiver.__init__ = init  # type: ignore[method-assign]
    _installed = True
    logger.info("audio is relayed encoded (no decode, no re-encode)")


class PacketSource(Protocol):
    async def recv(self) -> Any: ...


class FanoutTrack(MediaStreamTrack):
    """One listener's audio track: encoded packets from its :class:`AudioFanout`."""

    kind = "audio"

    def __init__(self, fanout: AudioFanout) -> None:
        super().__init__()
        self._fanout = fanout
        self._queue: asyncio.Queue[Encoded] = asyncio.Queue(maxsize=LISTENER_QUEUE)
        self.dropped = 0

    def push(self, packet: Encoded) -> None:
        if self._queue.full():
            self._queue.get_nowait()  # behind: the newest voice matters, not the backlog
            self.dropped += 1
        self._queue.put_nowait(packet)

    async def recv(self) -> Encoded:
        if self.readyState != "live":
            raise MediaStreamError
        return await self._queue.get()

    def stop(self) -> None:
        super().stop()
        self._fanout.unsubscribe(self)


class AudioFanout:
    """One audio source, many listeners; the source can change at any time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.listeners: list[FanoutTrack] = []
        self.source: PacketSource | None = None
        self.packets = 0
        self._task: asyncio.Task[None] | None = None
        self._next_pts = 0
        self._last_in: int | None = None
        #: Called with every packet once re-timed (the room's listeners mix the operator's voice in).
        self.taps: list[Callable[[Encoded], None]] = []

    def subscribe(self) -> FanoutTrack:
        track = FanoutTrack(self)
        self.listeners.append(track)
        return track

    def unsubscribe(self, track: FanoutTrack) -> None:
        with contextlib.suppress(ValueError):
            self.listeners.remove(track)

    def set_source(self, source: PacketSource | None) -> None:
        """Forward ``source`` from now on (``None``: silence); the previous one is let go."""
        if source is self.source:
            return
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.source = source
        self.new_timeline()
        if source is not None:
            self._task = asyncio.create_task(self._pump(source), name=f"audio-{self.name}")

    def new_timeline(self) -> None:
        """The next packet comes from another clock: continue ours from where it is."""
        self._last_in = None

    async def close(self) -> None:
        task, self._task = self._task, None
        self.source = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _pump(self, source: PacketSource) -> None:
        try:
            while True:
                packet = await source.recv()
                self.forward(packet)
        except MediaStreamError:
            logger.info("audio %s: the source ended", self.name)
            if self.source is source:
                self.source = None
                self._task = None

    def forward(self, packet: Encoded) -> None:
        """Re-time ``packet`` onto this fanout's continuous timeline and hand it to every listener."""
        pts = int(packet.pts or 0)
        # RTP time is 32 bits: the step is taken modulo its wrap (once a day at 48 kHz)
        step = FRAME_TICKS if self._last_in is None else (pts - self._last_in) % RTP_WRAP
        if step == 0 or step > MAX_GAP_TICKS:
            # a repeat, one from behind, or a clock that started again: carry on as if one frame
            # passed. A shorter gap is time that passed at the sender (a stall, a loss) and is kept:
            # closed up, the voice would play that much earlier against the motion for good
            # (customers' pages put the two streams on one clock; docs/live-room.md)
            step = FRAME_TICKS
        self._last_in = pts
        self._next_pts += step
        packet.pts = self._next_pts
        packet.time_base = OPUS_TIME_BASE
        self.packets += 1
        for listener in list(self.listeners):
            listener.push(packet)
        for tap in list(self.taps):
            try:
                tap(packet)
            except Exception:  # a fault in a listeners' mix must not silence the customers
                logger.exception("audio %s: a tap failed; it is removed", self.name)
                self.taps.remove(tap)
