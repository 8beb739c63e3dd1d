"""A process whose copy of the queue is a few versions old reads only the rows changed since
(``queue_changes``); what it then holds must be what a process reading the whole queue holds,
after every kind of change, and a copy older than the changes kept is read whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, func, select

from rooms.db import make_engine, migrate
from rooms.desk import pg_queue_state
from rooms.desk.pg_queue_state import PostgresQueueState
from rooms.models import QueueChange
from rooms.routing import Operator, Presence, Waiting
from tests.postgres_cluster import PostgresCluster

pytestmark = pytest.mark.postgresql
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(postgres_cluster: PostgresCluster) -> Iterator[Engine]:
    with postgres_cluster.database() as url:
        engine = make_engine(url)
        migrate(engine)
        yield engine
        engine.dispose()


def view(state: PostgresQueueState) -> object:
    """All the router holds, through the state's own methods."""
    with state.held():
        r = state._router
        return (
            sorted(
                (
                    op.id,
                    op.brand_id,
                    op.languages,
                    op.skills,
                    op.idle_since,
                    op.presence,
                    op.capacity,
                    op.active,
                )
                for op in r.operators.values()
            ),
            [
                (
                    w.session_id,
                    w.template_id,
                    w.language,
                    w.priority,
                    w.only_operator,
                    sorted(w.declined_by),
                    w.seats,
                )
                for w in r.waiting
            ],
            sorted(r.offers.items()),
            sorted(
                (room.id, room.operator_id, room.seats, tuple(room.customers)) for room in r.rooms.values()
            ),
            sorted(r.seat_of.items()),
        )


def whole_reads(state: PostgresQueueState) -> list[int]:
    """A list that grows by one at each whole read of the queue by ``state``."""
    reads: list[int] = []
    read_all = state._read_all

    def counted(connection: Connection) -> None:
        reads.append(1)
        read_all(connection)

    state._read_all = counted  # type: ignore[method-assign]
    return reads


def test_a_stale_copy_reads_the_changed_rows_and_holds_what_a_whole_read_holds(engine: Engine) -> None:
    writer = PostgresQueueState(engine)
    follower = PostgresQueueState(engine)
    reads = whole_reads(follower)

    def same() -> None:
        assert view(follower) == view(PostgresQueueState(engine))

    writer.add_operator(Operator("anna", 1, frozenset({"it"}), frozenset({"optics"}), T0, capacity=2))
    writer.add_operator(Operator("bob", 1, frozenset({"it", "en"}), frozenset(), T0))
    same()
    assert reads == [1]  # the first read is whole, the rest only the changes
    writer.set_presence("anna", Presence.AVAILABLE, T0)
    writer.set_presence("bob", Presence.AVAILABLE, T0 + timedelta(seconds=1))
    for n in range(4):
        writer.enqueue(Waiting(f"s{n}", 1, "t1", "it", frozenset(), T0 + timedelta(seconds=n), seats=3))
    same()
    offers = writer.dispatch(T0)
    assert {o.operator_id for o in offers} == {"anna", "bob"}
    same()
    first = next(o for o in offers if o.operator_id == "anna")
    writer.accept(first.session_id, "anna", T0)
    other = next(o for o in offers if o.operator_id == "bob")
    writer.decline(other.session_id, "bob")
    same()
    writer.dispatch(T0)  # the next customer gets anna's free seat
    same()
    # bob's offers go unanswered: missed (declined by bob, bob away), then offered again elsewhere
    writer.dispatch(T0 + timedelta(minutes=1))
    same()
    assert view(writer) == view(PostgresQueueState(engine))
    writer.leave("s3")
    writer.leave_seat(first.session_id, T0 + timedelta(minutes=5))
    writer.forget_operator("bob")
    same()
    assert reads == [1]


def test_a_copy_older_than_the_changes_kept_is_read_whole(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_queue_state, "KEEP_CHANGES", 3)
    writer = PostgresQueueState(engine)
    follower = PostgresQueueState(engine)
    reads = whole_reads(follower)
    writer.add_operator(Operator("anna", 1, frozenset({"it"}), frozenset(), T0))
    assert view(follower) == view(writer)
    writer.enqueue(Waiting("s0", 1, "t1", "it", frozenset(), T0))
    assert view(follower) == view(writer) and reads == [1]  # one version behind: the changes
    for n in range(1, 5):
        writer.enqueue(Waiting(f"s{n}", 1, "t1", "it", frozenset(), T0 + timedelta(seconds=n)))
    assert view(follower) == view(PostgresQueueState(engine))
    assert reads == [1, 1]  # four versions behind, three kept: whole
    assert [w[0] for w in view(follower)[1]] == [f"s{n}" for n in range(5)]  # type: ignore[index]


def test_a_hold_that_changes_nothing_writes_nothing(engine: Engine) -> None:
    state = PostgresQueueState(engine)
    state.add_operator(Operator("anna", 1, frozenset({"it"}), frozenset(), T0, Presence.AVAILABLE))
    state.enqueue(Waiting("s0", 1, "t1", "it", frozenset(), T0))
    state.dispatch(T0)

    def versions() -> int | None:
        with engine.connect() as c:
            return c.execute(select(func.max(QueueChange.version))).scalar()

    before = versions()
    for _ in range(3):  # a tick with nothing to do, and reads
        state.dispatch(T0)
        state.in_order()
        state.offers_to("anna")
    assert versions() == before
    state.expire_offers(T0 + timedelta(minutes=1))  # the offer is missed: that is a change
    assert versions() == (before or 0) + 1
