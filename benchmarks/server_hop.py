"""The server hop: an operator's tracking frame in, motion packets out, with 1, 10 and 50 rooms.

    python benchmarks/server_hop.py [--seconds 4] [--rooms 1,10,50] [--json]

Every room has one operator camera at 30 frames a second and one customer. The frames (the
recorded demo session: real MediaPipe landmarks, as landmark packets, the way the consoles send
them on the data channel; ``--json`` sends the JSON form instead) reach each room's ``MotionHub`` on a real asyncio event loop, as in the server, and go
through the process's ``MotionScheduler`` (one batched solve for every frame of the same moment).
The frames come from another process, as from the network: at each frame's time it writes a
datagram (the room and the time it wrote it, on the machine's monotonic clock) to a socket the
event loop watches. A frame's hop runs from that write to its packet's hand-over to the customer,
so it includes any wait behind other rooms' work and behind a busy loop: what a customer sees.

Two arrival patterns:

- ``independent``: each operator's camera has its own phase (a random offset within a frame),
  which is how fifty people's webcams tick;
- ``together``: every room's frame arrives at the same instant, the worst case for one process.

Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import socket
import struct
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avatar_care.live.motion_hub import MotionHub  # noqa: E402
from avatar_care.live.motion_scheduler import MotionScheduler  # noqa: E402
from rigging import landmark_packet  # noqa: E402
from rigging.codec import FLAG_TIMING  # noqa: E402
from rigging.frame import parse_frame  # noqa: E402

FRAME_S = 1.0 / 30.0
WARM_UP = 10  # frames per room left out of the figures (presence easing in, caches)
ARRIVAL = struct.Struct("<Hd")  # room, when the camera process wrote the frame (monotonic seconds)


def cameras(sock: socket.socket, schedule: list[tuple[float, int]]) -> None:
    """The operators' cameras, in their own process: a datagram per frame, at the frame's time."""
    for at, room in schedule:
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sock.send(ARRIVAL.pack(room, time.monotonic()))
    sock.send(ARRIVAL.pack(0xFFFF, time.monotonic()))  # the end


async def run(
    rooms: int, messages: list[bytes] | list[str], pattern: str, seconds: float
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    scheduler = MotionScheduler(loop)
    frames_per_room = int(seconds / FRAME_S)
    due: list[deque[float]] = [deque() for _ in range(rooms)]
    hops: list[float] = []
    sizes: list[int] = []
    counts = [0] * rooms
    sent_frames = [0] * rooms
    hubs = [MotionHub(f"room-{i}", scheduler=scheduler) for i in range(rooms)]
    end = float("inf")

    def customer(i: int):  # type: ignore[no-untyped-def]
        def send(packet: bytes) -> None:
            if time.monotonic() <= end:  # the clock fills in for a while after the last frame
                sizes.append(len(packet))
            if packet[1] & FLAG_TIMING:  # a tracked frame's packet (the clock's fillers carry none)
                sent_at = time.monotonic()
                arrived = due[i].popleft()
                counts[i] += 1
                if counts[i] > WARM_UP:
                    hops.append((sent_at - arrived) * 1000.0)

        return send

    for i, hub in enumerate(hubs):
        hub.add_customer("customer", customer(i))

    rng = random.Random(7)
    start = time.monotonic() + 0.3
    end = start + seconds
    schedule: list[tuple[float, int]] = []
    for i in range(rooms):
        phase = rng.uniform(0.0, FRAME_S) if pattern == "independent" else 0.0
        schedule += [(start + phase + k * FRAME_S, i) for k in range(frames_per_room)]
    schedule.sort()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ours.setblocking(False)
    sender = multiprocessing.get_context("fork").Process(target=cameras, args=(theirs, schedule), daemon=True)
    done = loop.create_future()

    def readable() -> None:
        while True:
            try:
                data = ours.recv(64)
            except BlockingIOError:
                return
            room, written = ARRIVAL.unpack(data)
            if room == 0xFFFF:
                if not done.done():
                    done.set_result(None)
                continue
            due[room].append(written)
            hubs[room].on_frame(messages[sent_frames[room] % len(messages)])
            sent_frames[room] += 1

    loop.add_reader(ours.fileno(), readable)
    cpu0, wall0 = time.process_time(), time.monotonic()
    sender.start()
    await done
    await asyncio.sleep(0.3)
    cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    loop.remove_reader(ours.fileno())
    sender.join()
    ours.close()
    theirs.close()
    for hub in hubs:
        hub.close()
    a = np.array(hops)
    return {
        "p50": float(np.median(a)),
        "p99": float(np.percentile(a, 99)),
        "batch": scheduler.frames / max(1, scheduler.batches),
        "cpu": cpu * 100.0,
        "bytes": float(np.mean(sizes)),
        "per_s": len(sizes) / rooms / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rooms", default="1,10,50")
    parser.add_argument("--json", action="store_true", help="send JSON frames instead of landmark packets")
    args = parser.parse_args()
    path = ROOT / "assets" / "demo" / "book.jsonl"
    recorded = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    frames = []
    for k in range(int(args.seconds / FRAME_S) + 1):
        frame = dict(recorded[k % len(recorded)])
        frame["t_ms"] = k * FRAME_S * 1000.0
        frames.append(frame)
    messages: list[bytes] | list[str] = (
        [json.dumps(f) for f in frames]
        if args.json
        else [landmark_packet.encode(parse_frame(f), 20.0) for f in frames]
    )
    header = (
        "rooms",
        "arrivals",
        "hop p50 ms",
        "hop p99 ms",
        "frames per batch",
        "CPU %",
        "bytes",
        "KB/s/customer",
    )
    rows = [header]
    for rooms in (int(r) for r in args.rooms.split(",")):
        for pattern in ("independent", "together"):
            r = asyncio.run(run(rooms, messages, pattern, args.seconds))
            rows.append(
                (
                    str(rooms),
                    pattern,
                    f"{r['p50']:.2f}",
                    f"{r['p99']:.2f}",
                    f"{r['batch']:.1f}",
                    f"{r['cpu']:.0f}",
                    f"{r['bytes']:.0f}",
                    f"{r['bytes'] * r['per_s'] / 1000:.1f}",
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    form = "JSON frames" if args.json else "landmark packets"
    print(f"\nframes sent as {form}; targets: hop p99 <= 2 ms at 50 rooms; motion <= 10 KB/s per customer")


if __name__ == "__main__":
    main()
