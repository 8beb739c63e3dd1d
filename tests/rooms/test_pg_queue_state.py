"""On PostgreSQL the queue's state is the database's: two desks on one database (as two server
processes have) share one queue, its offers, its seats and its operators."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from rooms.desk import CareDesk, Customer, InMemoryQueueState, QueueState
from rooms.desk.pg_queue_state import PostgresQueueState
from rooms.routing import Presence
from tests.postgres_cluster import PostgresCluster
from tests.rooms.desk_support import World, make_world

pytestmark = pytest.mark.postgresql


@pytest.fixture
def world(postgres_cluster: PostgresCluster) -> Iterator[World]:
    with postgres_cluster.database() as url:
        yield make_world(url)


def test_the_desk_keeps_the_queue_in_postgresql_and_in_memory_on_sqlite(world: World, tmp_path: Path) -> None:
    assert isinstance(world.desk.state, PostgresQueueState)
    sqlite = make_world(f"sqlite:///{tmp_path}/care.sqlite3")
    assert isinstance(sqlite.desk.state, InMemoryQueueState)


def test_two_desks_on_one_database_share_the_queue_offers_and_seats(world: World) -> None:
    a = world.desk
    # A second process joins a queue that is already running: it must not rebuild (and so clear) it.
    b = CareDesk(world.sessions, world.clock, rebuild=False)
    anna = world.operator("anna", ["it"], ["optics"])  # presence set through desk a
    assert b.presence(anna.id) is Presence.AVAILABLE
    first, _ = b.join(world.template, Customer("c-1", "it"))  # joins on b, offered by b's tick
    assert a.offers_for(anna.id) == [first.id]
    second, _ = a.join(world.template, Customer("c-2", "it"))
    assert b.status(second.id).position == 2 and b.status(second.id).state == "queued"
    assert [row["session_id"] for row in b.queue(world.brand.id)] == [first.id, second.id]
    a.accept(first.id, anna.id)  # anna (capacity 1) is busy: the second waits
    seat = a.state.room_of(first.id)
    assert seat is not None and b.live_room(seat.id) is not None  # the seat is seen from b
    assert b.presence(anna.id) is Presence.BUSY
    b.end(first.id, anna.id)
    assert a.offers_for(anna.id) == [second.id]


def test_only_the_process_that_routes_makes_offers(world: World) -> None:
    a = world.desk
    b = CareDesk(world.sessions, world.clock, rebuild=False)
    routing = {"a": False}
    a.routes_here = lambda: routing["a"]
    b.routes_here = lambda: False
    anna = world.operator("anna", ["it"], ["optics"])
    cs, _ = b.join(world.template, Customer("c-1", "it"))
    assert a.offers_for(anna.id) == [] and b.tick() == []  # nobody routes
    routing["a"] = True
    assert a.tick() == [cs.id]
    assert b.offers_for(anna.id) == [cs.id]
    # Missed offers too are the router's: b lets the time pass, a expires it.
    world.clock.advance(21)
    b.tick()
    assert b.presence(anna.id) is Presence.AVAILABLE
    a.tick()
    assert b.presence(anna.id) is Presence.AWAY
    assert b.status(cs.id).state == "queued"


def test_a_second_desk_that_rebuilds_starts_the_queue_again_from_the_sessions(world: World) -> None:
    """A lone server restarted on the database (nobody else runs the queue) rebuilds it as today:
    customers keep their place, open offers go back to the queue, operators start offline."""
    anna = world.operator("anna", ["it"], ["optics"])
    first, _ = world.desk.join(world.template, Customer("c-1", "it"))
    second, _ = world.desk.join(world.template, Customer("c-2", "it"))
    assert world.desk.offers_for(anna.id) == [first.id]
    desk = world.restart()
    assert desk.offers_for(anna.id) == []
    assert desk.presence(anna.id) is Presence.OFFLINE
    assert [desk.status(s.id).position for s in (first, second)] == [1, 2]


def test_every_field_of_the_queue_survives_the_tables(postgres_cluster: PostgresCluster) -> None:
    """A process that reads the queue from the tables sees exactly what the one that wrote it holds:
    order and priority, skills, a named colleague, who declined, seats, offers, rooms and presence."""
    with postgres_cluster.database() as url:
        w = make_world(url, max_customers=2)
        anna = w.operator("anna", ["it", "en"], ["optics"])
        w.clock.advance(1)
        bruno = w.operator("bruno", ["it"], ["optics", "billing"])
        carla = w.operator("carla", ["it"], ["optics"], available=False)
        w.desk.set_presence(carla.id, Presence.BUSY)  # at the desk, so a transfer to her waits for her
        first, _ = w.desk.join(w.template, Customer("c-1", "it"))
        w.desk.accept(first.id, anna.id)
        second, _ = w.desk.join(w.template, Customer("c-2", "it", priority=3))
        w.desk.accept(second.id, anna.id)  # the second seat of anna's room
        third, _ = w.desk.join(w.template, Customer("c-3", "it"))
        w.desk.decline(third.id, bruno.id)  # bruno declined: nobody else is free
        fourth, _ = w.desk.join(w.template, Customer("c-4", "en"))
        w.desk.transfer(first.id, anna.id, to_operator=carla.id)  # back in the queue, for carla only
        w.clock.advance(5)
        w.desk.tick()
        with w.desk.state.held():  # after-call work of bruno's: a code owed for a consultation
            w.desk.state.start_after_call(bruno.id, "s-ended", w.clock.now() + timedelta(seconds=30), True)

        a = w.desk.state
        b = PostgresQueueState(w.desk.state._engine)  # type: ignore[attr-defined]  # a new process's copy
        accounts = (anna.id, bruno.id, carla.id)

        def seen(state: QueueState) -> dict[str, object]:
            # one state held at a time: each holds the database's queue lock on a connection of its own
            with state.held():
                order = state.in_order()
                return {
                    "order": order,
                    "offers": [state.offer(c.session_id) for c in order],
                    "positions": [state.position(c.session_id) for c in order],
                    "operators": [state.operator(i) for i in accounts],
                    "offers_to": [state.offers_to(i) for i in accounts],
                    "rooms": [state.room_of(s.id) for s in (first, second, third, fourth)],
                }

        written, read = seen(a), seen(b)
        assert read == written
        waiting = {c.session_id: c for c in read["order"]}  # type: ignore[attr-defined]
        assert len(waiting) == 3
        assert waiting[third.id].declined_by == {bruno.id}
        assert waiting[first.id].only_operator == carla.id and waiting[first.id].declined_by == {anna.id}
        assert waiting[first.id].return_to == anna.id
        after_call = read["operators"][1].after_call  # type: ignore[index]
        assert after_call == {"s-ended": (w.clock.now() + timedelta(seconds=30), True)}
        assert waiting[first.id].seats == 2
        seat = read["rooms"][1]  # type: ignore[index]
        assert seat is not None and seat.customers == [second.id]
