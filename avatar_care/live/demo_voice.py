"""The demo operator's voice: a recording encoded to Opus once, replayed in a loop in real time.

Encoding once at start-up (not per customer) is what keeps the demo room as cheap as a real one:
the same encoded packets go to every customer through the room's audio relay.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from pathlib import Path
from typing import Any

import av

from avatar_care.live.audio_relay import FRAME_TICKS, OPUS_CLOCK, OPUS_TIME_BASE, Encoded

logger = logging.getLogger(__name__)
FRAME_S = FRAME_TICKS / OPUS_CLOCK
PAUSE_S = 1.5  # silence between two replays, as between two sentences


def encode_opus(path: Path) -> list[bytes]:
    """The recording as 20 ms Opus frames (48 kHz mono), with a pause after it."""
    encoder: Any = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = OPUS_CLOCK
    encoder.layout = "mono"
    encoder.format = "s16"
    encoder.bit_rate = 32000
    encoder.time_base = OPUS_TIME_BASE
    resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_CLOCK, frame_size=FRAME_TICKS)
    payloads: list[bytes] = []
    with av.open(str(path)) as container:
        frames = [f for frame in container.decode(audio=0) for f in resampler.resample(frame)]
    frames += resampler.resample(None)
    silence = av.AudioFrame(format="s16", layout="mono", samples=FRAME_TICKS)
    for plane in silence.planes:
        plane.update(bytes(plane.buffer_size))
    silence.sample_rate = OPUS_CLOCK
    frames += [silence] * int(PAUSE_S / FRAME_S)
    for i, frame in enumerate(frames):
        frame.pts = i * FRAME_TICKS
        frame.time_base = fractions.Fraction(1, OPUS_CLOCK)
        payloads += [bytes(p) for p in encoder.encode(frame)]
    payloads += [bytes(p) for p in encoder.encode(None)]
    if not payloads:
        raise ValueError(f"{path}: no audio")
    return payloads


class RecordedVoice:
    """A packet source for :class:`AudioFanout`: the payloads in a loop, one every 20 ms."""

    def __init__(self, payloads: list[bytes]) -> None:
        self.payloads = payloads
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> Encoded:
        now = time.monotonic()
        due = None if self._start is None else self._start + self._n * FRAME_S
        if due is None or now - due > 0.2:  # first call, or nobody listened for a while: restart the clock
            self._start, self._n, due = now - self._n * FRAME_S, self._n, now
        await asyncio.sleep(max(0.0, due - now))
        packet = av.Packet(self.payloads[self._n % len(self.payloads)])
        packet.pts = self._n * FRAME_TICKS
        packet.time_base = OPUS_TIME_BASE
        self._n += 1
        return packet
