"""Server processes on one PostgreSQL database (``rooms.desk.peers``), here as two ``Peers`` in one
test process, each with its own connections as two processes have: who is alone, who routes, who
takes routing over, and the changes passed from one to the other."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from rooms.db import make_engine
from rooms.desk.peers import Peers
from rooms.seating import SeatFreed
from tests.postgres_cluster import PostgresCluster

pytestmark = pytest.mark.postgresql
PATIENCE_S = 15.0


@pytest.fixture
def engine(postgres_cluster: PostgresCluster) -> Iterator[Engine]:
    with postgres_cluster.database() as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not check():
        assert time.monotonic() < deadline, f"not within {PATIENCE_S} s: {what}"
        time.sleep(0.05)


class Heard:
    def __init__(self) -> None:
        self.changes: list[tuple[int, frozenset[str] | None]] = []
        self.wakes = 0
        self.seats: list[SeatFreed] = []
        self._lock = threading.Lock()

    def change(self, brand_id: int, about: frozenset[str] | None) -> None:
        with self._lock:
            self.changes.append((brand_id, about))

    def seat(self, event: SeatFreed) -> None:
        with self._lock:
            self.seats.append(event)

    def wake(self) -> None:
        with self._lock:
            self.wakes += 1


def started(engine: Engine, heard: Heard) -> tuple[Peers, bool]:
    peers = Peers(engine, retry_s=0.2)
    peers.on_event, peers.on_wake, peers.on_seat = heard.change, heard.wake, heard.seat
    alone = peers.join()
    peers.start()
    return peers, alone


def test_the_first_process_is_alone_and_routes_the_next_is_a_standby_that_takes_over(engine: Engine) -> None:
    heard_a, heard_b = Heard(), Heard()
    a, a_alone = started(engine, heard_a)
    b, b_alone = started(engine, heard_b)
    try:
        assert (a_alone, b_alone) == (True, False)
        assert a.is_router() and heard_a.wakes == 1
        time.sleep(0.5)  # b has tried a few times by now
        assert not b.is_router() and heard_b.wakes == 0
        a.close()  # its connections end: the database releases its locks
        eventually(b.is_router, "b routing")
        assert heard_b.wakes >= 1
        # a third process finds b running: not alone, and a standby
        c, c_alone = started(engine, Heard())
        try:
            assert not c_alone and not c.is_router()
        finally:
            c.close()
    finally:
        a.close()
        b.close()
    # nobody left: the next one is alone again (it rebuilds the queue from the sessions)
    d, d_alone = started(engine, Heard())
    try:
        assert d_alone and d.is_router()
    finally:
        d.close()


def test_changes_reach_the_other_process_not_the_one_that_made_them(engine: Engine) -> None:
    heard_a, heard_b = Heard(), Heard()
    a, _ = started(engine, heard_a)
    b, _ = started(engine, heard_b)
    try:
        b.publish(7, frozenset({"s1", "op1"}))
        b.publish(7, None)
        a.publish(8, frozenset({"s2"}))
        eventually(lambda: len(heard_a.changes) == 2, "b's changes at a")
        eventually(lambda: len(heard_b.changes) == 1, "a's change at b")
        assert heard_a.changes == [(7, frozenset({"s1", "op1"})), (7, None)]
        assert heard_b.changes == [(8, frozenset({"s2"}))]
        # a routes: another process's change wakes it, so a customer who joined there is offered at once
        assert heard_a.wakes >= 3 and heard_b.wakes == 0
        # a change about more ids than a NOTIFY can carry goes to anyone in the brand
        b.publish(9, frozenset(f"session-{i:05d}" for i in range(2000)))
        eventually(lambda: len(heard_a.changes) == 3, "the large change at a")
        assert heard_a.changes[-1] == (9, None)
    finally:
        a.close()
        b.close()


def test_a_seat_freed_in_one_process_reaches_the_other(engine: Engine) -> None:
    """A session ended (or transferred) through one process: the live room, held by another, is told."""
    heard_a, heard_b = Heard(), Heard()
    a, _ = started(engine, heard_a)
    b, _ = started(engine, heard_b)
    try:
        b.publish_seat(SeatFreed("lr1", "s1", room_closed=False))
        b.publish_seat(SeatFreed("lr1", "s2", room_closed=True, transferred=True))
        eventually(lambda: len(heard_a.seats) == 2, "b's freed seats at a")
        assert heard_a.seats == [SeatFreed("lr1", "s1", False), SeatFreed("lr1", "s2", True, True)]
        assert heard_b.seats == [] and heard_a.changes == []
    finally:
        a.close()
        b.close()
