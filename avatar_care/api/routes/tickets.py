"""Problem reports as tickets: the brand's administrators and supervisors list, filter, read,
answer and close them (``rooms.tickets``); answers and closes are in the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from avatar_care.api.brand_staff import CurrentBrandStaff
from avatar_care.api.deps import DeskDep, SessionDep
from avatar_care.api.input_policy import RowId
from avatar_care.api.report_filters import PageDep, TicketFilterDep
from rooms.tickets import MAX_ANSWER_CHARS, Ticket, answer_ticket, close_ticket, get_ticket, list_tickets

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


class TicketOut(BaseModel):
    id: int
    session_id: str
    template_id: str
    template_name: str
    operator_id: str | None
    operator_name: str | None
    customer_ref: str = Field(
        description="the customer as the brand's site knows them (the join token's sub)"
    )
    customer_name: str
    text: str = Field(description="the customer's report")
    reported_at: datetime
    status: Literal["open", "answered", "closed"]
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None


class TicketPage(BaseModel):
    total: int = Field(description="how many tickets match the filters")
    limit: int
    offset: int
    items: list[TicketOut] = Field(description="this page, newest first")


class AnswerIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)


def out(t: Ticket) -> TicketOut:
    return TicketOut.model_validate(t, from_attributes=True)


@router.get("", response_model=TicketPage)
def list_(staff: CurrentBrandStaff, db: SessionDep, filters: TicketFilterDep, page: PageDep) -> TicketPage:
    total, tickets = list_tickets(db, staff.brand_id, filters, page.limit, page.offset)
    return TicketPage(total=total, limit=page.limit, offset=page.offset, items=[out(t) for t in tickets])


@router.get("/{ticket_id}", response_model=TicketOut)
def read(ticket_id: RowId, staff: CurrentBrandStaff, db: SessionDep) -> TicketOut:
    return out(get_ticket(db, staff.brand_id, ticket_id))


@router.post("/{ticket_id}/answer", response_model=TicketOut)
def answer(
    ticket_id: RowId, body: AnswerIn, staff: CurrentBrandStaff, db: SessionDep, desk: DeskDep
) -> TicketOut:
    """The brand's answer (again while not closed: the newer one replaces it); the ticket is answered."""
    return out(answer_ticket(db, staff.brand_id, ticket_id, body.text, staff.actor, desk.clock.now()))


@router.post("/{ticket_id}/close", response_model=TicketOut)
def close(ticket_id: RowId, staff: CurrentBrandStaff, db: SessionDep, desk: DeskDep) -> TicketOut:
    """Closed, answered or not; a closed ticket is read-only (409 for anything more)."""
    return out(close_ticket(db, staff.brand_id, ticket_id, staff.actor, desk.clock.now()))
