"""The built-in demo operator: replays a recorded session into a room, so a newcomer sees a
signing avatar at once with no camera. It pauses while a real operator holds the room."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

from avatar_care.live.demo_voice import RecordedVoice, encode_opus
from avatar_care.live.room import LiveRoom

logger = logging.getLogger(__name__)
FRAME_S = 1.0 / 30.0


def load_recording(path: Path) -> list[dict[str, object]]:
    frames = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not frames:
        raise ValueError(f"{path}: no frames")
    return frames


def load_voice(directory: Path) -> list[bytes] | None:
    """The recording's voice (the first ``.wav`` in ``directory``) as Opus payloads, if there is one."""
    wavs = sorted(directory.glob("*.wav"))
    if not wavs:
        logger.warning("no demo voice: no .wav in %s; the demo operator will be silent", directory)
        return None
    return encode_opus(wavs[0])


async def replay(room: LiveRoom, frames: list[dict[str, object]], voice: list[bytes] | None = None) -> None:
    """Feed the frames in a loop at 30 per second, with a clock that keeps running across loops;
    the voice, if any, is what customers hear while no real operator speaks."""
    if voice:
        room.set_fallback_audio(RecordedVoice(voice))
    start = time.monotonic()
    n = 0
    while True:
        if room.operator is None:  # a real operator takes over by connecting
            frame = dict(frames[n % len(frames)])
            frame["t_ms"] = n * FRAME_S * 1000.0
            room.hub.on_frame(json.dumps(frame))
        n += 1
        delay = start + n * FRAME_S - time.monotonic()
        await asyncio.sleep(max(0.0, delay))
