"""CSV exports of tickets, survey answers and figures (``rooms.csv_export``: RFC 4180 quoting, and
text that a spreadsheet could take for a formula prefixed with a single quote)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from avatar_care.api.brand_staff import CurrentBrandStaff
from avatar_care.api.deps import DeskDep, SessionDep
from avatar_care.api.report_filters import DaysDep, PeriodDep, SurveyFilterDep, TicketFilterDep
from rooms.csv_export import daily_csv, operators_csv, surveys_csv, tickets_csv
from rooms.figures import daily_figures, operator_figures
from rooms.surveys import all_answers
from rooms.tickets import all_tickets

router = APIRouter(prefix="/api/exports", tags=["exports"])

_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "a CSV file (UTF-8 with a byte order mark)"}
}


def _file(text: str, name: str, day: date) -> Response:
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{day.isoformat()}.csv"'},
    )


@router.get("/tickets.csv", response_class=Response, responses=_CSV)
def tickets(staff: CurrentBrandStaff, db: SessionDep, desk: DeskDep, filters: TicketFilterDep) -> Response:
    """Every ticket the filters match (the list's filters, no paging), oldest first."""
    return _file(tickets_csv(all_tickets(db, staff.brand_id, filters)), "tickets", desk.clock.now().date())


@router.get("/surveys.csv", response_class=Response, responses=_CSV)
def surveys(staff: CurrentBrandStaff, db: SessionDep, desk: DeskDep, filters: SurveyFilterDep) -> Response:
    """Every survey answer the filters match, oldest first."""
    return _file(surveys_csv(all_answers(db, staff.brand_id, filters)), "surveys", desk.clock.now().date())


@router.get("/figures-daily.csv", response_class=Response, responses=_CSV)
def figures_daily(staff: CurrentBrandStaff, db: SessionDep, desk: DeskDep, days: DaysDep) -> Response:
    rows = daily_figures(db, staff.brand_id, days.first_day, days.last_day, days.zone, days.template_id)
    return _file(daily_csv(rows), "figures-daily", desk.clock.now().date())


@router.get("/figures-operators.csv", response_class=Response, responses=_CSV)
def figures_operators(staff: CurrentBrandStaff, db: SessionDep, desk: DeskDep, period: PeriodDep) -> Response:
    rows = operator_figures(db, staff.brand_id, period.since, period.until, period.template_id)
    return _file(operators_csv(rows), "figures-operators", desk.clock.now().date())
