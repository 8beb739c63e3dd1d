"""The router's records made from the database's rows: an operator account as routing sees it, a
care session as a waiting customer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from rooms.clock import as_utc
from rooms.models import CareSession, OperatorAccount, RoomTemplate
from rooms.routing import Operator, Presence, Waiting


def routing_operator(account: OperatorAccount, now: datetime) -> Operator:
    return Operator(
        id=account.id,
        brand_id=account.brand_id,
        languages=frozenset(account.languages),
        skills=frozenset(account.skills),
        idle_since=now,
        presence=Presence(account.presence),
        capacity=account.capacity,
    )


def waiting_customer(db: Session, cs: CareSession) -> Waiting:
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
        return_to=cs.return_to,
        seats=template.max_customers if template else 1,
    )
