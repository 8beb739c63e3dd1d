"""One consultation's recording, as it happens: both voices as received, the avatar's motion
packets with their times, and the chat. No video of anybody is ever stored.

Files in the recording's folder (``rooms.recordings`` names it):

* ``operator.ogg``, ``customer.ogg``: the voices' Opus packets, muxed into Ogg as they came (PyAV,
  no decoding, no re-encoding). Each file's time is the recording's: its first packet is placed
  where it arrived, and a gap in the voice (a microphone that stopped, a connection that dropped)
  is filled with silent Opus frames, so that a player's clock on either file is the recording's
  clock. After the first, packets are placed by their own RTP times, not by when they arrived: a
  sender, a network or this server held up for a moment delays the packets, not where they play
  (one older than a packet already written is dropped, as the relay does); a new source (another
  connection, a clock that jumped, a voice :data:`BEHIND_S` behind) is placed where it arrives.
* ``motion.bin``: the motion packets customers were sent (``rigging.codec``), each as a record
  ``<uint32 ms since the start, uint16 length, packet>``, little-endian, placed the same way by
  their own pose time (``t_ms``, the operator's clock, as the voice's RTP time is): a tracked
  pose's time against its arrival says where that clock is (the least delayed one; anew when the
  clock goes back, a new page); poses carried forward or at rest follow it, and are placed where
  they arrive while no tracked pose came. Records wait :data:`HOLD_S` before they are written: a
  pose carried forward that a tracked pose (held up on its way) then overtakes was a guess at what
  the tracked one shows, and is dropped for it. When the files are done the motion is
  moved against the operator's voice by the voice's own least delay (:meth:`Recorder.close`).
* ``chat.jsonl``: one ``{"t_ms", "sender", "text"}`` a line.

:meth:`Recorder.pause` stops all of it (a customer reading out card details): nothing is written
until :meth:`Recorder.resume`, and the paused time is left out of the recording's clock.
"""

from __future__ import annotations

import fractions
import json
import logging
import math
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from rigging.codec import CodecError, packet_header

logger = logging.getLogger(__name__)

OPUS_CLOCK = 48000
TIME_BASE = fractions.Fraction(1, OPUS_CLOCK)
FRAME_TICKS = 960  # 20 ms
#: A pose carried forward or at rest this far from where it arrives is on another clock than the
#: tracked poses (none came yet, or long ago): placed where it arrives.
GAP_S = 0.5
#: Motion records wait this long before they are written: a tracked pose held up on its way (a
#: sender, a network or this server busy) may still overtake the poses carried forward meanwhile.
HOLD_S = 2.0
#: A voice's own time that steps further than this (either way) is a new clock: placed anew.
MAX_STEP_S = 10.0
#: A voice this far behind the recording's clock is placed anew where it arrives (a source
#: switched without a word); a hold-up on the way is shorter, and its packets keep their times.
BEHIND_S = 2.0
#: So many packets older than one written, in a row, are a sender that started its clock again.
RESTART_AFTER = 5
#: A voice this far ahead of the recording's clock drops packets until it is back (a sender whose
#: clock runs fast); nothing of the kind happens otherwise.
AHEAD_S = 1.0
MOTION_RECORD = struct.Struct("<IH")
#: Opus's frame sizes in 48 kHz ticks, by the TOC byte's configuration (RFC 6716, 3.1)
_CONFIG_TICKS = (
    [480, 960, 1920, 2880] * 3  # SILK NB, MB, WB
    + [480, 960] * 2  # hybrid SWB, FB
    + [120, 240, 480, 960] * 4  # CELT NB, WB, SWB, FB
)
_silence: bytes | None = None


def opus_ticks(payload: bytes) -> int:
    """How long an Opus packet plays, in 48 kHz ticks (its TOC byte and frame count)."""
    if not payload:
        return FRAME_TICKS
    toc = payload[0]
    size = _CONFIG_TICKS[toc >> 3]
    code = toc & 0x3
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = payload[1] & 0x3F if len(payload) > 1 else 1
    return max(1, size * frames)


def _nearest_frame(ticks: int) -> int:
    """Silence comes in whole frames: a voice is placed within half a frame (10 ms) of its time."""
    return round(ticks / FRAME_TICKS) * FRAME_TICKS


def silent_frame() -> bytes:
    """20 ms of silence, encoded once by libopus (stereo, like the browsers' stream)."""
    global _silence
    if _silence is None:
        encoder = av.CodecContext.create("libopus", "w")
        encoder.sample_rate = OPUS_CLOCK
        encoder.layout = "stereo"
        encoder.format = "s16"
        encoder.open()
        packets: list[Any] = []
        for i in range(4):  # the encoder's look-ahead: the first frames out may be empty
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 2 * FRAME_TICKS), np.int16), format="s16", layout="stereo"
            )
            frame.sample_rate = OPUS_CLOCK
            frame.pts = i * FRAME_TICKS
            frame.time_base = TIME_BASE
            packets += encoder.encode(frame)
        _silence = bytes(packets[-1])
    return _silence


class VoiceFile:
    """One voice into an Ogg Opus file, on the recording's clock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._container: Any = av.open(str(path), "w", format="ogg")
        self._stream: Any = self._container.add_stream("opus", rate=OPUS_CLOCK)
        self._stream.codec_context.layout = "stereo"
        # OpusHead (RFC 7845): version 1, 2 channels, no pre-skip (the packets come mid-stream:
        # nothing to skip, and the file's time stays the recording's), 48 kHz, no gain, family 0
        self._stream.codec_context.extradata = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 0, OPUS_CLOCK, 0, 0)
        self._next: int | None = None  # where the next packet goes, in ticks of the recording
        self._last_pts: int | None = None  # the previous packet's own time (RTP), to step by it
        self._behind = 0  # packets in a row older than one written
        self.packets = 0
        self.silent = 0
        self.dropped = 0
        #: where the newest packet went, in ticks of the recording (None: dropped), for measures
        self.placed: int | None = None
        #: the least (arrival minus place) of any packet, in ms: how much later than need be the
        #: first packet placed the voice (it came late: sent before the connection was up, say)
        self.earliest_ms: float | None = None

    def write(self, payload: bytes, pts: int | None, at_ticks: int) -> None:
        """A packet that arrived at ``at_ticks`` of the recording's clock, ``pts`` its own time."""
        if self._next is None:
            self._next = 0
        step = None if pts is None or self._last_pts is None else pts - self._last_pts
        if step is not None and step <= 0 and step > -MAX_STEP_S * OPUS_CLOCK:
            # older than one written: its place is gone (as the relay drops it), unless so many
            # come in a row that the sender's clock started again
            self._behind += 1
            if self._behind < RESTART_AFTER:
                self.dropped += 1
                self.placed = None
                return
            step = None
        self._behind = 0
        self._last_pts = pts
        if (
            step is None
            or not 0 < step <= MAX_STEP_S * OPUS_CLOCK
            or at_ticks - self._next > BEHIND_S * OPUS_CLOCK
        ):
            # the first packet, a new sender or clock: placed where it arrived (never backwards)
            self._silence_until(_nearest_frame(at_ticks))
        elif step > FRAME_TICKS:  # the sender left a gap (it sent nothing, or packets were lost)
            self._silence_until(self._next + step - FRAME_TICKS)
        if self._next - at_ticks > AHEAD_S * OPUS_CLOCK:  # far ahead of the clock: back towards it
            self.dropped += 1
            self.placed = None
            return
        self.placed = self._next
        lead = (at_ticks - self._next) * 1000.0 / OPUS_CLOCK
        self.earliest_ms = lead if self.earliest_ms is None else min(self.earliest_ms, lead)
        self._mux(payload)
        self.packets += 1

    def new_timeline(self) -> None:
        """The next packet is placed where it arrives, not stepped to from the previous one (after
        a pause, or when the voice comes from another source)."""
        self._last_pts = None

    def _silence_until(self, ticks: int) -> None:
        assert self._next is not None
        silence = silent_frame()
        while self._next + FRAME_TICKS <= ticks:
            self._mux(silence)
            self.silent += 1

    def _mux(self, payload: bytes) -> None:
        assert self._next is not None
        packet = av.Packet(payload)
        packet.pts = packet.dts = self._next
        packet.duration = opus_ticks(payload)
        packet.time_base = TIME_BASE
        packet.stream = self._stream
        self._container.mux(packet)
        self._next += packet.duration

    def close(self, end_ticks: int) -> None:
        """Finish the file at the recording's end: a voice never heard is silence all along (a
        file every player opens, as long as the other), one that stopped is silent to the end."""
        if self._next is None:
            self._next = 0
        if end_ticks - self._next > GAP_S * OPUS_CLOCK or self.packets == 0:
            self._silence_until(_nearest_frame(end_ticks))
        self._container.close()


@dataclass(frozen=True)
class Summary:
    duration_s: float
    size_bytes: int
    motion_packets: int
    voice_packets: dict[str, int]


class Recorder:
    """Writes one recording's files into ``folder`` (made here), on a clock that stops while paused.

    Called on the event loop: from the room's audio taps, the motion hub (as one of its
    receivers), and the chat's listener. ``clock`` is for tests (seconds, monotonic)."""

    VOICES = ("operator", "customer")

    def __init__(self, folder: Path, clock: Callable[[], float] = time.monotonic) -> None:
        folder.mkdir(parents=True, exist_ok=False)
        self.folder = folder
        self._clock = clock
        self._voices = {name: VoiceFile(folder / f"{name}.ogg") for name in self.VOICES}
        self._motion = (folder / "motion.bin").open("wb")
        self._chat = (folder / "chat.jsonl").open("w", encoding="utf-8")
        self._started = clock()
        self._paused_at: float | None = None
        self._paused_s = 0.0
        self.motion_packets = 0  # written to the file
        #: motion packets taken while recording (some wait to be written, some are then dropped)
        self.motion_taken = 0
        self._motion_offset: float | None = None  # recording ms minus the packets' t_ms
        self._motion_t: float | None = None  # the newest tracked pose's t_ms
        self._motion_ms = 0.0  # the newest record in the file
        #: records not yet in the file, in order: (ms, tracked, packet); held :data:`GAP_S`
        self._pending: list[tuple[float, bool, bytes]] = []
        self._motion_earliest: float | None = None  # as VoiceFile.earliest_ms
        #: how far the motion was moved against the voice when the files were done (ms)
        self.motion_shift_ms = 0.0
        self.closed = False
        self._closed_s: float | None = None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def now_s(self) -> float:
        """The recording's clock: time since the start, pauses left out."""
        if self._closed_s is not None:
            return self._closed_s
        end = self._paused_at if self._paused_at is not None else self._clock()
        return end - self._started - self._paused_s

    def pause(self) -> None:
        if self._paused_at is None and not self.closed:
            self._paused_at = self._clock()
            self._flush_motion()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_s += self._clock() - self._paused_at
            self._paused_at = None
            # the senders' clocks went on through the pause, the recording's did not
            self._motion_offset = self._motion_t = None
            for voice in self._voices.values():
                voice.new_timeline()

    def new_voice_timeline(self, name: str) -> None:
        """The voice ``name`` comes from another source from now on (another connection)."""
        self._voices[name].new_timeline()

    def voice(self, name: str, packet: Any) -> None:
        """A voice's encoded packet (``av.Packet``; anything else, a decoded frame, is not stored)."""
        if self.closed or self.paused or not isinstance(packet, av.Packet):
            return
        pts = int(packet.pts) if packet.pts is not None else None
        self._voices[name].write(bytes(packet), pts, int(self.now_s() * OPUS_CLOCK))

    def motion(self, packet: bytes) -> None:
        if self.closed or self.paused:
            return
        self.motion_taken += 1
        now_ms = self.now_s() * 1000.0
        header = _pose_time(packet)
        gap_ms = GAP_S * 1000.0
        if header is None:
            ms = now_ms
        elif header[1]:  # a tracked pose: its time is the operator's clock
            t_ms = header[0]
            seen = now_ms - t_ms
            offset = self._motion_offset
            if offset is None or self._motion_t is None or t_ms < self._motion_t:
                offset = seen  # the first, or the operator's clock started again (a new page)
            self._motion_offset = min(offset, seen)  # the least delayed pose says where the clock is
            self._motion_t = t_ms
            ms = t_ms + self._motion_offset
        else:  # carried forward or at rest: on the tracked poses' clock, unless none came yet
            ms = header[0] + self._motion_offset if self._motion_offset is not None else now_ms
            if abs(ms - now_ms) > gap_ms:
                ms = now_ms
        tracked = header is not None and header[1]
        if tracked:
            # poses carried forward that a tracked pose now overtakes were guesses at what it
            # shows: the tracked pose is kept, they go
            self._pending = [p for p in self._pending if p[1] or p[0] < ms]
            lead = now_ms - ms
            self._motion_earliest = (
                lead if self._motion_earliest is None else min(self._motion_earliest, lead)
            )
        last = self._pending[-1][0] if self._pending else self._motion_ms
        self._pending.append((max(ms, last), tracked, packet))  # the file runs forwards
        # what no pose can overtake any more goes to the file
        while self._pending and self._pending[0][0] < now_ms - HOLD_S * 1000.0:
            self._write_motion(*self._pending.pop(0))

    def _write_motion(self, ms: float, _tracked: bool, packet: bytes) -> None:
        self._motion_ms = ms
        self.motion_packets += 1
        self._motion.write(MOTION_RECORD.pack(round(ms), len(packet)))
        self._motion.write(packet)

    def _flush_motion(self) -> None:
        for pending in self._pending:
            self._write_motion(*pending)
        self._pending.clear()
        self._motion.flush()

    def chat(self, sender: str, text: str) -> None:
        if self.closed or self.paused:
            return
        line = {"t_ms": int(self.now_s() * 1000.0), "sender": sender, "text": text}
        self._chat.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._chat.flush()

    def close(self) -> Summary:
        """Finish the files (idempotent)."""
        if not self.closed:
            self._closed_s = self.now_s()
            self.closed = True
            self._flush_motion()
            self._motion.close()
            self._chat.close()
            shift = self._align_motion()
            # the voices last as long as the recording, and as the motion moved with them
            end = self._closed_s + max(0.0, shift) / 1000.0
            for voice in self._voices.values():
                voice.close(int(end * OPUS_CLOCK))
        size = sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())
        return Summary(
            duration_s=round(self.now_s(), 3),
            size_bytes=size,
            motion_packets=self.motion_packets,
            voice_packets={name: v.packets for name, v in self._voices.items()},
        )

    def _align_motion(self) -> float:
        """Place the motion against the operator's voice by their least delays, not their first ones.

        Each stream is placed from where its first packet arrived; a first packet that came late (a
        voice sent before the connection was up) places the whole stream late by as much, which
        the stream's least delay (its earliest packet against its place) shows. The voice cannot
        move in its file; the motion is moved by the difference, once, when the files are done.
        Returns the shift in ms."""
        voice = self._voices["operator"].earliest_ms
        if voice is None or self._motion_earliest is None:
            return 0.0
        shift = self._motion_earliest - voice
        if abs(shift) < 1.0:
            return 0.0
        path = self.folder / "motion.bin"
        records = read_motion(path)
        moved = path.with_suffix(".moving")
        with moved.open("wb") as out:
            last = 0
            for ms, packet in records:
                last = max(last, round(ms + shift))
                out.write(MOTION_RECORD.pack(last, len(packet)))
                out.write(packet)
        moved.replace(path)
        self.motion_shift_ms = shift
        return shift


def _pose_time(packet: bytes) -> tuple[float, bool] | None:
    """The packet's pose time from its header, and whether the pose was tracked (it carries the
    hop times: the filled and resting ones do not), or None (not a packet this server reads)."""
    try:
        _seq, t_ms, tracked = packet_header(packet)
    except CodecError:
        return None
    return (t_ms, tracked) if math.isfinite(t_ms) else None


def read_motion(path: Path) -> list[tuple[int, bytes]]:
    """A recording's motion file as (ms, packet) records (for tests and tools)."""
    data = path.read_bytes()
    records = []
    offset = 0
    while offset + MOTION_RECORD.size <= len(data):
        ms, length = MOTION_RECORD.unpack_from(data, offset)
        offset += MOTION_RECORD.size
        records.append((ms, data[offset : offset + length]))
        offset += length
    return records
