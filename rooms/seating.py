"""Live rooms of consultations and their seats: who meets whom in one room with one avatar.

A consultation that an operator accepts opens a room (counted against the operator's capacity);
where the template's ``max_customers`` is more than 1, that room has further seats, and the next
waiting customer of the same template is offered a free seat before anyone opens a new room
(docs/customer-care.md, "Shared rooms"). A room closes when its last customer leaves it. Room ids
are random and say nothing about the customers in them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime


def new_room_id() -> str:
    return "lr" + secrets.token_hex(12)


@dataclass
class SeatedRoom:
    """A running room: one operator, the customers seated in it, and how many it can hold."""

    id: str
    operator_id: str
    brand_id: int
    template_id: str
    seats: int
    opened_at: datetime
    customers: list[str] = field(default_factory=list)

    @property
    def free_seats(self) -> int:
        return self.seats - len(self.customers)


@dataclass(frozen=True)
class RoomInfo:
    """A running room as the signaling layer needs it to admit participants."""

    id: str
    brand_id: int
    template_id: str
    operator_id: str
    sessions: tuple[str, ...]


@dataclass(frozen=True)
class SeatFreed:
    """A customer left a room (ended or transferred away); ``room_closed`` when nobody is left."""

    room_id: str
    session_id: str
    room_closed: bool
    #: handed on to a colleague (back in the queue), rather than ended
    transferred: bool = False
