"""Warm transfers: the operator consults a colleague of the brand about a connected customer (a chat
between the two that the customer does not see, kept with the consultation's events), then hands the
customer over: straight into a new room of the colleague, without the queue; the session, its chat
and cart stay the customer's. A colleague who declines, is not at the desk or has no free capacity
leaves the customer with the first operator, who never let go of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rooms.clock import Clock
from rooms.desk.listeners import Listeners
from rooms.desk.queue_state import QueueState
from rooms.desk.records import add_event
from rooms.desk.routing_rows import routing_operator
from rooms.errors import Conflict, Forbidden, Invalid, NotFound
from rooms.models import CareSession, OperatorAccount, SessionEvent
from rooms.routing import Presence, RoutingError
from rooms.seating import SeatFreed, new_room_id

#: the longest message of a consult between operators (as the customer's chat)
MAX_CONSULT_TEXT = 4000


@dataclass(frozen=True)
class ConsultMessage:
    sender: str
    text: str
    at: str


@dataclass(eq=False)
class Consults:
    sessions: sessionmaker[Session]
    clock: Clock
    state: QueueState
    listeners: Listeners
    tick: Callable[[], object]  # the queue's decision, when an operator is free again

    @staticmethod
    def _connected_to(db: Session, session_id: str, operator_id: str) -> CareSession:
        cs = db.get(CareSession, session_id)
        if cs is None:
            raise NotFound(f"no session {session_id}")
        if cs.operator_id != operator_id:
            raise Forbidden(f"session {session_id} is another operator's")
        if cs.state != "connected":
            raise Conflict(f"session {session_id} is {cs.state}, not connected")
        return cs

    def invite(self, session_id: str, operator_id: str, colleague_id: str) -> None:
        """Ask a colleague at the desk to consult about a connected customer (one at a time)."""
        now = self.clock.now()
        with self.state.held(), self.sessions() as db:
            cs = self._connected_to(db, session_id, operator_id)
            colleague = db.get(OperatorAccount, colleague_id)
            if colleague is None or colleague.brand_id != cs.brand_id or colleague.role == "admin":
                raise NotFound(f"no operator {colleague_id}")
            if colleague_id == operator_id:
                raise Invalid("a consult is with someone else")
            if cs.consult_with is not None:
                raise Conflict(f"session {session_id} already has a consult going")
            op = self.state.operator(colleague_id)
            if op is None or op.presence in (Presence.AWAY, Presence.OFFLINE) or colleague.disabled:
                raise Conflict(f"{colleague.name} is not at the desk")
            cs.consult_with, cs.consult_accepted = colleague_id, False
            add_event(db, cs, "consult_invited", {"from": operator_id, "to": colleague_id}, now)
            db.commit()
            brand_id = cs.brand_id
        self.listeners.changed(brand_id, frozenset({session_id, operator_id, colleague_id}))

    def answer(self, session_id: str, colleague_id: str, accept: bool) -> None:
        """The colleague joins the consult, or declines it (the customer stays where they are)."""
        now = self.clock.now()
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None or cs.consult_with != colleague_id or cs.state != "connected":
                raise Conflict(f"no consult about session {session_id} is asked of you")
            if accept:
                cs.consult_accepted = True
            else:
                cs.consult_with, cs.consult_accepted = None, False
            kind = "consult_accepted" if accept else "consult_declined"
            add_event(db, cs, kind, {"operator": colleague_id}, now)
            db.commit()
            brand_id, operator_id = cs.brand_id, cs.operator_id or ""
        self.listeners.changed(brand_id, frozenset({session_id, operator_id, colleague_id}))

    def message(self, session_id: str, sender_id: str, text: str) -> None:
        """A message between the two operators of a consult (the customer does not see it)."""
        now = self.clock.now()
        text = text.strip()
        if not text or len(text) > MAX_CONSULT_TEXT:
            raise Invalid(f"a consult message is 1 to {MAX_CONSULT_TEXT} characters")
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if (
                cs is None
                or cs.state != "connected"
                or not cs.consult_accepted
                or sender_id not in (cs.operator_id, cs.consult_with)
            ):
                raise Conflict(f"you have no consult going about session {session_id}")
            add_event(db, cs, "consult_message", {"from": sender_id, "text": text}, now)
            db.commit()
            brand_id, about = (
                cs.brand_id,
                frozenset({session_id, cs.operator_id or "", cs.consult_with or ""}),
            )
        self.listeners.changed(brand_id, about)

    def cancel(self, session_id: str, operator_id: str) -> None:
        """The first operator calls the consult off (the customer stays with them)."""
        now = self.clock.now()
        with self.sessions() as db:
            cs = self._connected_to(db, session_id, operator_id)
            colleague = cs.consult_with
            if colleague is None:
                raise Conflict(f"session {session_id} has no consult going")
            cs.consult_with, cs.consult_accepted = None, False
            add_event(db, cs, "consult_cancelled", {"operator": operator_id}, now)
            db.commit()
            brand_id = cs.brand_id
        self.listeners.changed(brand_id, frozenset({session_id, operator_id, colleague}))

    def hand_over(self, session_id: str, operator_id: str) -> CareSession:
        """The warm transfer itself: the customer moves into a new room of the consulted colleague.
        Refused (409, nothing changed, the customer stays) while the colleague has not joined the
        consult, is not at the desk or has no free capacity."""
        now = self.clock.now()
        with self.state.held(), self.sessions() as db:
            cs = self._connected_to(db, session_id, operator_id)
            colleague_id = cs.consult_with
            if colleague_id is None or not cs.consult_accepted:
                raise Conflict("hand over after the colleague has joined the consult")
            colleague = db.get(OperatorAccount, colleague_id)
            target = self.state.operator(colleague_id)
            if colleague is None or colleague.disabled:
                raise Conflict("the colleague is no longer at the desk")
            if target is None:
                self.state.add_operator(routing_operator(colleague, now))
                target = self.state.operator(colleague_id)
            assert target is not None
            # decided before the commit, so a refusal changes nothing
            if target.presence in (Presence.AWAY, Presence.OFFLINE):
                raise Conflict(f"{colleague.name} is not at the desk")
            if target.active >= target.capacity:
                raise Conflict(f"{colleague.name} has no free capacity")
            room = self.state.room_of(session_id)
            if room is None or room.operator_id != operator_id:
                raise Conflict(f"session {session_id} is not in a room of yours")
            room_id = new_room_id()
            cs.operator_id = colleague_id
            cs.live_room_id = room_id
            cs.consult_with, cs.consult_accepted = None, False
            detail = {"from": operator_id, "to": colleague_id, "warm": True, "live_room": room_id}
            add_event(db, cs, "transferred", detail, now)
            add_event(
                db,
                cs,
                "connected",
                {"operator": colleague_id, "from": operator_id, "live_room": room_id},
                now,
            )
            db.commit()
            try:
                self.state.hand_over(session_id, operator_id, colleague_id, now, room_id)
            except RoutingError as exc:  # checked above under the same hold: not expected
                raise Conflict(str(exc)) from None
            closed = self.state.room(room.id) is None
            for account_id in (operator_id, colleague_id):
                op = self.state.operator(account_id)
                account = db.get(OperatorAccount, account_id)
                if op is not None and account is not None:
                    account.presence = op.presence.value
            db.commit()
            brand_id = cs.brand_id
        self.listeners.seat_freed(SeatFreed(room.id, session_id, closed, transferred=True))
        self.tick()
        self.listeners.changed(brand_id)
        return cs

    def messages(self, db: Session, session_id: str) -> list[ConsultMessage]:
        """The consult's messages about this session, oldest first."""
        rows = db.execute(
            select(SessionEvent.detail, SessionEvent.at)
            .where(SessionEvent.session_id == session_id, SessionEvent.kind == "consult_message")
            .order_by(SessionEvent.id)
        )
        return [
            ConsultMessage(str(d.get("from", "")), str(d.get("text", "")), at.isoformat()) for d, at in rows
        ]
