"""When the operator's camera took a received video frame, from the sender's RTCP sender reports.

A sender report pairs an RTP timestamp with the sender's wall clock (NTP). With the latest one, any
frame's RTP timestamp gives the moment the sender captured it (browsers stamp video with its
capture time), so server capture's ``capture`` hop can start at the camera, not at the frame's
arrival, and include the browser's encoding, the network and the server's decoding. That holds as
far as the two wall clocks agree: exactly on one machine, within NTP's error across machines; an
age that comes out negative or implausibly large means they do not agree, and ``capture_ms``
returns None (the caller then counts from the frame's arrival).

aiortc keeps neither the report's RTP timestamp nor the origin it subtracts from frames' RTP
timestamps in public: this reads the report as it passes the receiver, and the origin from the
receiver's timestamp mapper.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

logger = logging.getLogger(__name__)

NTP_UNIX_OFFSET_S: Final = 2_208_988_800
VIDEO_CLOCK_HZ: Final = 90_000
MAX_PLAUSIBLE_AGE_MS: Final = 10_000.0


def ntp_to_unix_s(ntp: int) -> float:
    return (ntp >> 32) - NTP_UNIX_OFFSET_S + (ntp & 0xFFFFFFFF) / 2**32


class SenderClock:
    """Maps a received video frame's ``pts`` (aiortc's, in 1/90000 s) to the sender's capture time."""

    def __init__(self, receiver: Any) -> None:
        self._receiver = receiver
        self._report: tuple[float, int] | None = None  # (sender's unix seconds, RTP timestamp)
        handle: Callable[[Any], Awaitable[None]] = receiver._handle_rtcp_packet

        async def handle_rtcp(packet: Any) -> None:
            info = getattr(packet, "sender_info", None)
            if info is not None:  # a sender report
                self._report = (ntp_to_unix_s(int(info.ntp_timestamp)), int(info.rtp_timestamp))
            await handle(packet)

        receiver._handle_rtcp_packet = handle_rtcp

    def _origin(self) -> int | None:
        mapper = getattr(self._receiver, "_RTCRtpReceiver__timestamp_mapper", None)
        origin = getattr(mapper, "_origin", None)
        return origin if isinstance(origin, int) else None

    def capture_unix_ms(self, pts: int) -> float | None:
        """The sender's wall-clock time (unix ms) at which the frame with ``pts`` was captured."""
        origin = self._origin()
        if self._report is None or origin is None:
            return None
        sender_s, report_rtp = self._report
        # RTP timestamps are 32-bit and wrap: the signed distance from the report to the frame
        delta = (pts + origin - report_rtp + 2**31) % 2**32 - 2**31
        return (sender_s + delta / VIDEO_CLOCK_HZ) * 1000.0

    def capture_monotonic_ms(self, pts: int) -> float | None:
        """The same moment on this process's ``time.monotonic()`` clock, or None if not known or not
        plausible (see the module's docstring)."""
        captured = self.capture_unix_ms(pts)
        if captured is None:
            return None
        now_unix_ms = time.time() * 1000.0
        age = now_unix_ms - captured
        if not 0.0 <= age <= MAX_PLAUSIBLE_AGE_MS:
            return None
        return time.monotonic() * 1000.0 - age
