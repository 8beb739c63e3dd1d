"""The desk reaches the queue's state only through ``QueueState``, changes it only while holding it,
and writes to the database what routing's one missed-offer rule made of the operator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from rooms.desk import CareDesk, Customer, InMemoryQueueState, QueueState
from rooms.models import OperatorAccount
from rooms.routing import Offer, Presence, Waiting
from rooms.seating import SeatedRoom
from tests.rooms.desk_support import make_world


class WatchedState(InMemoryQueueState):
    """The in-memory state, noting each change and whether the state was held while it was made."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.changes: list[tuple[str, bool]] = []

    @contextmanager
    def _holding(self) -> Iterator[None]:
        with super().held():
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1

    def held(self) -> AbstractContextManager[Any]:
        return self._holding()

    def _note(self, change: str) -> None:
        self.changes.append((change, self.depth > 0))

    def clear(self) -> None:
        self._note("clear")
        super().clear()

    def set_presence(self, operator_id: str, presence: Presence, now: datetime) -> None:
        self._note("set_presence")
        super().set_presence(operator_id, presence, now)

    def forget_operator(self, operator_id: str) -> None:
        self._note("forget_operator")
        super().forget_operator(operator_id)

    def enqueue(self, customer: Waiting) -> None:
        self._note("enqueue")
        super().enqueue(customer)

    def leave(self, session_id: str) -> Waiting:
        self._note("leave")
        return super().leave(session_id)

    def expire_offers(self, now: datetime) -> list[Offer]:
        self._note("expire_offers")
        return super().expire_offers(now)

    def dispatch(self, now: datetime) -> list[Offer]:
        self._note("dispatch")
        return super().dispatch(now)

    def accept(
        self, session_id: str, operator_id: str, now: datetime, new_room_id: str | None = None
    ) -> Waiting:
        self._note("accept")
        return super().accept(session_id, operator_id, now, new_room_id)

    def decline(self, session_id: str, operator_id: str) -> None:
        self._note("decline")
        super().decline(session_id, operator_id)

    def restore_seat(self, session_id: str, room: SeatedRoom) -> None:
        self._note("restore_seat")
        super().restore_seat(session_id, room)

    def leave_seat(self, session_id: str, now: datetime) -> tuple[SeatedRoom, bool]:
        self._note("leave_seat")
        return super().leave_seat(session_id, now)


def test_every_change_of_the_queue_state_is_made_while_the_desk_holds_it(database_url: str) -> None:
    w = make_world(database_url)
    state = WatchedState()
    w.desk = CareDesk(w.sessions, w.clock, state=state)
    anna = w.operator("anna", ["it"], ["optics"])
    w.clock.advance(1)
    bruno = w.operator("bruno", ["it"], ["optics"])
    first, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.decline(first.id, anna.id)
    w.clock.advance(21)
    w.desk.tick()  # bruno missed it
    w.desk.set_presence(bruno.id, Presence.AVAILABLE)
    w.desk.set_presence(anna.id, Presence.AVAILABLE)
    carla = w.operator("carla", ["it"], ["optics"])
    w.desk.accept(first.id, carla.id)
    w.desk.transfer(first.id, carla.id, to_operator=anna.id)
    w.desk.accept(first.id, anna.id)
    w.desk.end(first.id, anna.id)
    second, _ = w.desk.join(w.template, Customer("c-2", "it"))
    w.desk.abandon(second.id)
    third, _ = w.desk.join(w.template, Customer("c-3", "it"))
    w.desk.contact_request(w.template, "message", "c3@example.org", "call me", None, third.id)
    fourth, _ = w.desk.join(w.template, Customer("c-4", "it"))
    offer = w.desk.state.offer(fourth.id)
    assert offer is not None
    w.desk.accept(fourth.id, offer.operator_id)
    w.desk.remove_operator(bruno.id)
    w.desk.load()  # a restart: the seat of the fourth customer comes back
    w.desk.status(fourth.id)
    w.desk.queue(w.brand.id)

    assert [change for change, held in state.changes if not held] == []
    made = {change for change, _ in state.changes}
    assert made >= {
        "clear",
        "set_presence",
        "forget_operator",
        "enqueue",
        "leave",
        "expire_offers",
        "dispatch",
        "accept",
        "decline",
        "restore_seat",
        "leave_seat",
    }


def test_the_in_memory_state_is_a_queue_state() -> None:
    state: QueueState = InMemoryQueueState()  # mypy checks the protocol; this checks it runs
    with state.held(), state.held():  # re-entrant: a decision may call another
        assert state.in_order() == []


def test_the_database_follows_the_missed_offer_rule_away_for_an_offer_busy_for_a_seat(
    database_url: str,
) -> None:
    w = make_world(database_url, max_customers=2)
    anna = w.operator("anna", ["it"], ["optics"])
    first, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(first.id, anna.id)  # anna's one room runs: busy, with a free seat
    second, _ = w.desk.join(w.template, Customer("c-2", "it"))
    assert w.desk.offers_for(anna.id) == [second.id]
    w.clock.advance(21)
    w.desk.tick()  # a missed seat: she is talking in that room
    with w.sessions() as db:
        account = db.get(OperatorAccount, anna.id)
        assert account is not None and account.presence == Presence.BUSY.value
    assert w.desk.presence(anna.id) is Presence.BUSY

    w.desk.end(first.id, anna.id)
    third, _ = w.desk.join(w.template, Customer("c-3", "it"))
    assert w.desk.offers_for(anna.id) == [third.id]  # a room of its own this time
    w.clock.advance(21)
    w.desk.tick()
    with w.sessions() as db:
        account = db.get(OperatorAccount, anna.id)
        assert account is not None and account.presence == Presence.AWAY.value
    assert w.desk.presence(anna.id) is Presence.AWAY
