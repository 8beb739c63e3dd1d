"""Who serves whom: the fair queue and the routing of waiting customers to operators.

The rules (docs/customer-care.md):
- a customer can only be offered to an operator of the same brand who speaks the customer's
  language, has every skill the room template requires, is available and has room (capacity);
- waiting customers are served by priority, then first come first served;
- among the operators who could take a customer, the one idle the longest gets the offer;
- an offer has an accept timeout; a missed offer goes to the next operator, and the operator who
  missed it is set away (an operator who does not answer is probably not at the desk), and a
  declined offer is not offered to the same operator again;
- a transfer puts the customer back at the front of the queue (keeping their original wait), for
  a named colleague, a skill or another room template; a named colleague who declines, misses the
  offer or is not at the desk sends the customer back to the operator who transferred them;
- a warm hand-over moves a connected customer straight into a new room of the consulted colleague;
- after a consultation ends its operator is in after-call work (``Operator.after_call``): offered
  nobody until the template's time box runs out and any required wrap-up code is given;
- an accepted customer opens a room (one unit of the operator's capacity); where the template seats
  more than one customer, the next waiting customer of that template is first offered a free seat
  in a running room of an operator who could serve them (``rooms.seating``).
Time is passed in (``now``), so the rules are tested without waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from rooms.seating import SeatedRoom, new_room_id

logger = logging.getLogger(__name__)


class Presence(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    AWAY = "away"
    OFFLINE = "offline"


class RoutingError(ValueError):
    """An action that the queue's state does not allow; the message says why."""


@dataclass
class Operator:
    id: str
    brand_id: int
    languages: frozenset[str]
    skills: frozenset[str]
    idle_since: datetime
    presence: Presence = Presence.OFFLINE
    capacity: int = 1
    #: running rooms (a shared room is one, however many customers sit in it)
    active: int = 0
    #: after-call work: ended session id -> (end of its time box, wrap-up code required). The
    #: operator is offered nobody while an entry requires a code or its time box has not run out.
    after_call: dict[str, tuple[datetime, bool]] = field(default_factory=dict)

    def in_after_call(self, now: datetime) -> bool:
        return any(required or now < until for until, required in self.after_call.values())


@dataclass
class Waiting:
    """A customer in the queue."""

    session_id: str
    brand_id: int
    template_id: str
    language: str
    skills: frozenset[str]
    enqueued_at: datetime
    priority: int = 0
    #: For a transfer to a named colleague: only this operator may take it.
    only_operator: str | None = None
    declined_by: set[str] = field(default_factory=set)
    #: the template's max_customers: the seats of a room this customer opens
    seats: int = 1
    #: a transfer to a named colleague: the operator who made it, who gets the customer back if
    #: the colleague declines, misses the offer or is not at the desk
    return_to: str | None = None


@dataclass(frozen=True)
class Offer:
    session_id: str
    operator_id: str
    offered_at: datetime
    expires_at: datetime
    #: a free seat in this running room; None: the customer would open a room of their own
    room_id: str | None = None


class Router:
    """The queue's rules over its state in memory. Its public methods are the API the desk uses
    (``rooms.desk.queue_state.QueueState``); the desk reads and changes nothing else of it."""

    def __init__(
        self,
        accept_timeout: timedelta = timedelta(seconds=20),
        room_ids: Callable[[], str] = new_room_id,
    ) -> None:
        self.accept_timeout = accept_timeout
        self.operators: dict[str, Operator] = {}
        self.waiting: list[Waiting] = []
        self.offers: dict[str, Offer] = {}
        self.rooms: dict[str, SeatedRoom] = {}
        self.seat_of: dict[str, str] = {}  # session id -> room id
        self._room_ids = room_ids

    # -- operators ---------------------------------------------------------------------------
    def add_operator(self, operator: Operator) -> None:
        self.operators[operator.id] = operator

    def set_presence(self, operator_id: str, presence: Presence, now: datetime) -> None:
        op = self._operator(operator_id)
        if presence is Presence.AVAILABLE and op.presence is not Presence.AVAILABLE and op.active == 0:
            op.idle_since = now
        op.presence = presence
        if presence in (Presence.AWAY, Presence.OFFLINE):
            for offer in self.offers_to(operator_id):
                del self.offers[offer.session_id]  # goes to someone else at the next dispatch

    def operator(self, operator_id: str) -> Operator | None:
        """The operator routing knows by this id, or None."""
        return self.operators.get(operator_id)

    def forget_operator(self, operator_id: str) -> None:
        """Routing forgets the operator (a disabled or deleted account); call after setting it offline."""
        self.operators.pop(operator_id, None)

    def _operator(self, operator_id: str) -> Operator:
        try:
            return self.operators[operator_id]
        except KeyError:
            raise RoutingError(f"no operator {operator_id}") from None

    # -- the queue ---------------------------------------------------------------------------
    def enqueue(self, customer: Waiting) -> None:
        if any(w.session_id == customer.session_id for w in self.waiting):
            raise RoutingError(f"session {customer.session_id} is already waiting")
        self.waiting.append(customer)

    def leave(self, session_id: str) -> Waiting:
        """The customer gave up (abandoned) or left a message instead."""
        customer = self.customer(session_id)
        self.waiting.remove(customer)
        self.offers.pop(session_id, None)
        return customer

    def customer(self, session_id: str) -> Waiting:
        """The waiting customer of this session (RoutingError when it is not waiting)."""
        for w in self.waiting:
            if w.session_id == session_id:
                return w
        raise RoutingError(f"session {session_id} is not waiting")

    def in_order(self) -> list[Waiting]:
        """Every waiting customer in serving order: priority first, then first come first served."""
        return sorted(self.waiting, key=lambda w: (-w.priority, w.enqueued_at))

    def position(self, session_id: str) -> int:
        """1 for the next to be served, among customers of the same room template."""
        customer = self.customer(session_id)
        same = [w for w in self.in_order() if w.template_id == customer.template_id]
        return same.index(customer) + 1

    def eligible(self, customer: Waiting) -> list[Operator]:
        """Operators who could ever take this customer (whatever they are doing now)."""
        return _eligible_among(self.operators.values(), customer)

    def _by_brand_and_language(self) -> dict[tuple[int, str], list[Operator]]:
        """The operators of each brand and language, in the order ``operators`` holds them."""
        index: dict[tuple[int, str], list[Operator]] = {}
        for op in self.operators.values():
            for language in op.languages:
                index.setdefault((op.brand_id, language), []).append(op)
        return index

    # -- offers ------------------------------------------------------------------------------
    def offer(self, session_id: str) -> Offer | None:
        """The open offer of this waiting customer, if any."""
        return self.offers.get(session_id)

    def offers_to(self, operator_id: str) -> list[Offer]:
        """The open offers made to this operator."""
        return [o for o in self.offers.values() if o.operator_id == operator_id]

    def expire_offers(self, now: datetime) -> list[Offer]:
        """Withdraw the offers nobody answered in time; the missed offers.

        The one place of the missed-offer rule: the customer is not offered to that operator again,
        and the operator is set away (one who does not answer is probably not at the desk) unless
        the offer was a seat in a room they already run (they are talking there: busy, not away)."""
        missed = [o for o in self.offers.values() if o.expires_at <= now]
        for offer in missed:
            del self.offers[offer.session_id]
            self.customer(offer.session_id).declined_by.add(offer.operator_id)
            op = self.operators.get(offer.operator_id)
            if op is not None and offer.room_id is None:
                op.presence = Presence.AWAY
                logger.info("operator %s missed an offer: set away", op.id)
        return missed

    def dispatch(self, now: datetime) -> list[Offer]:
        """Expire missed offers, then offer waiting customers to free operators. New offers."""
        self.expire_offers(now)
        self._end_lapsed_after_call(now)
        busy_with_offer = {o.operator_id for o in self.offers.values()}
        # once per dispatch, not per customer and operator: most operators have no after-call work
        in_after_call = {op.id for op in self.operators.values() if op.after_call and op.in_after_call(now)}
        # Offers seat nobody, so the rooms with free seats stay the same for the whole dispatch.
        open_rooms: dict[str, list[SeatedRoom]] = {}
        for room in sorted(self.rooms.values(), key=lambda room: room.opened_at):
            if room.free_seats > 0:
                open_rooms.setdefault(room.template_id, []).append(room)
        # Every customer was checked against every operator once (2,000 waiting x 400 operators:
        # 34-85 ms a tick); the index narrows each check to the operators of the customer's brand
        # and language, and customers like one who found nobody are skipped: within one dispatch
        # operators only become busier, so whom nobody could take now, nobody can later either.
        by_brand_language = self._by_brand_and_language()
        nobody: set[tuple[int, str, str, frozenset[str], str | None]] = set()
        made = []
        for customer in self.in_order():
            if customer.session_id in self.offers:
                continue
            kind = (
                customer.brand_id,
                customer.language,
                customer.template_id,
                customer.skills,
                customer.only_operator,
            )
            if kind in nobody:
                continue
            eligible = [
                op
                for op in _eligible_among(
                    by_brand_language.get((customer.brand_id, customer.language), ()), customer
                )
                if op.id not in busy_with_offer
                and op.id not in in_after_call
                and op.id not in customer.declined_by
            ]
            if not eligible:
                if not customer.declined_by:  # they saw every operator of their kind
                    nobody.add(kind)
                continue
            seat = self._free_seat(eligible, open_rooms.get(customer.template_id, []))
            if seat is not None:
                chosen, room_id = self.operators[seat.operator_id], seat.id
            else:
                free = [
                    op for op in eligible if op.presence is Presence.AVAILABLE and op.active < op.capacity
                ]
                if not free:
                    if not customer.declined_by:
                        nobody.add(kind)
                    continue
                chosen, room_id = min(free, key=lambda op: op.idle_since), None  # the longest idle
            offer = Offer(customer.session_id, chosen.id, now, now + self.accept_timeout, room_id)
            self.offers[customer.session_id] = offer
            busy_with_offer.add(chosen.id)
            made.append(offer)
        return made

    @staticmethod
    def _free_seat(eligible: list[Operator], open_rooms: list[SeatedRoom]) -> SeatedRoom | None:
        """The running room of this template with a free seat, opened first, of an operator who is
        at work: available, or busy because every room they may run is running (an operator with
        spare capacity who is busy set it by hand, and wants nobody new)."""
        at_work = {
            op.id
            for op in eligible
            if op.presence is Presence.AVAILABLE
            or (op.presence is Presence.BUSY and op.active >= op.capacity)
        }
        # open_rooms is in the order the rooms opened: the first of an operator at work
        return next((room for room in open_rooms if room.operator_id in at_work), None)

    def accept(
        self, session_id: str, operator_id: str, now: datetime, new_room_id: str | None = None
    ) -> Waiting:
        """The operator takes the offer: the customer sits in the offered room, or opens one
        (``new_room_id``, or a fresh id); ``seat_for`` tells beforehand which."""
        offer = self.offers.get(session_id)
        if offer is None or offer.operator_id != operator_id:
            raise RoutingError(f"session {session_id} is not offered to operator {operator_id}")
        if offer.expires_at <= now:
            raise RoutingError(f"the offer of session {session_id} expired at {offer.expires_at.isoformat()}")
        op = self._operator(operator_id)
        room = self.seat_for(offer)
        if room is None and op.active >= op.capacity:
            # the offered room closed meanwhile and every room the operator may run is running
            raise RoutingError(
                f"operator {operator_id} has no free seat or capacity for session {session_id}"
            )
        del self.offers[session_id]
        customer = self.customer(session_id)
        self.waiting.remove(customer)
        if room is None:
            room = SeatedRoom(
                id=new_room_id or self._room_ids(),
                operator_id=operator_id,
                brand_id=customer.brand_id,
                template_id=customer.template_id,
                seats=customer.seats,
                opened_at=now,
            )
            self.rooms[room.id] = room
            op.active += 1
            if op.active >= op.capacity:
                op.presence = Presence.BUSY
        room.customers.append(session_id)
        self.seat_of[session_id] = room.id
        return customer

    def seat_for(self, offer: Offer) -> SeatedRoom | None:
        """The running room the offer's customer sits in when accepted; None: a room of their own."""
        room = self.rooms.get(offer.room_id) if offer.room_id else None
        if room is None or room.operator_id != offer.operator_id or room.free_seats <= 0:
            return None
        return room

    def room(self, room_id: str) -> SeatedRoom | None:
        """A running room by its id, or None."""
        return self.rooms.get(room_id)

    def is_seated(self, session_id: str) -> bool:
        """Whether this session sits in a running room."""
        return session_id in self.seat_of

    def room_of(self, session_id: str) -> SeatedRoom | None:
        room_id = self.seat_of.get(session_id)
        return self.rooms.get(room_id) if room_id else None

    def restore_seat(self, session_id: str, room: SeatedRoom) -> None:
        """After a restart: a connected session back in its room (the room counted once)."""
        known = self.rooms.get(room.id)
        if known is None:
            known = self.rooms[room.id] = room
            op = self.operators.get(room.operator_id)
            if op is not None:
                op.active += 1
        if session_id not in known.customers:
            known.customers.append(session_id)
        self.seat_of[session_id] = known.id

    def leave_seat(self, session_id: str, now: datetime) -> tuple[SeatedRoom, bool]:
        """A connected customer leaves their room (ended, transferred); True when it closed."""
        room_id = self.seat_of.pop(session_id, None)
        room = self.rooms.get(room_id) if room_id else None
        if room is None:
            raise RoutingError(f"session {session_id} sits in no room")
        room.customers.remove(session_id)
        if room.customers:
            return room, False
        del self.rooms[room.id]
        if room.operator_id in self.operators:
            self.finish(room.operator_id, now)
        return room, True

    def decline(self, session_id: str, operator_id: str) -> None:
        offer = self.offers.get(session_id)
        if offer is None or offer.operator_id != operator_id:
            raise RoutingError(f"session {session_id} is not offered to operator {operator_id}")
        del self.offers[session_id]
        self.customer(session_id).declined_by.add(operator_id)

    def finish(self, operator_id: str, now: datetime) -> None:
        """One of the operator's rooms closed (its last customer ended or was transferred away)."""
        op = self._operator(operator_id)
        if op.active == 0:
            raise RoutingError(f"operator {operator_id} has no session to end")
        op.active -= 1
        if op.presence is Presence.BUSY:
            op.presence = Presence.AVAILABLE
        if op.active == 0:
            op.idle_since = now

    def transfer(
        self,
        customer: Waiting,
        from_operator: str,
        now: datetime,
        *,
        to_operator: str | None = None,
        skills: frozenset[str] | None = None,
        template: tuple[str, int] | None = None,
    ) -> Waiting:
        """Hand a connected customer on: back in the queue at the front, for a colleague, a skill or
        another room template (``template``: its id and seats), keeping their original wait."""
        if to_operator is not None:
            target = self._operator(to_operator)
            if target.brand_id != customer.brand_id:
                raise RoutingError(f"operator {to_operator} works for another brand")
        room = self.room_of(customer.session_id)
        if room is None or room.operator_id != from_operator:
            raise RoutingError(f"session {customer.session_id} is not in a room of operator {from_operator}")
        self.leave_seat(customer.session_id, now)
        template_id, seats = template if template is not None else (customer.template_id, customer.seats)
        moved = Waiting(
            session_id=customer.session_id,
            brand_id=customer.brand_id,
            template_id=template_id,
            language=customer.language,
            skills=skills if skills is not None else customer.skills,
            enqueued_at=customer.enqueued_at,
            priority=max([w.priority for w in self.waiting] + [customer.priority]) + 1,
            only_operator=to_operator,
            declined_by={from_operator},
            seats=seats,
            return_to=from_operator if to_operator is not None else None,
        )
        self.enqueue(moved)
        return moved

    def send_back_refused(self) -> list[Waiting]:
        """Customers transferred to a named colleague who declined, missed the offer or is not at the
        desk (away, offline, unknown): back to the operator who transferred them, still at the front;
        where that one was already tried (or there is none), to anyone who may serve them, so nobody
        waits for good for one person. The customers changed."""
        changed = []
        for customer in self.waiting:
            only = customer.only_operator
            if only is None:
                continue
            target = self.operators.get(only)
            absent = (
                target is None
                or target.presence in (Presence.AWAY, Presence.OFFLINE)
                or customer.language not in target.languages  # could never take them
            )
            if not absent and only not in customer.declined_by:
                continue
            if customer.session_id in self.offers and not absent:
                continue
            self.offers.pop(customer.session_id, None)
            back = customer.return_to
            if back is not None and back != only:
                customer.only_operator = back
                customer.declined_by.discard(back)
            else:
                customer.only_operator = None
            customer.return_to = None
            changed.append(customer)
        return changed

    def hand_over(
        self, session_id: str, from_operator: str, to_operator: str, now: datetime, new_room_id: str
    ) -> SeatedRoom:
        """A warm transfer: the connected customer leaves the operator's room for a new room of the
        colleague they consulted, without going through the queue. Refused (nothing changed) when the
        colleague is not at the desk or has no free capacity."""
        target = self._operator(to_operator)
        room = self.room_of(session_id)
        if room is None or room.operator_id != from_operator:
            raise RoutingError(f"session {session_id} is not in a room of operator {from_operator}")
        if target.brand_id != room.brand_id:
            raise RoutingError(f"operator {to_operator} works for another brand")
        if target.presence in (Presence.AWAY, Presence.OFFLINE):
            raise RoutingError(f"operator {to_operator} is not at the desk")
        if target.active >= target.capacity:
            raise RoutingError(f"operator {to_operator} has no free capacity")
        self.leave_seat(session_id, now)
        moved = SeatedRoom(
            id=new_room_id,
            operator_id=to_operator,
            brand_id=room.brand_id,
            template_id=room.template_id,
            seats=room.seats,
            opened_at=now,
            customers=[session_id],
        )
        self.rooms[moved.id] = moved
        self.seat_of[session_id] = moved.id
        target.active += 1
        if target.active >= target.capacity:
            target.presence = Presence.BUSY
        return moved

    # -- after-call work ---------------------------------------------------------------------
    def start_after_call(self, operator_id: str, session_id: str, until: datetime, required: bool) -> None:
        """The operator's consultation ended: offered nobody until ``until`` and, where ``required``,
        until its wrap-up code is given (:meth:`wrap_up`)."""
        op = self.operators.get(operator_id)
        if op is not None:
            op.after_call[session_id] = (until, required)

    def wrap_up(self, operator_id: str, session_id: str) -> None:
        """The wrap-up of that consultation is done: its after-call work ends now."""
        op = self.operators.get(operator_id)
        if op is not None:
            op.after_call.pop(session_id, None)

    def _end_lapsed_after_call(self, now: datetime) -> None:
        for op in self.operators.values():
            for session_id, (until, required) in list(op.after_call.items()):
                if not required and until <= now:
                    del op.after_call[session_id]


def _eligible_among(operators: Iterable[Operator], customer: Waiting) -> list[Operator]:
    """Those of ``operators`` who could ever take this customer (whatever they are doing now)."""
    return [
        op
        for op in operators
        if op.brand_id == customer.brand_id
        and customer.language in op.languages
        # a colleague named in a transfer was chosen by a person: their skills are not asked
        and (
            customer.skills <= op.skills
            if customer.only_operator is None
            else op.id == customer.only_operator
        )
    ]
