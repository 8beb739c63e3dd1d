"""The router's tick on a busy desk, in memory and with the queue's state in PostgreSQL.

    python benchmarks/router_tick.py [--ticks 30] [--profile]

The desk: every operator runs one room of 4 seats with 2 taken, and customers wait across 10
templates in a language no operator speaks, so every tick looks at all of them and offers nothing
(the worst case of ``benchmarks/seating.py``). One tick is what ``CareDesk.tick`` asks of the
queue's state: hold it, expire missed offers, dispatch.

- **memory**: ``InMemoryQueueState`` (the state of the one-process SQLite default).
- **PostgreSQL, copy current**: ``PostgresQueueState`` whose copy is the newest (nobody else
  changed the queue since its last tick): the lock, the version row, the dispatch, the comparison
  of what changed.
- **PostgreSQL, changed elsewhere**: another process changed the queue (one customer joined
  through it) before every tick, so the router reads the rows again.
- **PostgreSQL, offer made**: as above, and the customer who joined can be served, so the tick
  also makes an offer and writes it.

Needs Debian's PostgreSQL binaries (a throwaway cluster, tests/postgres_cluster.py). Prints a
table of medians and 95th percentiles; asserts nothing. ``--profile`` prints where one tick of
each kind spends its time. Besides the wall clock, each row gives this process's CPU time a tick
and the statements it sent PostgreSQL (the commit counted): on a machine shared with other work
the wall clock swings with the load, those two hardly.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rooms.db import make_engine, migrate  # noqa: E402
from rooms.desk import InMemoryQueueState, QueueState  # noqa: E402
from rooms.desk.pg_queue_state import PostgresQueueState  # noqa: E402
from rooms.routing import Operator, Presence, Waiting  # noqa: E402
from tests.postgres_cluster import running_cluster  # noqa: E402

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TEMPLATES = 10


def fill(state: QueueState, operators: int, waiting: int) -> None:
    """Every operator runs one room of 4 seats with 2 taken; customers wait whom nobody can serve."""
    with state.held():
        for i in range(operators):
            state.add_operator(
                Operator(f"o{i}", 1, frozenset({"it"}), frozenset(), T0, Presence.AVAILABLE, 2)
            )
        for i in range(operators):
            for k in range(2):
                sid = f"s{i}-{k}"
                state.enqueue(Waiting(sid, 1, f"t{i % TEMPLATES}", "it", frozenset(), T0, seats=4))
                offer = next(o for o in state.dispatch(T0) if o.session_id == sid)
                for other in state.offers_to(offer.operator_id):
                    if other.session_id != sid:
                        state.decline(other.session_id, offer.operator_id)
                state.accept(sid, offer.operator_id, T0)
        for j in range(waiting):
            state.enqueue(
                Waiting(f"w{j}", 1, f"t{j % TEMPLATES}", "en", frozenset(), T0 + timedelta(seconds=j))
            )


def tick(state: QueueState) -> None:
    with state.held():
        state.expire_offers(T0)
        state.dispatch(T0)


@dataclass
class Ticks:
    wall_ms: list[float] = field(default_factory=list)
    #: this process's CPU time (user + system): less swayed than the wall clock by other programs
    cpu_ms: list[float] = field(default_factory=list)
    #: statements sent to PostgreSQL, the commit included (round trips under the queue's lock)
    statements: list[int] = field(default_factory=list)


def timed(run: Callable[[], None], before: Callable[[], None], ticks: int, sent: list[int]) -> Ticks:
    out = Ticks()
    for _ in range(ticks):
        before()
        sent[0] = 0
        cpu = time.process_time()
        started = time.perf_counter()
        run()
        out.wall_ms.append((time.perf_counter() - started) * 1000)
        out.cpu_ms.append((time.process_time() - cpu) * 1000)
        out.statements.append(sent[0])
    return out


def counting(engine: Engine) -> list[int]:
    """A counter of the statements and commits ``engine`` sends."""
    sent = [0]

    def count(*_: object) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "commit", count)
    return sent


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def profile(label: str, run: Callable[[], None], before: Callable[[], None]) -> None:
    before()
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    print(f"\n-- where one tick goes: {label}")
    pstats.Stats(prof).sort_stats("tottime").print_stats(8)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", type=int, default=30)
    parser.add_argument("--operators", type=int, default=400)
    parser.add_argument("--waiting", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    rows: list[tuple[str, Ticks]] = []

    memory = InMemoryQueueState()
    fill(memory, args.operators, args.waiting)
    rows.append(("memory", timed(lambda: tick(memory), lambda: None, args.ticks, [0])))

    with running_cluster() as cluster, cluster.database() as url:
        engine = make_engine(url)
        migrate(engine)
        elsewhere = make_engine(url)  # another process's, so that its statements are not counted
        router = PostgresQueueState(engine)
        other = PostgresQueueState(elsewhere)  # another process on the same database
        fill(router, args.operators, args.waiting)
        tick(router)
        joined = iter(range(10**9))

        def someone_joins_elsewhere() -> None:
            other.enqueue(Waiting(f"x{next(joined)}", 1, "t0", "en", frozenset(), T0 + timedelta(days=1)))

        def someone_servable_joins_elsewhere() -> None:
            n = next(joined)
            other.enqueue(Waiting(f"y{n}", 1, "t-new", "it", frozenset(), T0 + timedelta(days=2, seconds=n)))

        kinds = {
            "PostgreSQL, copy current": lambda: None,
            "PostgreSQL, changed elsewhere": someone_joins_elsewhere,
            "PostgreSQL, offer made": someone_servable_joins_elsewhere,
        }
        sent = counting(engine)
        for label, before in kinds.items():
            rows.append((label, timed(lambda: tick(router), before, args.ticks, sent)))
        if args.profile:
            for label, before in kinds.items():
                profile(label, lambda: tick(router), before)
        engine.dispose()
        elsewhere.dispose()

    print(
        f"\nrouter tick, {args.operators} operators in running rooms, {args.waiting} waiting, {args.ticks} ticks"
    )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
    print(f"{'queue state':31} | median ms | p95 ms | max ms | CPU ms median | statements")
    for label, t in rows:
        print(
            f"{label:31} | {statistics.median(t.wall_ms):9.2f} | {p95(t.wall_ms):6.2f} | {max(t.wall_ms):6.2f} | "
            f"{statistics.median(t.cpu_ms):13.2f} | {statistics.median(t.statements):10.0f}"
        )


if __name__ == "__main__":
    main()
