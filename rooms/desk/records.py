"""What the desk's parts share: the customer joining, the wait status, the session states, and the
one way a session's change is written (its state and the event that says why)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rooms.clock import as_utc
from rooms.errors import Conflict
from rooms.models import CareSession, SessionEvent

WAITING_STATES = ("queued", "offered", "transferred")
FINAL_STATES = ("ended", "abandoned")


def access_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Customer:
    """Who is joining, as the brand vouches for it (or "anonymous")."""

    ref: str
    language: str
    name: str = ""
    topic: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    priority: int = 0


@dataclass(frozen=True)
class WaitStatus:
    session_id: str
    state: str
    position: int | None
    estimated_wait_s: float | None
    #: past the template's limit, unknown, or closed: the page offers a message or a callback
    may_leave_message: bool
    operator_name: str | None


@dataclass(frozen=True)
class ChatPosted:
    """A chat message just stored, as the pages are told it: after its commit, in the order of the
    messages' ids, so a page that keeps the newest id it has shows each message once and in order."""

    brand_id: int
    session_id: str
    #: the session's operator when the message was stored (their panel shows it too)
    operator_id: str | None
    id: int
    sender: str
    text: str
    at: datetime

    def as_json(self) -> dict[str, Any]:
        """The message as the views list it (``avatar_care.api.views``), with its session."""
        return {
            "session_id": self.session_id,
            "id": self.id,
            "sender": self.sender,
            "text": self.text,
            "at": as_utc(self.at).isoformat(),
        }


class Closed(Conflict):
    """The template is outside its business hours; ``next_open`` says when it opens again."""

    def __init__(self, next_open: datetime | None) -> None:
        when = next_open.isoformat() if next_open else "not within the next two weeks"
        super().__init__(f"the room is closed now; it opens again {when}")
        self.next_open = next_open


def add_event(db: Session, cs: CareSession, kind: str, detail: dict[str, Any], now: datetime) -> None:
    db.add(SessionEvent(session_id=cs.id, kind=kind, detail=detail, at=now))


def set_state(
    db: Session, session_id: str, state: str, kind: str, detail: dict[str, Any], now: datetime
) -> CareSession | None:
    """The session's new state and the event saying why (uncommitted); None: no such session."""
    cs = db.get(CareSession, session_id)
    if cs is not None:
        cs.state = state
        add_event(db, cs, kind, detail, now)
    return cs
