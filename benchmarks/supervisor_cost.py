"""A supervisor's cost to the server: ``python benchmarks/supervisor_cost.py [--seconds 10] [--rounds 3]``.

One live room (``avatar_care.live.room.LiveRoom``, encoded relay as served) with an operator and a
customer, each an aiortc peer speaking a tone (440 Hz, 1 kHz), and then also a supervisor in each
mode (``avatar_care.live.roles``): listening (hears the operator and the customer: the supervisors'
mix decodes and mixes both), whispering (also speaks a 2.5 kHz tone: the operator's mix now mixes
the customer and the whisper) or barging in (the customers' mix as well mixes the operator and the
barger). The peers run in a process of their own, so that the CPU measured is the server's only:
the server process's CPU time (``time.process_time``: the event loop, aiortc's threads and the
mixing thread) over ``--seconds`` once every peer is connected and the mixes have settled, and
of it the mixing thread's (``MixStats.mix_cpu_s``). The configurations take turns, ``--rounds``
times, so that the machine's other load falls on each alike; the table gives each one's median and
worst round, in percent of one core, and the median's difference from the room without a supervisor.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avatar_care.live.ice import use_loopback_only
from avatar_care.live.room import LiveRoom

CONFIGS: dict[str, str | None] = {
    "none": None,
    "listener": "listener",
    "whisperer": "whisperer",
    "barger": "barger",
}
SETTLE_S = 2.0


def peers_process(conn: Connection, configs: list[str]) -> None:
    """The browsers: for each configuration, connect the peers, wait for the measure, close."""
    from tests.avatar_care.live.test_audio_relay import Person

    use_loopback_only()

    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def answer(role: str, participant: str, sdp: str) -> str:
            conn.send(("offer", role, participant, sdp))
            reply: str = await loop.run_in_executor(None, conn.recv)
            return reply

        for config in configs:
            role = CONFIGS[config]
            people = [
                (Person("landmarks", hz=440), "operator", "operator"),
                (Person("motion", hz=1000), "customer", "c"),
            ]
            if role is not None:
                hz = None if role == "listener" else 2500
                people.append((Person("motion", hz=hz), role, "boss"))
            for person, r, participant in people:
                await person.connect(lambda sdp, r=r, p=participant: answer(r, p, sdp))
            conn.send(("connected",))
            await loop.run_in_executor(None, conn.recv)  # the measure is over
            for person, _, _ in people:
                await person.close()
            conn.send(("closed",))

    asyncio.run(main())


async def measure(conn: Connection, seconds: float) -> tuple[float, float]:
    """Answer the peers' offers into a new room, then its CPU over ``seconds``: (process, mixing)."""
    loop = asyncio.get_running_loop()
    room = LiveRoom("bench")
    while True:
        message = await loop.run_in_executor(None, conn.recv)
        if message[0] == "connected":
            break
        _, role, participant, sdp = message
        conn.send(await room.offer(role, participant, sdp))
    await asyncio.sleep(SETTLE_S)
    mixes = list(room.ears.values())
    cpu, mixed = time.process_time(), sum(m.stats.mix_cpu_s for m in mixes)
    await asyncio.sleep(seconds)
    cpu, mixed = time.process_time() - cpu, sum(m.stats.mix_cpu_s for m in mixes) - mixed
    conn.send(("done",))
    await loop.run_in_executor(None, conn.recv)  # the peers closed
    await room.close()
    return 100 * cpu / seconds, 100 * mixed / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    use_loopback_only()
    order = [c for _ in range(args.rounds) for c in CONFIGS]
    ours, theirs = multiprocessing.Pipe()
    peers = multiprocessing.get_context("spawn").Process(target=peers_process, args=(theirs, order))
    peers.start()
    results: dict[str, list[tuple[float, float]]] = {c: [] for c in CONFIGS}

    async def run() -> None:
        for config in order:
            results[config].append(await measure(ours, args.seconds))

    try:
        asyncio.run(run())
    finally:
        peers.join(timeout=30)
        if peers.is_alive():
            peers.kill()
    load = os.getloadavg()[0]
    print(
        f"server CPU per room, % of one core ({args.rounds} rounds of {args.seconds:.0f} s; load {load:.1f})"
    )
    print(f"{'supervisor':<12}{'median':>9}{'worst':>9}{'extra':>9}{'mixing':>9}")
    base = statistics.median(cpu for cpu, _ in results["none"])
    for config, rows in results.items():
        median = statistics.median(cpu for cpu, _ in rows)
        worst = max(cpu for cpu, _ in rows)
        mixing = statistics.median(m for _, m in rows)
        print(f"{config:<12}{median:>9.1f}{worst:>9.1f}{median - base:>+9.1f}{mixing:>9.1f}")


if __name__ == "__main__":
    main()
