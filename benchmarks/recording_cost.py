"""What recording a consultation costs: CPU and bytes per recorded minute per room, and where the
recorder puts the voice against the motion when packets arrive with jitter.

Each simulated room is recorded by ``avatar_care.live.recorder.Recorder`` into a temporary folder,
fed as a live room feeds it: the operator's voice and the customer's (20 ms Opus packets at a
browser's 32 kbit/s, encoded once beforehand by libopus), 30 motion packets a second (the
``rigging.codec`` packets customers are sent), a chat message every 10 s. The recorder runs on a
fake clock, so the figures are its own work (muxing Ogg pages, writing files), not the wait.

    python benchmarks/recording_cost.py [--minutes 2] [--rooms 1 10 50] [--jitter-ms 5]

Placement: each voice packet's place in the Ogg file against the instant it was spoken (and the
motion sent with it), with arrivals late by an exponential jitter (mean ``--jitter-ms``) and one
packet in 200 late by 100 ms more; the error is what the playback page's avatar would be off by.
"""

from __future__ import annotations

import argparse
import fractions
import random
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from avatar_care.live.recorder import FRAME_TICKS, OPUS_CLOCK, Recorder
from rigging.codec import HopTiming, encode
from rigging.idle import resting_pose
from rigging.solver import DRIVEN_BONES


def opus_packets(n: int, hz: float) -> list[av.Packet]:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = OPUS_CLOCK
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.bit_rate = 32000
    encoder.open()
    rng = np.random.default_rng(1)
    out: list[av.Packet] = []
    i = 0
    while len(out) < n:
        t = (np.arange(FRAME_TICKS) + i * FRAME_TICKS) / OPUS_CLOCK
        # a voice-like signal: a tone with a syllable envelope and some noise
        x = np.sin(2 * np.pi * hz * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(
            t.size
        )
        pcm = (x * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.stack([pcm, pcm]).T.reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate, frame.pts, frame.time_base = (
            OPUS_CLOCK,
            i * FRAME_TICKS,
            fractions.Fraction(1, OPUS_CLOCK),
        )
        out += encoder.encode(frame)
        i += 1
    return out[:n]


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def record_rooms(rooms: int, seconds: float, folder: Path) -> tuple[float, list[dict[str, int]]]:
    """CPU seconds to record ``rooms`` rooms for ``seconds`` each, and each file's bytes (room 0)."""
    voice_n = int(seconds * 50)
    operator_voice, customer_voice = opus_packets(voice_n, 220.0), opus_packets(voice_n, 330.0)
    motion = [
        encode(resting_pose(i * 33.3, DRIVEN_BONES, None, 1.0), i, HopTiming(0.5, 2.0, 3.0))
        for i in range(90)
    ]
    clock = FakeClock()
    recorders = [Recorder(folder / f"room{r}", clock) for r in range(rooms)]
    events: list[tuple[float, str, int]] = []
    events += [(i * 0.02, "operator", i) for i in range(voice_n)]
    events += [(i * 0.02 + 0.007, "customer", i) for i in range(voice_n)]
    events += [(i / 30.0, "motion", i) for i in range(int(seconds * 30))]
    events += [(i * 10.0 + 1.0, "chat", i) for i in range(int(seconds // 10))]
    events.sort()
    cpu = time.process_time()
    for at, kind, i in events:
        clock.t = at
        for rec in recorders:
            if kind == "operator":
                rec.voice("operator", operator_voice[i])
            elif kind == "customer":
                rec.voice("customer", customer_voice[i])
            elif kind == "motion":
                rec.motion(motion[i % len(motion)])
            else:
                rec.chat("customer", "Vorrei provare la montatura rotonda, quella in acetato.")
    clock.t = seconds
    for rec in recorders:
        rec.close()
    cpu = time.process_time() - cpu
    sizes = {p.name: p.stat().st_size for p in (folder / "room0").iterdir()}
    return cpu, [sizes]


def placement(seconds: float, jitter_ms: float, folder: Path) -> list[float]:
    """Each operator packet's place in the file minus where the motion of the same instant is, in ms
    (a packet overtaken by a later one is dropped by the recorder, as by the relay before it)."""
    rng = random.Random(7)
    n = int(seconds * 50)
    packets = opus_packets(n, 220.0)
    arrivals = []
    for i in range(n):
        late = rng.expovariate(1.0 / jitter_ms) / 1000 if jitter_ms > 0 else 0.0
        if rng.random() < 1 / 200:
            late += 0.1
        arrivals.append((i * 0.02 + 0.03 + late, i))  # 30 ms of network on top
    arrivals.sort()
    clock = FakeClock()
    rec = Recorder(folder / "placement", clock)
    errors = []
    for at, i in arrivals:
        clock.t = at
        packets[i].pts = i * FRAME_TICKS  # the sender's RTP time
        rec.voice("operator", packets[i])
        placed = rec._voices["operator"].placed
        if placed is not None:  # against the motion sent at the same instant (30 ms of network, no jitter)
            errors.append(placed / OPUS_CLOCK * 1000 - (i * 20.0 + 30.0))
    rec.close()
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--rooms", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--jitter-ms", type=float, default=5.0)
    args = parser.parse_args()
    seconds = args.minutes * 60
    print(f"recorded {args.minutes:g} min per room; CPU is process time on this machine")
    print(
        "rooms | CPU ms per recorded minute per room | share of one core per room | bytes per minute per room"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for rooms in args.rooms:
            folder = Path(tmp) / f"r{rooms}"
            cpu, [sizes] = record_rooms(rooms, seconds, folder)
            per_minute = cpu * 1000 / rooms / args.minutes
            total = sum(sizes.values()) / args.minutes
            print(f"{rooms:5d} | {per_minute:8.1f} | {per_minute / 60000:7.3%} | {total / 1024:7.1f} KiB")
        print(
            "room 0's files, bytes per minute: "
            + ", ".join(f"{k} {v / args.minutes / 1024:.1f} KiB" for k, v in sorted(sizes.items()))
        )
        errors = placement(seconds, args.jitter_ms, Path(tmp))
        abs_errors = sorted(abs(e) for e in errors)
        dropped = int(seconds * 50) - len(errors)
        p95 = abs_errors[int(0.95 * (len(abs_errors) - 1))]
        print(
            f"voice placement against the motion (jitter mean {args.jitter_ms:g} ms, 1 in 200 late by 100 ms): "
            f"median {statistics.median(abs_errors):.1f} ms, p95 {p95:.1f} ms, max {abs_errors[-1]:.1f} ms "
            f"over {len(errors)} packets ({dropped} overtaken and dropped)"
        )


if __name__ == "__main__":
    main()
