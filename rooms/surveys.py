"""The brand's survey answers: each rating with its comment and the consultation it rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from rooms.errors import Invalid
from rooms.models import CareSession, OperatorAccount, RoomTemplate, SurveyAnswer
from rooms.paging import check_page, count

#: the row, its session, the room's name and the operator's (None through the outer join)
_Query = Select[SurveyAnswer, CareSession, str, str]


@dataclass(frozen=True)
class SurveyFilter:
    """Which answers: None matches all; since/until bound when the answer was given."""

    template_id: str | None = None
    operator_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: only answers with a comment (most ratings come without one)
    with_comment: bool = False


@dataclass(frozen=True)
class SurveyRow:
    session_id: str
    template_id: str
    template_name: str
    operator_id: str | None
    operator_name: str | None
    customer_name: str
    csat: int
    comment: str
    answered_at: datetime


def _filtered(brand_id: int, f: SurveyFilter) -> _Query:
    if f.since is not None and f.until is not None and f.until <= f.since:
        raise Invalid("until must be after since")
    query = (
        select(SurveyAnswer, CareSession, RoomTemplate.name, OperatorAccount.name)
        .join(CareSession, SurveyAnswer.session_id == CareSession.id)
        .join(RoomTemplate, RoomTemplate.id == CareSession.template_id)
        .outerjoin(OperatorAccount, OperatorAccount.id == CareSession.operator_id)
        .where(CareSession.brand_id == brand_id)
    )
    if f.template_id is not None:
        query = query.where(CareSession.template_id == f.template_id)
    if f.operator_id is not None:
        query = query.where(CareSession.operator_id == f.operator_id)
    if f.since is not None:
        query = query.where(SurveyAnswer.at >= f.since)
    if f.until is not None:
        query = query.where(SurveyAnswer.at < f.until)
    if f.with_comment:
        query = query.where(SurveyAnswer.comment != "")
    return query


def _row(answer: SurveyAnswer, cs: CareSession, template_name: str, operator_name: str | None) -> SurveyRow:
    return SurveyRow(
        session_id=cs.id,
        template_id=cs.template_id,
        template_name=template_name,
        operator_id=cs.operator_id,
        operator_name=operator_name,
        customer_name=cs.customer_name,
        csat=answer.csat,
        comment=answer.comment,
        answered_at=answer.at,
    )


def list_answers(
    db: Session, brand_id: int, f: SurveyFilter, limit: int = 50, offset: int = 0
) -> tuple[int, list[SurveyRow]]:
    """How many answers match, and one page of them, newest first."""
    check_page(limit, offset)
    query = _filtered(brand_id, f)
    total = count(db, query)
    page = db.execute(
        query.order_by(SurveyAnswer.at.desc(), SurveyAnswer.session_id).limit(limit).offset(offset)
    )
    return total, [_row(a, b, c, d) for a, b, c, d in page]


def all_answers(db: Session, brand_id: int, f: SurveyFilter) -> list[SurveyRow]:
    """Every matching answer, oldest first (for an export)."""
    query = _filtered(brand_id, f).order_by(SurveyAnswer.at, SurveyAnswer.session_id)
    return [_row(a, b, c, d) for a, b, c, d in db.execute(query)]
