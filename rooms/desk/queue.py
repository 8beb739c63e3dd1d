"""The queue and its routing as the desk runs it: operators' presence, joining, leaving, offers,
accepting, declining, transfers and the end of a consultation.

Every change is committed to the database *before* the queue's state follows and before anyone is
told, so an acknowledged join, acceptance or end survives a restart (``rooms.desk.restore``). The
rules themselves (who is offered to whom, what a missed offer does) are ``rooms.routing``'s.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from rooms.clock import Clock, as_utc
from rooms.db import commit_first_wins
from rooms.desk.listeners import Listeners
from rooms.desk.queue_state import QueueState
from rooms.desk.records import WAITING_STATES, Closed, Customer, access_hash, add_event, set_state
from rooms.desk.retention import drop_unkept_chat
from rooms.desk.routing_rows import routing_operator, waiting_customer
from rooms.errors import Conflict, Forbidden, Invalid, NotFound
from rooms.join_tokens import LinkSpent, OneTimeId, spend_with
from rooms.models import CareSession, OperatorAccount, RoomTemplate
from rooms.routing import Presence, RoutingError
from rooms.seating import RoomInfo, SeatFreed, new_room_id
from rooms.templates import business_hours
from rooms.wait import WaitEstimator


class Queue:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        state: QueueState,
        estimator: WaitEstimator,
        listeners: Listeners,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.state = state
        self.estimator = estimator
        self.listeners = listeners
        #: whether this process routes now (the server may hand routing to one elected process)
        self.routes_here: Callable[[], bool] = lambda: True

    # -- operators ---------------------------------------------------------------------------
    def operator_changed(self, account: OperatorAccount) -> None:
        """A new or edited account: routing learns its languages, skills and capacity."""
        if account.role == "admin":  # administrators manage the brand; they take no customers
            return
        with self.state.held():
            old = self.state.operator(account.id)
            op = routing_operator(account, self.clock.now())
            if old is not None:
                op.presence, op.active, op.idle_since = old.presence, old.active, old.idle_since
                op.after_call = old.after_call
            self.state.add_operator(op)

    def remove_operator(self, operator_id: str) -> None:
        """A disabled or deleted account leaves the desk: offline, its offers go back to the queue, and
        routing forgets it (its connected consultations keep going until they end)."""
        if self.state.operator(operator_id) is None:
            return
        with self.state.held():
            self.set_presence(operator_id, Presence.OFFLINE)
            self.state.forget_operator(operator_id)

    def set_presence(self, operator_id: str, presence: Presence) -> None:
        now = self.clock.now()
        with self.state.held(), self.sessions() as db:
            account = db.get(OperatorAccount, operator_id)
            if account is None:
                raise NotFound(f"no operator {operator_id}")
            if account.role == "admin":
                raise Forbidden("administrators take no customers; sign in as an operator for that")
            if self.state.operator(operator_id) is None:
                self.state.add_operator(routing_operator(account, now))
            account.presence = presence.value
            db.commit()
            # Withdrawn offers go back to the queue.
            for offer in self.state.offers_to(operator_id):
                set_state(db, offer.session_id, "queued", "offer_withdrawn", {"operator": operator_id}, now)
            db.commit()
            self.state.set_presence(operator_id, presence, now)
            brand_id = account.brand_id
        self.tick()
        self.listeners.changed(brand_id)

    def presence(self, operator_id: str) -> Presence:
        op = self.state.operator(operator_id)
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
        with self.state.held(), self.sessions() as db:
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
            add_event(db, cs, "queued", {"template": template.id}, now)
            if not commit_first_wins(db):
                raise LinkSpent()
            self.state.enqueue(waiting_customer(db, cs))
        self.tick()
        self.listeners.changed(template.brand_id)
        return cs, token

    def abandon(self, session_id: str, reason: str = "customer left") -> None:
        now = self.clock.now()
        with self.state.held(), self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            if cs.state not in WAITING_STATES:
                raise Conflict(f"session {session_id} is {cs.state}, not waiting")
            cs.state = "abandoned"
            cs.ended_at = now
            add_event(db, cs, "abandoned", {"reason": reason}, now)
            db.commit()
            self.state.leave(session_id)
            brand_id = cs.brand_id
        self.tick()
        self.listeners.changed(brand_id)

    # -- offers ------------------------------------------------------------------------------
    def tick(self) -> list[str]:
        """Expire missed offers and make new ones; the ids of the sessions offered now. Nothing
        where another process is the router: it routes on its own tick, or when told of a change."""
        if not self.routes_here():
            return []
        now = self.clock.now()
        with self.state.held(), self.sessions() as db:
            missed = self.state.expire_offers(now)
            brands: set[int] = set()
            # A named colleague who declined, missed the offer or left the desk: the customer goes
            # back to the operator who transferred them, before anyone is offered anything.
            for back in self.state.send_back_refused():
                returned = db.get(CareSession, back.session_id)
                if returned is None:
                    continue
                add_event(
                    db,
                    returned,
                    "transfer_returned",
                    {"from": returned.only_operator, "to": back.only_operator},
                    now,
                )
                returned.only_operator = back.only_operator
                returned.return_to = None
                if returned.state == "offered":
                    returned.state = "transferred"
                brands.add(returned.brand_id)
            made = self.state.dispatch(now)
            for offer in missed:
                cs = set_state(
                    db, offer.session_id, "queued", "offer_expired", {"operator": offer.operator_id}, now
                )
                # The database follows what routing's missed-offer rule made of the operator.
                op = self.state.operator(offer.operator_id)
                account = db.get(OperatorAccount, offer.operator_id)
                if account is not None and op is not None:
                    account.presence = op.presence.value
                if cs is not None:
                    brands.add(cs.brand_id)
            for offer in made:
                cs = set_state(
                    db, offer.session_id, "offered", "offered", {"operator": offer.operator_id}, now
                )
                if cs is not None:
                    brands.add(cs.brand_id)
            db.commit()
        for brand_id in brands:
            self.listeners.changed(brand_id)
        return [o.session_id for o in made]

    def offers_for(self, operator_id: str) -> list[str]:
        return [o.session_id for o in self.state.offers_to(operator_id)]

    def accept(self, session_id: str, operator_id: str) -> CareSession:
        now = self.clock.now()
        with self.state.held(), self.sessions() as db:
            offer = self.state.offer(session_id)
            if offer is None or offer.operator_id != operator_id or offer.expires_at <= now:
                raise Conflict(f"session {session_id} is not offered to you (or the offer expired)")
            cs = db.get(CareSession, session_id)
            assert cs is not None
            # The room is decided before anything is committed (the offered seat, or a room of the
            # customer's own), and the state follows the commit; an operator whose offered room
            # closed and who has no capacity left is refused here, with nothing changed.
            seat = self.state.seat_for(offer)
            operator = self.state.operator(operator_id)
            assert operator is not None  # an offer is only made to an operator routing knows
            if seat is None and operator.active >= operator.capacity:
                raise Conflict("the room offered has closed and you have no free capacity")
            room_id = seat.id if seat is not None else new_room_id()
            previous = cs.operator_id
            cs.state = "connected"
            cs.operator_id = operator_id
            cs.only_operator = None
            cs.return_to = None
            cs.live_room_id = room_id
            if cs.connected_at is None:
                cs.connected_at = now
            detail = {
                "operator": operator_id,
                "from": previous,
                "live_room": room_id,
                "seat": len(seat.customers) + 1 if seat is not None else 1,
            }
            add_event(db, cs, "connected", detail, now)
            db.commit()
            self.state.accept(session_id, operator_id, now, new_room_id=room_id)
            self._presence_to_database(db, operator_id)
        self.tick()  # a seat or capacity left: the next customer is offered at once
        self.listeners.changed(cs.brand_id)
        return cs

    def decline(self, session_id: str, operator_id: str) -> None:
        now = self.clock.now()
        with self.state.held(), self.sessions() as db:
            try:
                self.state.decline(session_id, operator_id)
            except RoutingError as exc:
                raise Conflict(str(exc)) from None
            cs = set_state(db, session_id, "queued", "offer_declined", {"operator": operator_id}, now)
            db.commit()
        self.tick()
        if cs is not None:
            self.listeners.changed(cs.brand_id)

    # -- in a live room ----------------------------------------------------------------------
    def live_room(self, room_id: str) -> RoomInfo | None:
        """A running live room: its brand, template, operator and the sessions seated in it."""
        with self.state.held():
            room = self.state.room(room_id)
            if room is None:
                return None
            return RoomInfo(room.id, room.brand_id, room.template_id, room.operator_id, tuple(room.customers))

    @staticmethod
    def _connected(db: Session, session_id: str, operator_id: str) -> CareSession:
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
        to_template: str | None = None,
    ) -> None:
        """A cold transfer: the customer goes back to the front of the queue (keeping their original
        wait) for a named colleague, the skills named, or another room template of the brand (its
        skills, unless ``skills`` names others); their session, chat and cart stay theirs."""
        now = self.clock.now()
        if to_operator is None and skills is None and to_template is None:
            raise Invalid("a transfer names a colleague, the skills needed or a room template")
        if to_operator is not None and to_template is not None:
            raise Invalid("a transfer goes to a colleague or to a room template, not both")
        with self.state.held(), self.sessions() as db:
            cs = self._connected(db, session_id, operator_id)
            if to_operator is not None:
                target = db.get(OperatorAccount, to_operator)
                if target is None or target.brand_id != cs.brand_id or target.role == "admin":
                    raise NotFound(f"no operator {to_operator}")
                if to_operator == operator_id:
                    raise Invalid("a transfer goes to someone else")
                if self.state.operator(to_operator) is None:
                    self.state.add_operator(routing_operator(target, now))
            template: tuple[str, int] | None = None
            if to_template is not None:
                room_template = db.get(RoomTemplate, to_template)
                if room_template is None or room_template.brand_id != cs.brand_id:
                    raise NotFound(f"no room template {to_template}")
                if cs.language not in room_template.languages:
                    raise Invalid(
                        f"room template {to_template} does not speak the customer's language {cs.language!r}"
                    )
                template = (room_template.id, room_template.max_customers)
                if skills is None:
                    skills = list(room_template.skills)
            room = self.state.room_of(session_id)
            moved = self.state.transfer(
                waiting_customer(db, cs),
                operator_id,
                now,
                to_operator=to_operator,
                skills=frozenset(skills) if skills is not None else None,
                template=template,
            )
            cs.state = "transferred"
            cs.priority = moved.priority
            cs.skills = sorted(moved.skills)
            cs.template_id = moved.template_id
            cs.only_operator = to_operator
            cs.return_to = moved.return_to
            cs.live_room_id = None
            cs.consult_with, cs.consult_accepted = None, False
            detail = {"from": operator_id, "to": to_operator, "skills": skills, "template": to_template}
            add_event(db, cs, "transferred", detail, now)
            db.commit()
            closed = room is not None and self.state.room(room.id) is None
        if room is not None:
            self.listeners.seat_freed(SeatFreed(room.id, session_id, closed, transferred=True))
        self.tick()
        self.listeners.changed(cs.brand_id)

    def end(self, session_id: str, operator_id: str | None = None) -> CareSession:
        """The operator (or, with ``operator_id`` None, the customer) ends a connected session."""
        now = self.clock.now()
        freed: SeatFreed | None = None
        with self.state.held(), self.sessions() as db:
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
                add_event(db, cs, "abandoned", {"reason": "customer left"}, now)
                db.commit()
                self.state.leave(session_id)
            else:
                cs.state = "ended"
                cs.ended_at = now
                add_event(db, cs, "ended", {"by": "operator" if operator_id else "customer"}, now)
                cs.consult_with, cs.consult_accepted = None, False
                # After-call work: the room's time box, and a wrap-up code where the brand requires one.
                template = db.get(RoomTemplate, cs.template_id)
                box = template.after_call_s if template is not None else 0
                required = template is not None and template.wrap_up_required and bool(template.wrap_up_codes)
                if box > 0 or required:
                    cs.after_call_until = now + timedelta(seconds=box)
                    cs.wrap_up_required = required
                db.commit()
                assert cs.operator_id is not None and cs.connected_at is not None
                if self.state.is_seated(session_id):
                    room, closed = self.state.leave_seat(session_id, now)
                    freed = SeatFreed(room.id, session_id, closed)
                if cs.after_call_until is not None:
                    self.state.start_after_call(
                        cs.operator_id, session_id, as_utc(cs.after_call_until), cs.wrap_up_required
                    )
                self._presence_to_database(db, cs.operator_id)
                self.estimator.record_handle_time(
                    cs.template_id, (now - as_utc(cs.connected_at)).total_seconds()
                )
            drop_unkept_chat(db, cs)
        if freed is not None:
            self.listeners.seat_freed(freed)
        self.tick()
        self.listeners.changed(cs.brand_id)
        return cs

    def _presence_to_database(self, db: Session, operator_id: str) -> None:
        op = self.state.operator(operator_id)
        account = db.get(OperatorAccount, operator_id) if op is not None else None
        if op is not None and account is not None:
            account.presence = op.presence.value
            db.commit()

    def leave_queue(self, db: Session, cs: CareSession, reason: str, now: datetime) -> None:
        """A waiting customer leaves the queue for another way of being helped (a message, a
        callback): abandoned, committed with whatever ``db`` holds, then out of the queue's state.
        The caller holds the state."""
        cs.state = "abandoned"
        cs.ended_at = now
        add_event(db, cs, "abandoned", {"reason": reason}, now)
        db.commit()
        self.state.leave(cs.id)
