"""The care desk: customers' sessions from the queue to the survey, with the router kept in step.

Every change is committed to the database *before* the in-memory router is updated and before
anyone is told (so an acknowledged chat message, queued customer, callback or survey survives a
restart), and ``load`` rebuilds the router from the database when the server starts: waiting
customers keep their place (their original enqueue time and priority), open offers go back to the
queue, connected sessions still count against their operator's capacity and sit in their live
rooms again (``rooms.seating``).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from rooms.clock import Clock, as_utc
from rooms.db import commit_first_wins
from rooms.errors import Conflict, Forbidden, Invalid, NotFound
from rooms.group_commit import GroupCommit
from rooms.join_tokens import LinkSpent, OneTimeId, spend_with
from rooms.models import (
    CareSession,
    ChatMessage,
    ContactRequest,
    OperatorAccount,
    ProblemReport,
    RoomTemplate,
    SessionEvent,
    SurveyAnswer,
)
from rooms.routing import Operator, Presence, Router, RoutingError, Waiting
from rooms.seating import RoomInfo, SeatedRoom, SeatFreed, new_room_id
from rooms.templates import business_hours
from rooms.wait import WaitEstimator

logger = logging.getLogger(__name__)

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


class Closed(Conflict):
    """The template is outside its business hours; ``next_open`` says when it opens again."""

    def __init__(self, next_open: datetime | None) -> None:
        when = next_open.isoformat() if next_open else "not within the next two weeks"
        super().__init__(f"the room is closed now; it opens again {when}")
        self.next_open = next_open


class CareDesk:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        accept_timeout: timedelta = timedelta(seconds=20),
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.router = Router(accept_timeout)
        self.estimator = WaitEstimator()
        #: called with a brand id after anything in that brand's queue or sessions changed, and the ids
        #: (sessions, operators) the change is about, or None when it may concern anyone in the brand
        self.listeners: list[Callable[[int, frozenset[str] | None], None]] = []
        #: called after a customer left a live room (ended, transferred): the live side lets them go
        self.seat_listeners: list[Callable[[SeatFreed], None]] = []
        # Routes run in a thread pool and the ticker on the event loop: one lock keeps the router whole.
        self._lock = threading.RLock()
        self._chat_writes = GroupCommit(self._write_chat)
        self.load()

    # -- start-up ----------------------------------------------------------------------------
    def load(self) -> None:
        """Rebuild the router from the database (at start-up, after a restart)."""
        now = self.clock.now()
        with self._lock, self.sessions() as db:
            self.router = Router(self.router.accept_timeout)
            for account in db.scalars(select(OperatorAccount)):
                # Nobody is at the desk until their console connects again.
                account.presence = Presence.OFFLINE.value
                if not account.disabled and account.role != "admin":
                    self.router.add_operator(self._router_operator(account, now))
            for cs in db.scalars(select(CareSession).where(CareSession.state.in_(WAITING_STATES))):
                if cs.state == "offered":
                    cs.state = "queued"
                    self._event(db, cs, "offer_withdrawn", {"reason": "server restart"}, now)
                self.router.enqueue(self._waiting(db, cs))
            connected = db.scalars(
                select(CareSession).where(CareSession.state == "connected").order_by(CareSession.connected_at)
            )
            for cs in connected:
                if cs.operator_id is None:
                    continue
                if cs.live_room_id is None:  # connected before sessions had live rooms
                    cs.live_room_id = new_room_id()
                template = db.get(RoomTemplate, cs.template_id)
                room = SeatedRoom(
                    id=cs.live_room_id,
                    operator_id=cs.operator_id,
                    brand_id=cs.brand_id,
                    template_id=cs.template_id,
                    seats=template.max_customers if template else 1,
                    opened_at=as_utc(cs.connected_at or now),
                )
                self.router.restore_seat(cs.id, room)
            ended = db.scalars(
                select(CareSession)
                .where(CareSession.state == "ended", CareSession.connected_at.is_not(None))
                .order_by(CareSession.ended_at)
            )
            for cs in ended:
                assert cs.connected_at is not None and cs.ended_at is not None
                self.estimator.record_handle_time(
                    cs.template_id, (as_utc(cs.ended_at) - as_utc(cs.connected_at)).total_seconds()
                )
            db.commit()
        logger.info("care desk loaded: %d waiting", len(self.router.waiting))

    @staticmethod
    def _router_operator(account: OperatorAccount, now: datetime) -> Operator:
        return Operator(
            id=account.id,
            brand_id=account.brand_id,
            languages=frozenset(account.languages),
            skills=frozenset(account.skills),
            idle_since=now,
            presence=Presence(account.presence),
            capacity=account.capacity,
        )

    @staticmethod
    def _waiting(db: Session, cs: CareSession) -> Waiting:
        template = db.get(RoomTemplate, cs.template_id)
        return Waiting(
            session_id=cs.id,
            brand_id=cs.brand_id,
            template_id=cs.template_id,
            language=cs.language,
            skills=frozenset(cs.skills),
            enqueued_at=as_utc(cs.enqueued_at),
            priority=cs.priority,
            only_operator=cs.only_operator,
            seats=template.max_customers if template else 1,
        )

    def _event(self, db: Session, cs: CareSession, kind: str, detail: dict[str, Any], now: datetime) -> None:
        db.add(SessionEvent(session_id=cs.id, kind=kind, detail=detail, at=now))

    def _seat_freed(self, event: SeatFreed) -> None:
        for listener in list(self.seat_listeners):
            try:
                listener(event)
            except Exception:  # the session has ended whatever the live side does about it
                logger.exception("seat listener failed")

    def live_room(self, room_id: str) -> RoomInfo | None:
        """A running live room: its brand, template, operator and the sessions seated in it."""
        with self._lock:
            room = self.router.rooms.get(room_id)
            if room is None:
                return None
            return RoomInfo(room.id, room.brand_id, room.template_id, room.operator_id, tuple(room.customers))

    def listening_granted(self, supervisor_id: str, session_ids: tuple[str, ...]) -> bool:
        """Whether the supervisor asked to listen to one of these sessions (the recorded grant)."""
        with self.sessions() as db:
            events = db.scalars(
                select(SessionEvent).where(
                    SessionEvent.session_id.in_(session_ids), SessionEvent.kind == "supervisor_listening"
                )
            )
            return any(e.detail.get("supervisor") == supervisor_id for e in events)

    def _notify(self, brand_id: int, about: frozenset[str] | None = None) -> None:
        for listener in list(self.listeners):
            try:
                listener(brand_id, about)
            except Exception:  # a broken listener must not undo a committed change
                logger.exception("queue listener failed")

    # -- operators ---------------------------------------------------------------------------
    def operator_changed(self, account: OperatorAccount) -> None:
        """A new or edited account: the router learns its languages, skills and capacity."""
        if account.role == "admin":  # administrators manage the brand; they take no customers
            return
        with self._lock:
            old = self.router.operators.get(account.id)
            op = self._router_operator(account, self.clock.now())
            if old is not None:
                op.presence, op.active, op.idle_since = old.presence, old.active, old.idle_since
            self.router.add_operator(op)

    def remove_operator(self, operator_id: str) -> None:
        """A disabled or deleted account leaves the desk: offline, its offers go back to the queue, and
        routing forgets it (its connected consultations keep going until they end)."""
        if operator_id not in self.router.operators:
            return
        with self._lock:
            self.set_presence(operator_id, Presence.OFFLINE)
            self.router.operators.pop(operator_id, None)

    def set_presence(self, operator_id: str, presence: Presence) -> None:
        now = self.clock.now()
        with self._lock, self.sessions() as db:
            account = db.get(OperatorAccount, operator_id)
            if account is None:
                raise NotFound(f"no operator {operator_id}")
            if account.role == "admin":
                raise Forbidden("administrators take no customers; sign in as an operator for that")
            if operator_id not in self.router.operators:
                self.router.add_operator(self._router_operator(account, now))
            account.presence = presence.value
            db.commit()
            # Withdrawn offers go back to the queue.
            for offer in [o for o in self.router.offers.values() if o.operator_id == operator_id]:
                self._set_state(
                    db, offer.session_id, "queued", "offer_withdrawn", {"operator": operator_id}, now
                )
            db.commit()
            self.router.set_presence(operator_id, presence, now)
            brand_id = account.brand_id
        self.tick()
        self._notify(brand_id)

    def presence(self, operator_id: str) -> Presence:
        op = self.router.operators.get(operator_id)
        return op.presence if op else Presence.OFFLINE

    # -- joining and waiting ---------------------------------------------------------------
    def join(
        self, template: RoomTemplate, customer: Customer, one_time: OneTimeId | None = None
    ) -> tuple[CareSession, str]:
        """A new session in the queue and the customer's access token (returned once, stored hashed).

        ``one_time``: the join link's id, spent in the same transaction as the session is made, so
        a crash leaves both or neither (never a spent link with a session nobody holds); a link
        spent already raises :class:`LinkSpent` and nothing is made."""
        now = self.clock.now()
        if customer.language not in template.languages:
            raise Invalid(
                f"this room speaks {', '.join(template.languages)}; {customer.language!r} is not among them"
            )
        hours = business_hours(template)
        if hours is not None and not hours.is_open(now):
            raise Closed(hours.next_open(now))
        token = secrets.token_urlsafe(32)
        with self._lock, self.sessions() as db:
            if one_time is not None:
                spend_with(db, one_time, now)
            cs = CareSession(
                id=secrets.token_hex(12),
                brand_id=template.brand_id,
                template_id=template.id,
                customer_ref=customer.ref,
                customer_name=customer.name,
                language=customer.language,
                topic=customer.topic,
                context=customer.context,
                skills=list(template.skills),
                priority=customer.priority,
                state="queued",
                access_hash=access_hash(token),
                created_at=now,
                enqueued_at=now,
            )
            db.add(cs)
            self._event(db, cs, "queued", {"template": template.id}, now)
            if not commit_first_wins(db):
                raise LinkSpent()
            self.router.enqueue(self._waiting(db, cs))
        self.tick()
        self._notify(template.brand_id)
        return cs, token

    def session_for_access(self, token: str) -> CareSession | None:
        with self.sessions() as db:
            return db.scalar(select(CareSession).where(CareSession.access_hash == access_hash(token)))

    def get_session(self, db: Session, brand_id: int, session_id: str) -> CareSession:
        cs = db.get(CareSession, session_id)
        if cs is None or cs.brand_id != brand_id:
            raise NotFound(f"no session {session_id}")
        return cs

    @staticmethod
    def _operator_name(db: Session, cs: CareSession) -> str | None:
        account = db.get(OperatorAccount, cs.operator_id) if cs.operator_id else None
        return account.name if account else None

    def status(self, session_id: str) -> WaitStatus:
        now = self.clock.now()
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            if cs.state not in WAITING_STATES:
                # Connected or over: the router has nothing to say, so the desk's lock is not taken
                # (pages ask this after every chat message; they queued on the lock behind each other).
                return WaitStatus(cs.id, cs.state, None, None, False, self._operator_name(db, cs))
        with self._lock, self.sessions() as db:
            cs = db.get(CareSession, session_id)
            assert cs is not None
            template = db.get(RoomTemplate, cs.template_id)
            assert template is not None
            operator_name = self._operator_name(db, cs)
            if cs.state not in WAITING_STATES:
                return WaitStatus(cs.id, cs.state, None, None, False, operator_name)
            position = self.router.position(cs.id)
            waiting = self.router._waiting(cs.id)
            at_work = [
                op
                for op in self.router.eligible(waiting)
                if op.presence in (Presence.AVAILABLE, Presence.BUSY)
            ]
            estimate = self.estimator.estimate_s(cs.template_id, position, sum(op.capacity for op in at_work))
            waited = (now - as_utc(cs.enqueued_at)).total_seconds()
            hours = business_hours(template)
            closed = hours is not None and not hours.is_open(now)
            long_wait = estimate is None or waited >= template.max_wait_s or estimate > template.max_wait_s
            return WaitStatus(cs.id, cs.state, position, estimate, long_wait or closed, operator_name)

    def abandon(self, session_id: str, reason: str = "customer left") -> None:
        now = self.clock.now()
        with self._lock, self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            if cs.state not in WAITING_STATES:
                raise Conflict(f"session {session_id} is {cs.state}, not waiting")
            cs.state = "abandoned"
            cs.ended_at = now
            self._event(db, cs, "abandoned", {"reason": reason}, now)
            db.commit()
            self.router.leave(session_id)
            brand_id = cs.brand_id
        self.tick()
        self._notify(brand_id)

    def contact_request(
        self,
        template: RoomTemplate,
        kind: str,
        contact: str,
        text: str,
        callback_at: datetime | None,
        session_id: str | None = None,
    ) -> ContactRequest:
        """A message or a callback request, committed before it is acknowledged; leaving the queue too."""
        now = self.clock.now()
        if kind not in ("message", "callback"):
            raise Invalid("kind must be message or callback")
        if not contact.strip():
            raise Invalid("say how to reach you (an e-mail address or a phone number)")
        if kind == "callback":
            if callback_at is None:
                raise Invalid("a callback needs a time")
            if callback_at.tzinfo is None:
                raise Invalid("the callback time needs a time zone")
            if callback_at <= now:
                raise Invalid("the callback time is in the past")
        elif not text.strip():
            raise Invalid("the message is empty")
        with self._lock, self.sessions() as db:
            request = ContactRequest(
                brand_id=template.brand_id,
                template_id=template.id,
                session_id=session_id,
                kind=kind,
                contact=contact.strip(),
                text=text,
                callback_at=callback_at,
                created_at=now,
            )
            db.add(request)
            left_queue = False
            if session_id is not None:
                cs = db.get(CareSession, session_id)
                if cs is not None and cs.state in WAITING_STATES:
                    cs.state = "abandoned"
                    cs.ended_at = now
                    self._event(db, cs, "abandoned", {"reason": f"left a {kind}"}, now)
                    left_queue = True
            db.commit()
            if left_queue:
                self.router.leave(session_id)  # type: ignore[arg-type]
        self._notify(template.brand_id)
        return request

    def contact_requests(self, brand_id: int, status: str = "open") -> list[ContactRequest]:
        with self.sessions() as db:
            return list(
                db.scalars(
                    select(ContactRequest)
                    .where(ContactRequest.brand_id == brand_id, ContactRequest.status == status)
                    .order_by(
                        ContactRequest.callback_at.is_(None), ContactRequest.callback_at, ContactRequest.id
                    )
                )
            )

    def close_contact_request(self, brand_id: int, request_id: int) -> None:
        with self.sessions() as db:
            request = db.get(ContactRequest, request_id)
            if request is None or request.brand_id != brand_id:
                raise NotFound(f"no contact request {request_id}")
            request.status = "done"
            db.commit()
        self._notify(brand_id)

    # -- offers ------------------------------------------------------------------------------
    def _set_state(
        self, db: Session, session_id: str, state: str, kind: str, detail: dict[str, Any], now: datetime
    ) -> CareSession | None:
        cs = db.get(CareSession, session_id)
        if cs is not None:
            cs.state = state
            self._event(db, cs, kind, detail, now)
        return cs

    def tick(self) -> list[str]:
        """Expire missed offers and make new ones; the ids of the sessions offered now."""
        now = self.clock.now()
        with self._lock, self.sessions() as db:
            expired = [o for o in self.router.offers.values() if o.expires_at <= now]
            before = {o.session_id for o in self.router.offers.values() if o.expires_at > now}
            made = self.router.dispatch(now)
            brands: set[int] = set()
            for offer in expired:
                cs = self._set_state(
                    db, offer.session_id, "queued", "offer_expired", {"operator": offer.operator_id}, now
                )
                account = db.get(OperatorAccount, offer.operator_id)
                if account is not None and offer.room_id is None:  # a missed seat is not "away"
                    account.presence = Presence.AWAY.value
                if cs is not None:
                    brands.add(cs.brand_id)
            for offer in made:
                if offer.session_id in before:
                    continue
                cs = self._set_state(
                    db, offer.session_id, "offered", "offered", {"operator": offer.operator_id}, now
                )
                if cs is not None:
                    brands.add(cs.brand_id)
            db.commit()
        for brand_id in brands:
            self._notify(brand_id)
        return [o.session_id for o in made]

    def offers_for(self, operator_id: str) -> list[str]:
        return [o.session_id for o in self.router.offers.values() if o.operator_id == operator_id]

    def accept(self, session_id: str, operator_id: str) -> CareSession:
        now = self.clock.now()
        with self._lock, self.sessions() as db:
            try:
                offer = self.router.offers.get(session_id)
                if offer is None or offer.operator_id != operator_id or offer.expires_at <= now:
                    raise RoutingError(f"session {session_id} is not offered to you (or the offer expired)")
            except RoutingError as exc:
                raise Conflict(str(exc)) from None
            cs = db.get(CareSession, session_id)
            assert cs is not None
            # The room is decided before anything is committed (the offered seat, or a room of the
            # customer's own), and the router follows the commit; an operator whose offered room
            # closed and who has no capacity left is refused here, with nothing changed.
            seat = self.router.seat_for(offer)
            operator = self.router.operators[operator_id]
            if seat is None and operator.active >= operator.capacity:
                raise Conflict("the room offered has closed and you have no free capacity")
            room_id = seat.id if seat is not None else new_room_id()
            previous = cs.operator_id
            cs.state = "connected"
            cs.operator_id = operator_id
            cs.only_operator = None
            cs.live_room_id = room_id
            if cs.connected_at is None:
                cs.connected_at = now
            detail = {
                "operator": operator_id,
                "from": previous,
                "live_room": room_id,
                "seat": len(seat.customers) + 1 if seat is not None else 1,
            }
            self._event(db, cs, "connected", detail, now)
            db.commit()
            self.router.accept(session_id, operator_id, now, new_room_id=room_id)
            account = db.get(OperatorAccount, operator_id)
            if account is not None:
                account.presence = self.router.operators[operator_id].presence.value
                db.commit()
        self.tick()  # a seat or capacity left: the next customer is offered at once
        self._notify(cs.brand_id)
        return cs

    def decline(self, session_id: str, operator_id: str) -> None:
        now = self.clock.now()
        with self._lock, self.sessions() as db:
            try:
                self.router.decline(session_id, operator_id)
            except RoutingError as exc:
                raise Conflict(str(exc)) from None
            cs = self._set_state(db, session_id, "queued", "offer_declined", {"operator": operator_id}, now)
            db.commit()
        self.tick()
        if cs is not None:
            self._notify(cs.brand_id)

    def _connected(self, db: Session, session_id: str, operator_id: str) -> CareSession:
        cs = db.get(CareSession, session_id)
        if cs is None:
            raise NotFound(f"no session {session_id}")
        if cs.state != "connected":
            raise Conflict(f"session {session_id} is {cs.state}, not connected")
        if cs.operator_id != operator_id:
            raise Forbidden(f"session {session_id} is another operator's")
        return cs

    def transfer(
        self,
        session_id: str,
        operator_id: str,
        *,
        to_operator: str | None = None,
        skills: list[str] | None = None,
    ) -> None:
        now = self.clock.now()
        if to_operator is None and skills is None:
            raise Invalid("a transfer names a colleague or the skills needed")
        with self._lock, self.sessions() as db:
            cs = self._connected(db, session_id, operator_id)
            if to_operator is not None:
                target = db.get(OperatorAccount, to_operator)
                if target is None or target.brand_id != cs.brand_id:
                    raise NotFound(f"no operator {to_operator}")
                if to_operator == operator_id:
                    raise Invalid("a transfer goes to someone else")
            waiting = self._waiting(db, cs)
            room = self.router.room_of(session_id)
            moved = self.router.transfer(
                waiting,
                operator_id,
                now,
                to_operator=to_operator,
                skills=frozenset(skills) if skills is not None else None,
            )
            cs.state = "transferred"
            cs.priority = moved.priority
            cs.skills = sorted(moved.skills)
            cs.only_operator = to_operator
            cs.live_room_id = None
            self._event(
                db, cs, "transferred", {"from": operator_id, "to": to_operator, "skills": skills}, now
            )
            db.commit()
        if room is not None:
            closed = room.id not in self.router.rooms
            self._seat_freed(SeatFreed(room.id, session_id, closed, transferred=True))
        self.tick()
        self._notify(cs.brand_id)

    def end(self, session_id: str, operator_id: str | None = None) -> CareSession:
        """The operator (or, with ``operator_id`` None, the customer) ends a connected session."""
        now = self.clock.now()
        freed: SeatFreed | None = None
        with self._lock, self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            if cs.state in WAITING_STATES and operator_id is None:
                pass
            elif operator_id is not None:
                self._connected(db, session_id, operator_id)
            elif cs.state != "connected":
                raise Conflict(f"session {session_id} is already {cs.state}")
            if cs.state in WAITING_STATES:
                cs.state = "abandoned"
                cs.ended_at = now
                self._event(db, cs, "abandoned", {"reason": "customer left"}, now)
                db.commit()
                self.router.leave(session_id)
            else:
                cs.state = "ended"
                cs.ended_at = now
                self._event(db, cs, "ended", {"by": "operator" if operator_id else "customer"}, now)
                db.commit()
                assert cs.operator_id is not None and cs.connected_at is not None
                if session_id in self.router.seat_of:
                    room, closed = self.router.leave_seat(session_id, now)
                    freed = SeatFreed(room.id, session_id, closed)
                if cs.operator_id in self.router.operators:
                    account = db.get(OperatorAccount, cs.operator_id)
                    if account is not None:
                        account.presence = self.router.operators[cs.operator_id].presence.value
                        db.commit()
                self.estimator.record_handle_time(
                    cs.template_id, (now - as_utc(cs.connected_at)).total_seconds()
                )
            template = db.get(RoomTemplate, cs.template_id)
            if template is not None and not template.keep_transcripts:
                db.execute(delete(ChatMessage).where(ChatMessage.session_id == cs.id))
                db.commit()
        if freed is not None:
            self._seat_freed(freed)
        self.tick()
        self._notify(cs.brand_id)
        return cs

    # -- in the session ----------------------------------------------------------------------
    def chat(self, session_id: str, sender: str, text: str) -> ChatMessage:
        text = text.strip()
        if not text:
            raise Invalid("the message is empty")
        if len(text) > 4000:
            raise Invalid("a message holds at most 4000 characters")
        # Messages sent at once share a commit (rooms.group_commit): chat is the busiest write.
        message, brand_id, operator_id = self._chat_writes.submit(
            ChatMessage(session_id=session_id, sender=sender, text=text, at=self.clock.now())
        )
        # a message concerns its session's customer and operator only: waking every page of the brand
        # for it made the work of one message grow with the number of pages open
        self._notify(brand_id, frozenset(filter(None, (session_id, operator_id))))
        return message

    def _write_chat(
        self, messages: Sequence[ChatMessage]
    ) -> list[tuple[ChatMessage, int, str | None] | Exception]:
        """One transaction for a batch of messages; each is refused alone if its session is not
        connected (the others are kept)."""
        outcomes: list[tuple[ChatMessage, int, str | None] | Exception] = []
        with self.sessions() as db:
            ids = {m.session_id for m in messages}
            found = {cs.id: cs for cs in db.scalars(select(CareSession).where(CareSession.id.in_(ids)))}
            for message in messages:
                cs = found.get(message.session_id)
                if cs is None:
                    outcomes.append(NotFound(f"no session {message.session_id}"))
                elif cs.state != "connected":
                    outcomes.append(Conflict(f"session {cs.id} is {cs.state}: chat is open while connected"))
                else:
                    db.add(message)
                    outcomes.append((message, cs.brand_id, cs.operator_id))
            db.commit()
        return outcomes

    def transcript(self, session_id: str) -> list[ChatMessage]:
        with self.sessions() as db:
            return list(
                db.scalars(
                    select(ChatMessage).where(ChatMessage.session_id == session_id).order_by(ChatMessage.id)
                )
            )

    def events(self, session_id: str) -> list[SessionEvent]:
        with self.sessions() as db:
            return list(
                db.scalars(
                    select(SessionEvent)
                    .where(SessionEvent.session_id == session_id)
                    .order_by(SessionEvent.id)
                )
            )

    def set_notes(self, session_id: str, operator_id: str, notes: str) -> None:
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None or cs.operator_id != operator_id:
                raise NotFound(f"no session {session_id} of yours")
            cs.notes = notes
            db.commit()

    def report_problem(self, session_id: str, text: str) -> ProblemReport:
        if not text.strip():
            raise Invalid("describe the problem")
        with self.sessions() as db:
            report = ProblemReport(session_id=session_id, text=text.strip(), at=self.clock.now())
            db.add(report)
            db.commit()
            return report

    def survey(self, session_id: str, csat: int, comment: str) -> SurveyAnswer:
        if not 1 <= csat <= 5:
            raise Invalid("the rating goes from 1 to 5")
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            if cs.state != "ended":
                raise Conflict("the survey opens when the consultation has ended")
            if db.get(SurveyAnswer, session_id) is not None:
                raise Conflict("this consultation has already been rated")
            answer = SurveyAnswer(
                session_id=session_id, csat=csat, comment=comment.strip(), at=self.clock.now()
            )
            db.add(answer)
            if not commit_first_wins(db):  # sent twice at once: the first one counts
                raise Conflict("this consultation has already been rated")
        self._notify(cs.brand_id)
        return answer

    # -- what operators see ------------------------------------------------------------------
    def queue(self, brand_id: int) -> list[dict[str, Any]]:
        """The brand's waiting customers in serving order, with who holds an offer."""
        with self._lock, self.sessions() as db:
            rows = []
            for w in self.router._order():
                if w.brand_id != brand_id:
                    continue
                cs = db.get(CareSession, w.session_id)
                if cs is None:
                    continue
                offer = self.router.offers.get(w.session_id)
                rows.append(
                    {
                        "session_id": cs.id,
                        "template_id": cs.template_id,
                        "state": cs.state,
                        "customer_name": cs.customer_name,
                        "language": cs.language,
                        "topic": cs.topic,
                        "context": cs.context,
                        "position": self.router.position(cs.id),
                        "enqueued_at": as_utc(cs.enqueued_at).isoformat(),
                        "offered_to": offer.operator_id if offer else None,
                        "offer_expires_at": offer.expires_at.isoformat() if offer else None,
                    }
                )
            return rows

    def record_event(self, session_id: str, kind: str, detail: dict[str, Any]) -> None:
        """An event inside a session (a product shown, the cart changed), and tell who watches."""
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            self._event(db, cs, kind, detail, self.clock.now())
            db.commit()
        self._notify(cs.brand_id)

    def session_brand(self, session_id: str) -> int:
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            return cs.brand_id

    def has_survey(self, session_id: str) -> bool:
        with self.sessions() as db:
            return db.get(SurveyAnswer, session_id) is not None

    def purge_transcripts(self) -> int:
        """Delete chat the templates say not to keep: at once after the end where transcripts are
        not kept, after ``transcript_days`` otherwise. Events, notes and surveys stay (figures need them)."""
        now = self.clock.now()
        removed = 0
        with self.sessions() as db:
            for template in db.scalars(select(RoomTemplate)):
                keep = timedelta(days=template.transcript_days) if template.keep_transcripts else timedelta(0)
                done = db.scalars(
                    select(CareSession.id).where(
                        CareSession.template_id == template.id,
                        CareSession.state.in_(FINAL_STATES),
                        CareSession.ended_at.is_not(None),
                        CareSession.ended_at <= now - keep,
                    )
                ).all()
                if done:
                    result = db.execute(delete(ChatMessage).where(ChatMessage.session_id.in_(done)))
                    removed += int(getattr(result, "rowcount", 0) or 0)
            db.commit()
        if removed:
            logger.info("retention: %d chat messages deleted", removed)
        return removed
