"""Placement of live rooms on room workers, on the test PostgreSQL cluster: the least-loaded live
worker (fewest rooms, then least CPU), the same worker for every participant of a room, a dead or
unreachable worker's room moved, and the registry's heartbeat and clean-up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from avatar_care.workers.placement import Placement
from avatar_care.workers.registry import PLACEMENT_GRACE_S, WorkerRow
from rooms.models import RoomPlacement, RoomWorker
from tests.postgres_cluster import PostgresCluster

pytestmark = pytest.mark.postgresql


@pytest.fixture
def sessions(tmp_path: Path, postgres_cluster: PostgresCluster) -> Iterator[sessionmaker[Session]]:
    with postgres_cluster.database() as url:
        engine, factory = open_database(Settings(data_dir=tmp_path, database_url=url))
        yield factory
        engine.dispose()


def worker(sessions: sessionmaker[Session], worker_id: str) -> WorkerRow:
    row = WorkerRow(sessions, worker_id, f"ws://127.0.0.1:9/{worker_id}")
    row.register()
    return row


def age(sessions: sessionmaker[Session], worker_id: str, seconds: float) -> None:
    """The worker's last heartbeat, ``seconds`` ago (as if it had stopped beating then)."""
    with sessions() as db:
        db.execute(
            update(RoomWorker)
            .where(RoomWorker.id == worker_id)
            .values(heartbeat_at=func.now() - timedelta(seconds=seconds))
        )
        db.commit()


def test_rooms_go_to_the_least_loaded_live_worker_and_stay_there(sessions: sessionmaker[Session]) -> None:
    placement = Placement(sessions)
    assert placement.place("r1") is None  # no worker yet: nothing placed
    assert placement.placed_on("r1") is None
    a, b = worker(sessions, "a"), worker(sessions, "b")
    a.beat({"r0"}, cpu_percent=80.0)  # a is busier: with equal room counts, b first
    b.beat(set(), cpu_percent=5.0)
    first = placement.place("r1")
    assert first is not None and first.id == "b" and first.signaling_url == "ws://127.0.0.1:9/b"
    assert placement.place("r2").id == "a"  # type: ignore[union-attr]  # b has one room now, a none
    # every participant of r1 (another join, another API process) lands on the same worker
    assert placement.place("r1").id == "b"  # type: ignore[union-attr]
    assert Placement(sessions).place("r1").id == "b"  # type: ignore[union-attr]


def test_a_dead_or_unreachable_workers_room_moves_once(sessions: sessionmaker[Session]) -> None:
    placement = Placement(sessions)
    worker(sessions, "a")
    assert placement.place("r1").id == "a"  # type: ignore[union-attr]
    worker(sessions, "b")
    # a could not be reached by this caller (its heartbeat may not be stale yet): moved to b
    assert placement.place("r1", avoid={"a"}).id == "b"  # type: ignore[union-attr]
    assert placement.placed_on("r1") == "b"
    # b's heartbeat goes stale: the next join moves the room back to a, the live one
    age(sessions, "b", 10)
    assert placement.place("r1").id == "a"  # type: ignore[union-attr]
    # nobody alive: nothing to place on, and the placement is left as it was
    age(sessions, "a", 10)
    assert placement.place("r1") is None
    assert placement.placed_on("r1") == "a"


def test_heartbeats_let_go_of_rooms_not_run_and_forget_long_dead_workers(
    sessions: sessionmaker[Session],
) -> None:
    placement = Placement(sessions)
    a = worker(sessions, "a")
    for room in ("r1", "r2"):
        assert placement.place(room).id == "a"  # type: ignore[union-attr]
    with sessions() as db:  # placed long enough ago for the grace to be over
        db.execute(
            update(RoomPlacement).values(placed_at=func.now() - timedelta(seconds=PLACEMENT_GRACE_S + 1))
        )
        db.commit()
    a.beat({"r1"}, cpu_percent=1.0)  # it runs r1; nobody came to r2
    assert (placement.placed_on("r1"), placement.placed_on("r2")) == ("a", None)
    worker(sessions, "gone")
    assert placement.place("r3", avoid={"a"}).id == "gone"  # type: ignore[union-attr]
    age(sessions, "gone", 3600)
    a.beat({"r1"}, cpu_percent=1.0)
    with sessions() as db:
        assert set(db.scalars(select(RoomWorker.id))) == {"a"}
    assert placement.placed_on("r3") is None
    # a worker removed while paused comes back under its id at its next beat
    a.unregister()
    a.beat(set(), cpu_percent=0.0)
    with sessions() as db:
        assert set(db.scalars(select(RoomWorker.id))) == {"a"}
