"""Room workers' failover: from a worker's death (SIGKILL) to motion and voice resuming.

    python benchmarks/failover.py [--kills 10] [--apis 2] [--signal KILL|STOP]

Needs Debian's PostgreSQL binaries (a throwaway cluster, tests/postgres_cluster.py).

``--apis`` API processes (``serve --workers 0 --remote-workers``) and two room workers on one
database; one consultation: the operator (an aiortc peer sending the demo's landmarks at 30/s and a
tone, its signaling through the last API process) and the customer (an aiortc peer, through the
first), both reconnecting on their own as the pages do (tests/avatar_care/room_link.py). Each
round, once tracked motion flows, the worker running the room is SIGKILLed, and these are measured
from the kill (``time.monotonic``, every process on this machine):

- **noticed**: until the database no longer counts the worker alive (heartbeat older than 3 s;
  polled every 50 ms);
- **rejoined**: until the customer's signaling answered again (on the other worker);
- **motion**: until the customer's first tracked motion packet on its new connection (what was
  still on its way on the old one is not counted);
- **voice**: until the customer's first voiced audio frame on its new connection;
- **operator voice**: until the operator hears the customer again, on its new connection.

With ``--signal STOP`` the worker is frozen instead (SIGSTOP: its sockets stay open and nothing
answers, as when its machine drops off the network), and killed once the round is measured. Then a
fresh worker is started in place of the dead one, so every round has two. Prints a table
(median, p95, max; p95 by nearest rank) and each round; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avatar_care.live.ice import use_loopback_only  # noqa: E402
from tests.avatar_care.room_link import RoomLink  # noqa: E402
from tests.avatar_care.worker_cluster import (  # noqa: E402
    Consultation,
    Database,
    Process,
    cluster,
    open_consultation,
    worker_process,
)
from tests.postgres_cluster import running_cluster  # noqa: E402

LIMIT_S = 30.0  # a round that has not resumed by then is reported as failed


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def wait_for(check: Callable[[], float | None], within_s: float) -> float | None:
    """``check()``'s first value that is not None, polled every 20 ms; None after ``within_s``."""
    start = time.monotonic()
    while time.monotonic() - start < within_s:
        value = check()
        if value is not None:
            return value
        await asyncio.sleep(0.02)
    return None


def noticed_at(db: Database, worker_id: str, within_s: float) -> float | None:
    """When the database stops counting the worker alive (blocking: run in a thread)."""
    start = time.monotonic()
    while time.monotonic() - start < within_s:
        if worker_id not in db.live_workers():
            return time.monotonic()
        time.sleep(0.05)
    return None


async def one_round(
    customer: RoomLink, operator: RoomLink, victim: Process, db: Database, how: signal.Signals
) -> dict[str, float | None]:
    """Kills ``victim`` (the room's worker) once motion and voice flow; the times from the kill."""
    settled = time.monotonic()
    await wait_for(lambda: 1.0 if customer.heard.motion_after(settled) >= 30 else None, 60)
    await wait_for(lambda: 1.0 if operator.heard.voice_after(settled) >= 20 else None, 30)
    # what arrives from the dead worker's connections after the kill (already on its way) is not counted
    on_customer, on_operator = customer.connection, operator.connection
    victim.proc.send_signal(how)
    killed = time.monotonic()
    noticed, motion, voice, heard = await asyncio.gather(
        asyncio.to_thread(noticed_at, db, victim.worker_id, LIMIT_S),
        wait_for(lambda: customer.heard.first_motion_after(killed, on_customer), LIMIT_S),
        wait_for(lambda: customer.heard.first_voice_after(killed, on_customer), LIMIT_S),
        wait_for(lambda: operator.heard.first_voice_after(killed, on_operator), LIMIT_S),
    )
    if how == signal.SIGSTOP:
        victim.proc.kill()  # measured: a frozen worker ends only this way
    rejoined = next((t for t in customer.heard.answered if t > killed), None)
    row = {
        "noticed": noticed,
        "rejoined": rejoined,
        "motion": motion,
        "voice": voice,
        "operator voice": heard,
    }
    return {k: (v - killed if v is not None else None) for k, v in row.items()}


async def rounds(
    how: signal.Signals,
    kills: int,
    apis: list[Process],
    workers: list[Process],
    db: Database,
    c: Consultation,
    stack: ExitStack,
    data: Path,
    url: str,
) -> list[dict[str, float | None]]:
    def ws(base: str) -> str:
        return f"{base.replace('http', 'ws', 1)}/ws/rooms/{c.room_id}"

    operator = RoomLink(ws(apis[-1].base), {"role": "operator", "token": c.operator_token}, "operator")
    customer = RoomLink(ws(apis[0].base), {"role": "customer", "token": c.customer_token}, "customer")
    operator.start()
    customer.start()
    results: list[dict[str, float | None]] = []
    try:
        for n in range(kills):
            await wait_for(lambda: 1.0 if customer.heard.motion else None, 60)
            placed = await asyncio.to_thread(db.placed_on, c.room_id)
            victim = next(w for w in workers if w.worker_id == placed)
            results.append(await one_round(customer, operator, victim, db, how))
            print(f"round {n + 1}: " + ", ".join(f"{k} {_s(v)}" for k, v in results[-1].items()), flush=True)
            workers.remove(victim)
            name = f"worker{len(workers) + n + 1}"
            (data / name).mkdir(exist_ok=True)
            fresh = await asyncio.to_thread(stack.enter_context, worker_process(data / name, url, name))
            workers.append(fresh)
            while fresh.worker_id not in await asyncio.to_thread(db.live_workers):
                await asyncio.sleep(0.1)
    finally:
        await asyncio.gather(customer.stop(), operator.stop())
    return results


def _s(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "none"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--apis", type=int, default=2)
    parser.add_argument(
        "--signal",
        choices=["KILL", "STOP"],
        default="KILL",
        help="STOP: the worker freezes (sockets open, nothing answers), as when its machine drops off",
    )
    args = parser.parse_args()
    how = signal.Signals[f"SIG{args.signal}"]
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at the start", flush=True)
    with running_cluster() as pg, pg.database() as url, TemporaryDirectory() as tmp, ExitStack() as stack:
        data = Path(tmp)
        apis, workers, db, brand_id, key = stack.enter_context(cluster(data, url, apis=args.apis))
        c = open_consultation(apis[0].base, brand_id, key)
        use_loopback_only()
        results = asyncio.run(rounds(how, args.kills, apis, workers, db, c, stack, data, url))
    print(
        f"\nfailover over {len(results)} kills, seconds from {how.name} ({args.apis} API processes, 2 workers)"
    )
    print(f"{'':16}{'median':>8}{'p95':>8}{'max':>8}{'failed':>8}")
    for key_ in ("noticed", "rejoined", "motion", "voice", "operator voice"):
        got = [v for r in results if (v := r[key_]) is not None]
        failed = len(results) - len(got)
        if got:
            print(f"{key_:16}{statistics.median(got):8.2f}{p95(got):8.2f}{max(got):8.2f}{failed:8d}")
        else:
            print(f"{key_:16}{'-':>8}{'-':>8}{'-':>8}{failed:8d}")
    print(f"load {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
