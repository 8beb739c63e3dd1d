"""The queue's state behind one interface: waiting customers, offers, seats and operator states.

The desk reads and changes the queue only through :class:`QueueState`, and holds it (``held()``)
for every decision that reads and then changes it. :class:`InMemoryQueueState` is the router
(``rooms.routing``) in this process's memory, guarded by a re-entrant lock: SQLite's, with one
server process. On PostgreSQL the desk uses ``rooms.desk.pg_queue_state.PostgresQueueState``, the
same state in tables that every server process on the database shares.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from rooms.desk.queue_figures import BrandQueue, figures_of
from rooms.routing import Offer, Operator, Presence, Router, Waiting
from rooms.seating import SeatedRoom


class QueueState(Protocol):
    """What the desk asks of the queue; the rules behind it are ``rooms.routing``'s."""

    def held(self) -> AbstractContextManager[Any]:
        """Exclusive use of the state while a decision reads it and changes it (re-entrant)."""
        ...

    def clear(self) -> None:
        """Forget everything (before the state is rebuilt from the database)."""
        ...

    def figures(self, now: datetime) -> dict[int, BrandQueue]:
        """The queue's figures of the moment by brand (``rooms.desk.queue_figures``)."""
        ...

    # operators
    def add_operator(self, operator: Operator) -> None: ...
    def operator(self, operator_id: str) -> Operator | None: ...
    def forget_operator(self, operator_id: str) -> None: ...
    def set_presence(self, operator_id: str, presence: Presence, now: datetime) -> None: ...

    # waiting customers
    def enqueue(self, customer: Waiting) -> None: ...
    def leave(self, session_id: str) -> Waiting: ...
    def customer(self, session_id: str) -> Waiting: ...
    def in_order(self) -> list[Waiting]: ...
    def position(self, session_id: str) -> int: ...
    def eligible(self, customer: Waiting) -> list[Operator]: ...

    # offers
    def offer(self, session_id: str) -> Offer | None: ...
    def offers_to(self, operator_id: str) -> list[Offer]: ...
    def expire_offers(self, now: datetime) -> list[Offer]: ...
    def dispatch(self, now: datetime) -> list[Offer]: ...
    def accept(
        self, session_id: str, operator_id: str, now: datetime, new_room_id: str | None = None
    ) -> Waiting: ...
    def decline(self, session_id: str, operator_id: str) -> None: ...
    def seat_for(self, offer: Offer) -> SeatedRoom | None: ...

    # seats in running rooms
    def room(self, room_id: str) -> SeatedRoom | None: ...
    def room_of(self, session_id: str) -> SeatedRoom | None: ...
    def is_seated(self, session_id: str) -> bool: ...
    def restore_seat(self, session_id: str, room: SeatedRoom) -> None: ...
    def leave_seat(self, session_id: str, now: datetime) -> tuple[SeatedRoom, bool]: ...
    def transfer(
        self,
        customer: Waiting,
        from_operator: str,
        now: datetime,
        *,
        to_operator: str | None = None,
        skills: frozenset[str] | None = None,
        template: tuple[str, int] | None = None,
    ) -> Waiting: ...
    def send_back_refused(self) -> list[Waiting]: ...
    def hand_over(
        self, session_id: str, from_operator: str, to_operator: str, now: datetime, new_room_id: str
    ) -> SeatedRoom: ...

    # after-call work
    def start_after_call(
        self, operator_id: str, session_id: str, until: datetime, required: bool
    ) -> None: ...
    def wrap_up(self, operator_id: str, session_id: str) -> None: ...


class InMemoryQueueState(Router):
    """The router in this process's memory. Routes run in a thread pool and the ticker on the event
    loop: one lock keeps it whole."""

    def __init__(self, accept_timeout: timedelta = timedelta(seconds=20)) -> None:
        super().__init__(accept_timeout)
        self._lock = threading.RLock()

    def held(self) -> AbstractContextManager[Any]:
        return self._lock

    def clear(self) -> None:
        with self._lock:
            self.operators.clear()
            self.waiting.clear()
            self.offers.clear()
            self.rooms.clear()
            self.seat_of.clear()

    def figures(self, now: datetime) -> dict[int, BrandQueue]:
        with self._lock:
            return figures_of(self, now)
