"""Problem reports as tickets: the brand lists them, answers and closes them.

A customer's problem report (``ProblemReport``) is a ticket of the brand its session belongs to.
Its status goes **open → answered → closed**; an open ticket may also be closed unanswered, and an
answered one answered again (the newer answer replaces the older, both are in the audit log).
A closed ticket is read-only. Who answered and who closed are kept on the ticket as the audit log
names them, and each answer and close is written to the audit log in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from rooms.audit import record
from rooms.errors import Conflict, Invalid, NotFound
from rooms.models import CareSession, OperatorAccount, ProblemReport, RoomTemplate
from rooms.paging import check_page, count

logger = logging.getLogger(__name__)

#: the row, its session, the room's name and the operator's (None through the outer join)
_Query = Select[ProblemReport, CareSession, str, str]

STATUSES: Final = ("open", "answered", "closed")
#: The longest answer the brand may write (a letter, not a document).
MAX_ANSWER_CHARS: Final = 10_000
#: The most tickets one page lists.


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets: every field left None matches all. since/until bound the report's instant."""

    status: str | None = None
    template_id: str | None = None
    operator_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Ticket:
    id: int
    session_id: str
    template_id: str
    template_name: str
    operator_id: str | None
    operator_name: str | None
    customer_ref: str
    customer_name: str
    text: str
    reported_at: datetime
    status: str
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None


def _base(brand_id: int) -> _Query:
    return (
        select(ProblemReport, CareSession, RoomTemplate.name, OperatorAccount.name)
        .join(CareSession, ProblemReport.session_id == CareSession.id)
        .join(RoomTemplate, RoomTemplate.id == CareSession.template_id)
        .outerjoin(OperatorAccount, OperatorAccount.id == CareSession.operator_id)
        .where(CareSession.brand_id == brand_id)
    )


def _ticket(report: ProblemReport, cs: CareSession, template_name: str, operator_name: str | None) -> Ticket:
    return Ticket(
        id=report.id,
        session_id=cs.id,
        template_id=cs.template_id,
        template_name=template_name,
        operator_id=cs.operator_id,
        operator_name=operator_name,
        customer_ref=cs.customer_ref,
        customer_name=cs.customer_name,
        text=report.text,
        reported_at=report.at,
        status=report.status,
        answer=report.answer,
        answered_by=report.answered_by,
        answered_at=report.answered_at,
        closed_by=report.closed_by,
        closed_at=report.closed_at,
    )


def check_filter(f: TicketFilter) -> None:
    if f.status is not None and f.status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}")
    if f.since is not None and f.until is not None and f.until <= f.since:
        raise Invalid("until must be after since")


def _filtered(brand_id: int, f: TicketFilter) -> _Query:
    check_filter(f)
    query = _base(brand_id)
    if f.status is not None:
        query = query.where(ProblemReport.status == f.status)
    if f.template_id is not None:
        query = query.where(CareSession.template_id == f.template_id)
    if f.operator_id is not None:
        query = query.where(CareSession.operator_id == f.operator_id)
    if f.since is not None:
        query = query.where(ProblemReport.at >= f.since)
    if f.until is not None:
        query = query.where(ProblemReport.at < f.until)
    return query


def list_tickets(
    db: Session, brand_id: int, f: TicketFilter, limit: int = 50, offset: int = 0
) -> tuple[int, list[Ticket]]:
    """How many tickets match, and one page of them, newest first."""
    check_page(limit, offset)
    query = _filtered(brand_id, f)
    total = count(db, query)
    page = db.execute(
        query.order_by(ProblemReport.at.desc(), ProblemReport.id.desc()).limit(limit).offset(offset)
    )
    return total, [_ticket(a, b, c, d) for a, b, c, d in page]


def all_tickets(db: Session, brand_id: int, f: TicketFilter) -> list[Ticket]:
    """Every matching ticket, oldest first (for an export)."""
    query = _filtered(brand_id, f).order_by(ProblemReport.at, ProblemReport.id)
    return [_ticket(a, b, c, d) for a, b, c, d in db.execute(query)]


def _row(db: Session, brand_id: int, ticket_id: int) -> tuple[ProblemReport, CareSession, str, str | None]:
    row = db.execute(_base(brand_id).where(ProblemReport.id == ticket_id)).one_or_none()
    if row is None:  # another brand's ticket is as missing as none
        raise NotFound(f"no ticket {ticket_id}")
    report, cs, template_name, operator_name = row
    return report, cs, template_name, operator_name


def get_ticket(db: Session, brand_id: int, ticket_id: int) -> Ticket:
    return _ticket(*_row(db, brand_id, ticket_id))


def answer_ticket(db: Session, brand_id: int, ticket_id: int, text: str, actor: str, now: datetime) -> Ticket:
    """The brand's answer; the ticket becomes answered (refused once closed)."""
    text = text.strip()
    if not text:
        raise Invalid("the answer is empty")
    if len(text) > MAX_ANSWER_CHARS:
        raise Invalid(f"an answer holds at most {MAX_ANSWER_CHARS} characters")
    if "\x00" in text:
        raise Invalid("the answer holds a NUL character")
    report, cs, _, _ = _row(db, brand_id, ticket_id)
    values = {"answer": text, "answered_by": actor, "answered_at": now, "status": "answered"}
    _change_unless_closed(db, report, values, f"ticket {ticket_id} is closed")
    record(db, brand_id, actor, "ticket.answer", {"ticket": report.id, "session": cs.id})
    db.commit()
    logger.info("ticket %s of brand %s answered", report.id, brand_id)
    return get_ticket(db, brand_id, ticket_id)


def close_ticket(db: Session, brand_id: int, ticket_id: int, actor: str, now: datetime) -> Ticket:
    report, cs, _, _ = _row(db, brand_id, ticket_id)
    answered = report.status == "answered"
    values = {"status": "closed", "closed_by": actor, "closed_at": now}
    _change_unless_closed(db, report, values, f"ticket {ticket_id} is already closed")
    record(db, brand_id, actor, "ticket.close", {"ticket": report.id, "session": cs.id, "answered": answered})
    db.commit()
    logger.info("ticket %s of brand %s closed", report.id, brand_id)
    return get_ticket(db, brand_id, ticket_id)


def _change_unless_closed(
    db: Session, report: ProblemReport, values: dict[str, object], refusal: str
) -> None:
    """One conditional UPDATE: of two requests at once on one ticket, a close and anything after it
    cannot both pass (a read-then-write would let both see the ticket still open)."""
    for column in ("answered_by", "closed_by"):
        actor = values.get(column)
        if isinstance(actor, str) and len(actor) > 200:
            values[column] = actor[:200]
    done = db.execute(
        update(ProblemReport)
        .where(ProblemReport.id == report.id, ProblemReport.status != "closed")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        db.rollback()
        raise Conflict(refusal)
    db.expire(report)
