"""What relaying signaling through the API process adds: a customer's join and offer→answer,
straight to the room's worker and through the API process, side by side.

    python benchmarks/signaling_proxy.py [--rounds 30]

Needs Debian's PostgreSQL binaries (a throwaway cluster, tests/postgres_cluster.py).

One API process (``serve --workers 0 --remote-workers``) and one room worker on one database, one
consultation. Each round, alternately through the API process and straight to the worker's own
signaling URL (which admits with the same code), the customer opens the socket, joins (socket
open to ``joined``), and sends an aiortc offer (offer sent to answer received: the worker's peer
and its gathering included); the connection then closes and the next round joins again.
Prints medians and p95 (nearest rank) of each, and the relay's difference; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

import websockets
from aiortc import RTCPeerConnection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avatar_care.live.ice import use_loopback_only  # noqa: E402
from rooms.models import RoomWorker  # noqa: E402
from tests.avatar_care.worker_cluster import cluster, open_consultation  # noqa: E402
from tests.postgres_cluster import running_cluster  # noqa: E402


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def one(url: str, token: str) -> tuple[float, float]:
    """(join, offer→answer) in milliseconds."""
    pc = RTCPeerConnection()
    pc.createDataChannel("motion", ordered=False, maxRetransmits=0)
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    try:
        async with websockets.connect(url, max_size=2**20) as ws:
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "join", "role": "customer", "token": token}))
            joined = json.loads(await ws.recv())
            assert joined["type"] == "joined", joined
            join_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}))
            answer = json.loads(await ws.recv())
            assert answer["type"] == "answer", answer
            return join_ms, (time.perf_counter() - started) * 1000
    finally:
        await pc.close()


async def measure(
    rounds: int, through_api: str, direct: str, token: str
) -> dict[str, list[tuple[float, float]]]:
    got: dict[str, list[tuple[float, float]]] = {"through the API": [], "straight to the worker": []}
    for _ in range(3):  # warm both paths up (imports, first peer)
        await one(through_api, token)
        await one(direct, token)
    for _ in range(rounds):
        got["through the API"].append(await one(through_api, token))
        got["straight to the worker"].append(await one(direct, token))
    return got


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at the start", flush=True)
    with running_cluster() as pg, pg.database() as url, TemporaryDirectory() as tmp, ExitStack() as stack:
        apis, workers, db, brand_id, key = stack.enter_context(cluster(Path(tmp), url, apis=1, workers=1))
        c = open_consultation(apis[0].base, brand_id, key)
        with db.sessions() as s:
            worker_url = s.get_one(RoomWorker, workers[0].worker_id).signaling_url
        use_loopback_only()
        path = f"/ws/rooms/{c.room_id}"
        got = asyncio.run(
            measure(
                args.rounds, apis[0].base.replace("http", "ws", 1) + path, worker_url + path, c.customer_token
            )
        )
    print(f"\nsignaling over {args.rounds} rounds each, milliseconds (one API process, one worker, loopback)")
    print(f"{'':24}{'join p50':>10}{'join p95':>10}{'offer p50':>11}{'offer p95':>11}")
    medians = {}
    for name, rows in got.items():
        joins, offers = [r[0] for r in rows], [r[1] for r in rows]
        medians[name] = (statistics.median(joins), statistics.median(offers))
        print(
            f"{name:24}{medians[name][0]:10.1f}{p95(joins):10.1f}{medians[name][1]:11.1f}{p95(offers):11.1f}"
        )
    relay = [
        a - b for a, b in zip(medians["through the API"], medians["straight to the worker"], strict=True)
    ]
    print(f"{'the relay adds (p50)':24}{relay[0]:10.1f}{'':10}{relay[1]:11.1f}")
    print(f"load {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
