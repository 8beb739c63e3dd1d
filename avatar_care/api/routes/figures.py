"""Contact-centre figures, live and over a period, per day and per operator: for the brand admin
and for supervisors."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from avatar_care.api.brand_staff import CurrentBrandStaff
from avatar_care.api.deps import DeskDep, SessionDep
from avatar_care.api.report_filters import DaysDep, PeriodDep
from rooms.figures import daily_figures, figures, operator_figures
from rooms.templates import get_template

router = APIRouter(prefix="/api/figures", tags=["figures"])


class PeriodFiguresOut(BaseModel):
    sessions: int
    answered: int
    abandoned: int
    average_speed_of_answer_s: float | None
    service_level: float | None = Field(
        description="answered within the room's service-level threshold / (answered + abandoned)"
    )
    abandonment_rate: float | None
    average_handle_time_s: float | None
    csat: float | None
    csat_answers: int
    average_after_call_s: float | None = Field(
        description="mean after-call work of ended consultations that had some (end to wrap-up or time box)"
    )
    wrap_up_codes: dict[str, int] = Field(description="wrap-up code -> consultations wrapped up with it")


class FiguresOut(PeriodFiguresOut):
    since: datetime
    until: datetime
    template_id: str | None
    service_level_s: float | None = Field(
        description="the room's threshold in seconds; none for all rooms (each session by its room's)"
    )
    queue_length: int


class DayOut(PeriodFiguresOut):
    day: date


class DailyOut(BaseModel):
    first_day: date
    last_day: date
    zone: str
    template_id: str | None
    days: list[DayOut]


class OperatorFiguresOut(BaseModel):
    operator_id: str
    name: str
    login: str
    handled: int = Field(description="consultations this person ended in the period")
    average_handle_time_s: float | None
    csat: float | None
    csat_answers: int
    average_after_call_s: float | None = Field(
        default=None, description="mean after-call work after the consultations this person ended"
    )


class OperatorsOut(BaseModel):
    since: datetime
    until: datetime
    template_id: str | None
    operators: list[OperatorFiguresOut]


@router.get("", response_model=FiguresOut)
def get_figures(staff: CurrentBrandStaff, db: SessionDep, desk: DeskDep, period: PeriodDep) -> FiguresOut:
    template_id = period.template_id
    threshold = get_template(db, staff.brand_id, template_id).service_level_s if template_id else None
    live = [w for w in desk.queue(staff.brand_id) if template_id is None or w["template_id"] == template_id]
    f = figures(db, staff.brand_id, len(live), period.since, period.until, template_id)
    return FiguresOut(
        since=period.since,
        until=period.until,
        template_id=template_id,
        service_level_s=threshold,
        **f.__dict__,
    )


@router.get("/daily", response_model=DailyOut)
def get_daily(staff: CurrentBrandStaff, db: SessionDep, days: DaysDep) -> DailyOut:
    """The figures of each day, first_day to last_day included, days as the zone has them."""
    rows = daily_figures(db, staff.brand_id, days.first_day, days.last_day, days.zone, days.template_id)
    return DailyOut(
        first_day=days.first_day,
        last_day=days.last_day,
        zone=days.zone.key,
        template_id=days.template_id,
        days=[DayOut(day=d.day, **d.figures.__dict__) for d in rows],
    )


@router.get("/operators", response_model=OperatorsOut)
def get_operators(staff: CurrentBrandStaff, db: SessionDep, period: PeriodDep) -> OperatorsOut:
    """Per person: consultations ended in the period (created in it), their AHT and CSAT."""
    rows = operator_figures(db, staff.brand_id, period.since, period.until, period.template_id)
    return OperatorsOut(
        since=period.since,
        until=period.until,
        template_id=period.template_id,
        operators=[OperatorFiguresOut.model_validate(o, from_attributes=True) for o in rows],
    )
