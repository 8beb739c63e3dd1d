"""A customer's data rights: everything the brand holds about them as one JSON document, and its
erasure in one transaction. Found by one consultation (its session id) or by the brand's own id for
the customer (the join token's ``sub``, kept as ``customer_ref``).

What erasure does to each table is :data:`rooms.personal_data.PERSONAL`: chat, problem reports,
carts and message/callback requests are deleted; the consultation, its events and its survey
answer stay with their personal columns blanked, so the figures (times, outcome, rating) still
count it. The audit log says who asked and how many rows went, never what they held.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ColumnElement, Table, delete, func, literal, or_, select, update
from sqlalchemy.orm import Session

from rooms.audit import record
from rooms.db import Base
from rooms.errors import Conflict, Invalid, NotFound
from rooms.models import (
    Brand,
    CareSession,
    CartLine,
    CatalogueItem,
    ChatMessage,
    ContactRequest,
    ProblemReport,
    Recording,
    RoomTemplate,
    SessionEvent,
    SurveyAnswer,
)
from rooms.personal_data import PERSONAL
from rooms.recordings import RECORDING_FILES, paths_of

logger = logging.getLogger(__name__)

#: The export's format; a reader checks it before reading the rest.
EXPORT_FORMAT = "avatar-care/customer-data"
EXPORT_VERSION = 1
#: The brand's customer ids are what its site puts in the join token's ``sub`` (at most this long).
MAX_CUSTOMER_ID = 200
#: Customers who joined a room open to anonymous visitors all share this id: they are reached by
#: their consultation only, never all at once.
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Subject:
    """Whose data: one consultation of the brand, or every consultation and request of a customer."""

    brand_id: int
    session_id: str | None = None
    customer_id: str | None = None

    def describe(self) -> dict[str, str]:
        return {"session_id": self.session_id} if self.session_id else {"customer_id": self.customer_id or ""}


def by_session(db: Session, brand_id: int, session_id: str) -> Subject:
    """The brand's consultation; another brand's, or none, is 404 alike."""
    cs = db.get(CareSession, session_id)
    if cs is None or cs.brand_id != brand_id:
        raise NotFound(f"no session {session_id}")
    return Subject(brand_id, session_id=session_id)


def by_customer(brand_id: int, customer_id: str) -> Subject:
    if not customer_id or len(customer_id) > MAX_CUSTOMER_ID:
        raise Invalid(f"customer_id must be 1 to {MAX_CUSTOMER_ID} characters")
    if customer_id == ANONYMOUS:
        raise Invalid("anonymous visitors share one id: ask by their session id instead")
    return Subject(brand_id, customer_id=customer_id)


def _session_ids(db: Session, subject: Subject) -> list[str]:
    if subject.session_id is not None:
        return [subject.session_id]
    return list(
        db.scalars(
            select(CareSession.id)
            .where(CareSession.brand_id == subject.brand_id, CareSession.customer_ref == subject.customer_id)
            .order_by(CareSession.created_at, CareSession.id)
        )
    )


def _requests_where(subject: Subject, session_ids: Sequence[str]) -> ColumnElement[bool]:
    mine: ColumnElement[bool] = ContactRequest.session_id.in_(session_ids)
    if subject.customer_id is not None:
        mine = or_(mine, ContactRequest.customer_ref == subject.customer_id)
    return (ContactRequest.brand_id == subject.brand_id) & mine


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export(db: Session, subject: Subject, now: datetime) -> dict[str, Any]:
    """Everything held about the subject, as plain JSON values (versioned: :data:`EXPORT_VERSION`)."""
    brand = db.get(Brand, subject.brand_id)
    assert brand is not None
    ids = _session_ids(db, subject)
    sessions = []
    for sid in ids:
        cs = db.get(CareSession, sid)
        assert cs is not None
        template = db.get(RoomTemplate, cs.template_id)
        chat = db.scalars(select(ChatMessage).where(ChatMessage.session_id == sid).order_by(ChatMessage.id))
        events = db.scalars(
            select(SessionEvent).where(SessionEvent.session_id == sid).order_by(SessionEvent.id)
        )
        reports = db.scalars(
            select(ProblemReport).where(ProblemReport.session_id == sid).order_by(ProblemReport.id)
        )
        survey = db.get(SurveyAnswer, sid)
        recordings = db.scalars(
            select(Recording).where(Recording.session_id == sid).order_by(Recording.started_at, Recording.id)
        )
        cart = db.execute(
            select(CartLine.item_id, CatalogueItem.name, CatalogueItem.price, CartLine.quantity)
            .join(CatalogueItem, CatalogueItem.id == CartLine.item_id)
            .where(CartLine.session_id == sid)
            .order_by(CartLine.item_id)
        )
        sessions.append(
            {
                "session_id": cs.id,
                "room": {"id": cs.template_id, "name": template.name if template else None},
                "customer_id": cs.customer_ref,
                "customer_name": cs.customer_name,
                "language": cs.language,
                "topic": cs.topic,
                "context": cs.context,
                "state": cs.state,
                "operator_id": cs.operator_id,
                "created_at": _at(cs.created_at),
                "enqueued_at": _at(cs.enqueued_at),
                "connected_at": _at(cs.connected_at),
                "ended_at": _at(cs.ended_at),
                "erased_at": _at(cs.erased_at),
                "operator_notes": cs.notes,
                "chat": [{"sender": m.sender, "text": m.text, "at": _at(m.at)} for m in chat],
                "events": [{"kind": e.kind, "detail": e.detail, "at": _at(e.at)} for e in events],
                "survey": None
                if survey is None
                else {"csat": survey.csat, "comment": survey.comment, "at": _at(survey.at)},
                "problem_reports": [
                    {
                        "id": r.id,
                        "text": r.text,
                        "at": _at(r.at),
                        "status": r.status,
                        "answer": r.answer,
                        "answered_at": _at(r.answered_at),
                        "closed_at": _at(r.closed_at),
                    }
                    for r in reports
                ],
                "cart": [
                    {"item_id": item_id, "name": name, "price": price, "quantity": quantity}
                    for item_id, name, price, quantity in cart
                ],
                "recording_consent": cs.recording_consent,
                # the files themselves (voices, motion, chat) are fetched by id: /api/recordings/{id}
                "recordings": [
                    {
                        "id": r.id,
                        "started_at": _at(r.started_at),
                        "ended_at": _at(r.ended_at),
                        "duration_s": r.duration_s,
                        "size_bytes": r.size_bytes,
                        "files": list(RECORDING_FILES),
                    }
                    for r in recordings
                ],
            }
        )
    requests = db.scalars(
        select(ContactRequest).where(_requests_where(subject, ids)).order_by(ContactRequest.id)
    )
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": now.isoformat(),
        "brand": {"id": brand.id, "name": brand.name},
        "subject": subject.describe(),
        "sessions": sessions,
        "contact_requests": [
            {
                "id": r.id,
                "session_id": r.session_id,
                "kind": r.kind,
                "contact": r.contact,
                "text": r.text,
                "callback_at": _at(r.callback_at),
                "status": r.status,
                "created_at": _at(r.created_at),
            }
            for r in requests
        ],
    }


def _blank(table: Table, column: str) -> Any:
    """What an erased column holds afterwards."""
    col = table.c[column]
    if column == "access_hash":  # unique, and must never match a token again
        return literal("erased:") + table.c.id
    if isinstance(col.type, JSON):
        return {}
    if col.nullable:
        return None
    return ""


@dataclass(frozen=True)
class Erasure:
    session_ids: tuple[str, ...]
    #: rows deleted or blanked, per table
    rows: dict[str, int]
    #: the folders of the recordings whose rows went: the caller deletes them once committed
    #: (``rooms.recordings.delete_folders``; the hourly job deletes any left behind)
    recording_paths: tuple[str, ...] = ()


def _erase_rows(db: Session, subject: Subject, ids: Sequence[str], now: datetime) -> dict[str, int]:
    """Every table of the registry, within the caller's transaction."""
    rows: dict[str, int] = {}
    for name, entry in PERSONAL.items():
        table = Base.metadata.tables[name]
        if entry.reach == "session_row":
            where: ColumnElement[bool] = table.c.id.in_(ids)
        elif entry.reach == "session":
            where = table.c.session_id.in_(ids)
        else:
            where = _requests_where(subject, ids)
        if entry.erase == "delete":
            result = db.execute(delete(table).where(where))
        else:
            values = {column: _blank(table, column) for column in entry.erased}
            if name == "care_sessions":
                values["erased_at"] = func.coalesce(table.c.erased_at, now)  # the first erasure's
            result = db.execute(update(table).where(where).values(values))
        rows[name] = int(getattr(result, "rowcount", 0) or 0)
    return rows


def erase(db: Session, subject: Subject, actor: str, now: datetime) -> Erasure:
    """Erase the subject's personal data in one transaction, with the audit entry. Erasing again
    changes nothing more (and says so); a consultation still running is refused (409): end it first."""
    ids = _session_ids(db, subject)
    # every final state (ended, abandoned) sets ended_at: without it the consultation still runs
    running = db.scalars(
        select(CareSession.id).where(CareSession.id.in_(ids), CareSession.ended_at.is_(None))
    ).all()
    if running:
        raise Conflict(f"session {running[0]} is still running: end it before erasing")
    to_erase = db.scalars(
        select(CareSession.id).where(CareSession.id.in_(ids), CareSession.erased_at.is_(None))
    ).all()
    # only what is not erased yet: an erased consultation's link no longer works, so nothing new
    # can have been added to it, and erasing again then finds nothing (by customer, requests
    # left without a consultation are still found by the customer's id)
    paths = paths_of(db, to_erase)
    rows = _erase_rows(db, subject, to_erase, now)
    # counts and ids only: the audit log must not keep what was erased (nor the customer id itself)
    record(
        db,
        subject.brand_id,
        actor,
        "customer.erase",
        {"by": "session" if subject.session_id else "customer", "sessions": sorted(to_erase), "rows": rows},
    )
    db.commit()
    logger.info("erased %d sessions of brand %d for %s", len(to_erase), subject.brand_id, actor)
    return Erasure(tuple(sorted(to_erase)), rows, tuple(paths))


def erase_expired(db: Session, now: datetime) -> tuple[int, list[str]]:
    """Erase the ended consultations older than their template's ``retention_days`` (not yet
    erased), one transaction per template; how many were erased, and the folders of their
    recordings to delete now that their rows are gone."""
    erased = 0
    paths: list[str] = []
    for template in db.scalars(select(RoomTemplate).where(RoomTemplate.retention_days.is_not(None))).all():
        assert template.retention_days is not None
        ids = db.scalars(
            select(CareSession.id).where(
                CareSession.template_id == template.id,
                CareSession.ended_at.is_not(None),
                CareSession.ended_at <= now - timedelta(days=template.retention_days),
                CareSession.erased_at.is_(None),
            )
        ).all()
        if not ids:
            continue
        subject = Subject(template.brand_id)
        template_paths = paths_of(db, ids)
        rows = _erase_rows(db, subject, ids, now)
        record(
            db,
            template.brand_id,
            "retention",
            "customer.erase",
            {"by": "retention", "template": template.id, "days": template.retention_days, "rows": rows},
        )
        db.commit()
        erased += len(ids)
        paths += template_paths
    if erased:
        logger.info("retention: %d consultations erased", erased)
    return erased, paths
