"""The operator's mouth from the operator's voice, in the live room.

The room's relay hands every Opus packet of the operator's microphone to :meth:`VoiceVisemes.push`
(on the event loop: it only keeps the packet). Only when the motion hub needs a mouth, because the
operator's face is not tracked, does :meth:`VoiceVisemes.visemes` decode the packets that came since
the last call (libopus, mono, 48 kHz) and analyse the newest motion frame's worth of samples
(``rigging.audio_visemes``). A tracked face costs nothing here; a voice-only operator costs one
decode per 20 ms packet and one analysis per motion packet (docs/live-room.md has the measure,
``benchmarks/visemes_cost.py``).

Packets wait at most :data:`QUEUE_PACKETS`; older ones are dropped undecoded, and the decoder
simply goes on from the next (a mouth does not need continuous audio).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any, Final

import av
import numpy as np

from avatar_care.live.audio_mix import opus_decoder, to_samples
from avatar_care.live.audio_relay import OPUS_CLOCK, Encoded
from rigging.audio_visemes import VISEMES, AudioVisemes

logger = logging.getLogger(__name__)

#: Samples analysed per motion packet: one motion frame (1/30 s) of the newest voice.
WINDOW: Final = OPUS_CLOCK // 30
#: A voice whose packets stopped this long ago is gone (browsers send every 20 ms while the
#: microphone is on, silence included).
VOICE_GONE_S: Final = 0.5
QUEUE_PACKETS: Final = 6


class VoiceVisemes:
    """One room's operator voice, read for the mouth only when asked (see the module)."""

    def __init__(self) -> None:
        self._waiting: deque[Encoded] = deque(maxlen=QUEUE_PACKETS)
        self._last_packet_at = -1e9
        self._decoder: Any = None
        self._samples = np.zeros(WINDOW, dtype=np.float32)
        self._analyser = AudioVisemes(OPUS_CLOCK)
        self.packets = 0
        self.decoded = 0
        self.damaged = 0

    def push(self, packet: Encoded) -> None:
        """A packet of the operator's voice (an encoded ``av.Packet``, or a decoded frame when the
        room decodes voice itself)."""
        self._waiting.append(packet)
        self._last_packet_at = time.perf_counter()
        self.packets += 1

    def present(self, now: float | None = None) -> bool:
        """Whether the operator's microphone is sending (``now``: ``time.perf_counter()``)."""
        now = time.perf_counter() if now is None else now
        return now - self._last_packet_at < VOICE_GONE_S

    def reset(self) -> None:
        """A new operator connection: a new stream (its own encoder state, its own noise floor)."""
        self._waiting.clear()
        self._last_packet_at = -1e9
        self._decoder = None
        self._samples[:] = 0.0
        self._analyser = AudioVisemes(OPUS_CLOCK)

    def visemes(self) -> dict[str, float]:
        """Viseme weights for the newest motion frame's worth of voice (all zero in silence)."""
        if not self._waiting and not self.present():
            return dict.fromkeys(VISEMES, 0.0)
        while self._waiting:
            fresh = self._decode(self._waiting.popleft())
            if fresh.size >= WINDOW:
                self._samples = fresh[-WINDOW:]
            else:  # keep the newest WINDOW samples
                self._samples = np.concatenate((self._samples[fresh.size :], fresh))
        return self._analyser.window(self._samples)

    def _decode(self, packet: Encoded) -> np.ndarray:
        if not isinstance(packet, av.Packet):
            return to_samples([packet])
        if self._decoder is None:
            self._decoder = opus_decoder()
        try:
            samples = to_samples(self._decoder.decode(av.Packet(bytes(packet))))
        except av.FFmpegError as exc:  # a damaged packet is a moment of closed mouth, no more
            self.damaged += 1
            if self.damaged == 1 or self.damaged % 500 == 0:
                logger.warning("operator voice: %d undecodable packets (%s)", self.damaged, exc)
            return np.zeros(0, dtype=np.float32)
        self.decoded += 1
        return samples
