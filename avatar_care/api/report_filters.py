"""The query parameters the report routes share (tickets, survey answers, figures and their CSV
exports): ids of the brand's rooms and people, periods and pages, each refused with a 4xx and a
reason when it cannot name anything."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Final, Literal

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from avatar_care.api.brand_staff import CurrentBrandStaff
from avatar_care.api.deps import DeskDep, SessionDep
from avatar_care.api.input_policy import Instant
from rooms.errors import Invalid, NotFound
from rooms.figures import zone_named
from rooms.models import OperatorAccount
from rooms.paging import MAX_PAGE
from rooms.surveys import SurveyFilter
from rooms.templates import get_template
from rooms.tickets import TicketFilter

#: Ids are made by the server (hex); anything else names nothing and is refused before a query.
ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,32}$"
#: An offset past this many rows names nothing a brand has.
MAX_OFFSET: Final = 2**31 - 1

TemplateQuery = Annotated[str | None, Query(pattern=ID_PATTERN, description="a room template's id")]
OperatorQuery = Annotated[str | None, Query(pattern=ID_PATTERN, description="an operator's id")]
SinceQuery = Annotated[Instant | None, Query(description="from this instant (with its time zone)")]
UntilQuery = Annotated[Instant | None, Query(description="before this instant (with its time zone)")]


class Page:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="rows per page")] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows skipped")] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


PageDep = Annotated[Page, Depends()]


def check_room_and_operator(
    db: Session, brand_id: int, template_id: str | None, operator_id: str | None
) -> None:
    """A room or a person of another brand is as missing as one that does not exist (404)."""
    if template_id is not None:
        get_template(db, brand_id, template_id)
    if operator_id is not None:
        account = db.get(OperatorAccount, operator_id)
        if account is None or account.brand_id != brand_id:
            raise NotFound(f"no operator {operator_id}")


def check_period(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and until <= since:
        raise Invalid("until must be after since")


def ticket_filter(
    staff: CurrentBrandStaff,
    db: SessionDep,
    status: Literal["open", "answered", "closed"] | None = None,
    template_id: TemplateQuery = None,
    operator_id: OperatorQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
) -> TicketFilter:
    check_room_and_operator(db, staff.brand_id, template_id, operator_id)
    check_period(since, until)
    return TicketFilter(status, template_id, operator_id, since, until)


TicketFilterDep = Annotated[TicketFilter, Depends(ticket_filter)]


def survey_filter(
    staff: CurrentBrandStaff,
    db: SessionDep,
    template_id: TemplateQuery = None,
    operator_id: OperatorQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
    with_comment: Annotated[bool, Query(description="only answers with a comment")] = False,
) -> SurveyFilter:
    check_room_and_operator(db, staff.brand_id, template_id, operator_id)
    check_period(since, until)
    return SurveyFilter(template_id, operator_id, since, until, with_comment)


SurveyFilterDep = Annotated[SurveyFilter, Depends(survey_filter)]


class Period:
    """[since, until) of sessions created in it: the last 24 hours unless told; one room or all."""

    def __init__(
        self,
        staff: CurrentBrandStaff,
        db: SessionDep,
        desk: DeskDep,
        template_id: TemplateQuery = None,
        since: Annotated[Instant | None, Query(description="default: 24 hours ago")] = None,
        until: Annotated[Instant | None, Query(description="default: now")] = None,
    ) -> None:
        now = desk.clock.now()
        self.until = until or now + timedelta(seconds=1)
        self.since = since or now - timedelta(hours=24)
        check_period(self.since, self.until)
        check_room_and_operator(db, staff.brand_id, template_id, None)
        self.template_id = template_id


PeriodDep = Annotated[Period, Depends()]


class Days:
    """A range of whole days (both included) in a time zone: the last 7 days in UTC unless told."""

    def __init__(
        self,
        staff: CurrentBrandStaff,
        db: SessionDep,
        desk: DeskDep,
        template_id: TemplateQuery = None,
        first_day: Annotated[
            date | None, Query(description="YYYY-MM-DD; default: 6 days before last_day")
        ] = None,
        last_day: Annotated[date | None, Query(description="YYYY-MM-DD; default: today in the zone")] = None,
        zone: Annotated[str, Query(max_length=64, description="IANA time zone of the days")] = "UTC",
    ) -> None:
        self.zone = zone_named(zone)
        self.last_day = last_day or desk.clock.now().astimezone(self.zone).date()
        if first_day is None:
            try:
                first_day = self.last_day - timedelta(days=6)
            except OverflowError:
                raise Invalid("last_day is too early in the calendar") from None
        self.first_day = first_day
        check_room_and_operator(db, staff.brand_id, template_id, None)
        self.template_id = template_id


DaysDep = Annotated[Days, Depends()]
