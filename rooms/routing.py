"""Who serves whom: the fair queue and the routing of waiting customers to operators.

The rules (docs/customer-care.md):
- a customer can only be offered to an operator of the same brand who speaks the customer's
  language, has every skill the room template requires, is available and has room (capacity);
- waiting customers are served by priority, then first come first served;
- among the operators who could take a customer, the one idle the longest gets the offer;
- an offer has an accept timeout; a missed offer goes to the next operator, and the operator who
  missed it is set away (an operator who does not answer is probably not at the desk), and a
  declined offer is not offered to the same operator again;
- a transfer puts the customer back at the front of the queue, for another operator or skill.
Time is passed in (``now``), so the rules are tested without waiting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

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
    active: int = 0


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


@dataclass(frozen=True)
class Offer:
    session_id: str
    operator_id: str
    offered_at: datetime
    expires_at: datetime


class Router:
    def __init__(self, accept_timeout: timedelta = timedelta(seconds=20)) -> None:
        self.accept_timeout = accept_timeout
        self.operators: dict[str, Operator] = {}
        self.waiting: list[Waiting] = []
        self.offers: dict[str, Offer] = {}

    # -- operators ---------------------------------------------------------------------------
    def add_operator(self, operator: Operator) -> None:
        self.operators[operator.id] = operator

    def set_presence(self, operator_id: str, presence: Presence, now: datetime) -> None:
        op = self._operator(operator_id)
        if presence is Presence.AVAILABLE and op.presence is not Presence.AVAILABLE and op.active == 0:
            op.idle_since = now
        op.presence = presence
        if presence in (Presence.AWAY, Presence.OFFLINE):
            for offer in [o for o in self.offers.values() if o.operator_id == operator_id]:
                del self.offers[offer.session_id]  # goes to someone else at the next dispatch

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
        customer = self._waiting(session_id)
        self.waiting.remove(customer)
        self.offers.pop(session_id, None)
        return customer

    def _waiting(self, session_id: str) -> Waiting:
        for w in self.waiting:
            if w.session_id == session_id:
                return w
        raise RoutingError(f"session {session_id} is not waiting")

    def _order(self) -> list[Waiting]:
        return sorted(self.waiting, key=lambda w: (-w.priority, w.enqueued_at))

    def position(self, session_id: str) -> int:
        """1 for the next to be served, among customers of the same room template."""
        customer = self._waiting(session_id)
        same = [w for w in self._order() if w.template_id == customer.template_id]
        return same.index(customer) + 1

    def eligible(self, customer: Waiting) -> list[Operator]:
        """Operators who could ever take this customer (whatever they are doing now)."""
        return [
            op
            for op in self.operators.values()
            if op.brand_id == customer.brand_id
            and customer.language in op.languages
            and customer.skills <= op.skills
            and (customer.only_operator is None or op.id == customer.only_operator)
        ]

    # -- offers ------------------------------------------------------------------------------
    def dispatch(self, now: datetime) -> list[Offer]:
        """Expire missed offers, then offer waiting customers to free operators. New offers."""
        for offer in [o for o in self.offers.values() if o.expires_at <= now]:
            del self.offers[offer.session_id]
            self._waiting(offer.session_id).declined_by.add(offer.operator_id)
            op = self.operators.get(offer.operator_id)
            if op is not None:
                op.presence = Presence.AWAY
                logger.info("operator %s missed an offer: set away", op.id)
        busy_with_offer = {o.operator_id for o in self.offers.values()}
        made = []
        for customer in self._order():
            if customer.session_id in self.offers:
                continue
            free = [
                op
                for op in self.eligible(customer)
                if op.presence is Presence.AVAILABLE
                and op.active < op.capacity
                and op.id not in busy_with_offer
                and op.id not in customer.declined_by
            ]
            if not free:
                continue
            chosen = min(free, key=lambda op: op.idle_since)  # the longest idle
            offer = Offer(customer.session_id, chosen.id, now, now + self.accept_timeout)
            self.offers[customer.session_id] = offer
            busy_with_offer.add(chosen.id)
            made.append(offer)
        return made

    def accept(self, session_id: str, operator_id: str, now: datetime) -> Waiting:
        offer = self.offers.get(session_id)
        if offer is None or offer.operator_id != operator_id:
            raise RoutingError(f"session {session_id} is not offered to operator {operator_id}")
        if offer.expires_at <= now:
            raise RoutingError(f"the offer of session {session_id} expired at {offer.expires_at.isoformat()}")
        del self.offers[session_id]
        customer = self._waiting(session_id)
        self.waiting.remove(customer)
        op = self._operator(operator_id)
        op.active += 1
        if op.active >= op.capacity:
            op.presence = Presence.BUSY
        return customer

    def decline(self, session_id: str, operator_id: str) -> None:
        offer = self.offers.get(session_id)
        if offer is None or offer.operator_id != operator_id:
            raise RoutingError(f"session {session_id} is not offered to operator {operator_id}")
        del self.offers[session_id]
        self._waiting(session_id).declined_by.add(operator_id)

    def finish(self, operator_id: str, now: datetime) -> None:
        """The operator's session ended (or was transferred away)."""
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
    ) -> Waiting:
        """Hand a connected customer on: back in the queue at the front, for a colleague or a skill."""
        if to_operator is not None:
            target = self._operator(to_operator)
            if target.brand_id != customer.brand_id:
                raise RoutingError(f"operator {to_operator} works for another brand")
        self.finish(from_operator, now)
        moved = Waiting(
            session_id=customer.session_id,
            brand_id=customer.brand_id,
            template_id=customer.template_id,
            language=customer.language,
            skills=skills if skills is not None else customer.skills,
            enqueued_at=customer.enqueued_at,
            priority=max([w.priority for w in self.waiting] + [customer.priority]) + 1,
            only_operator=to_operator,
            declined_by={from_operator},
        )
        self.enqueue(moved)
        return moved
