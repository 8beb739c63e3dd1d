"""The figures a contact centre lives by, per brand and optionally per room template.

Over a period [since, until) of sessions *created* in it:
- average speed of answer (ASA): mean of connected_at - enqueued_at over answered sessions;
- service level: answered within the room template's threshold (``service_level_s``, 20 s unless
  the brand set another) / (answered + abandoned); each session is measured by its own room's;
- abandonment rate: abandoned / (answered + abandoned);
- average handle time (AHT): mean of ended_at - connected_at over ended sessions;
- CSAT: mean rating (1-5) and how many answered;
- after-call work: the mean after-call time of ended consultations that had some (from the end to
  the wrap-up, or to the end of the time box when an optional code was not given in it; a time box
  still running counts whole), and how many consultations were wrapped up with each code.
Queue length is live (the router's waiting customers). With nothing to average a figure is None.

The same figures per day (in a time zone the caller names) and, per operator, the consultations
handled with their AHT and CSAT. A consultation counts for the operator who ended it, with its
whole handle time: transfers are one handle, as in the brand's figures.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from rooms.clock import as_utc
from rooms.errors import Invalid
from rooms.models import CareSession, OperatorAccount, RoomTemplate, SurveyAnswer
from rooms.templates import DEFAULT_SERVICE_LEVEL_S

logger = logging.getLogger(__name__)

#: The longest range the per-day figures cover in one request (a year, leap or not).
MAX_DAYS = 366


@dataclass(frozen=True)
class PeriodFigures:
    sessions: int
    answered: int
    abandoned: int
    average_speed_of_answer_s: float | None
    service_level: float | None
    abandonment_rate: float | None
    average_handle_time_s: float | None
    csat: float | None
    csat_answers: int
    average_after_call_s: float | None
    #: wrap-up code -> consultations wrapped up with it
    wrap_up_codes: dict[str, int]


@dataclass(frozen=True)
class Figures(PeriodFigures):
    queue_length: int


@dataclass(frozen=True)
class DayFigures:
    day: date
    figures: PeriodFigures


@dataclass(frozen=True)
class OperatorFigures:
    operator_id: str
    name: str
    login: str
    handled: int
    average_handle_time_s: float | None
    csat: float | None
    csat_answers: int
    #: the mean after-call work after the consultations they ended (None: none had any)
    average_after_call_s: float | None = None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True, slots=True)
class _Times:
    """What the figures read of a session (its columns alone: loading whole sessions, with their
    JSON context, took most of the time)."""

    id: str
    template_id: str
    state: str
    operator_id: str | None
    created_at: datetime
    enqueued_at: datetime
    connected_at: datetime | None
    ended_at: datetime | None
    after_call_until: datetime | None
    wrap_up_required: bool
    wrap_up_code: str | None
    wrapped_up_at: datetime | None


def _after_call_s(cs: _Times) -> float | None:
    """How long the after-call work of an ended consultation lasted; None: it had none, or a
    required code is still owed (it is still going on)."""
    if cs.ended_at is None or cs.after_call_until is None:
        return None
    if cs.wrapped_up_at is not None:
        ended = cs.wrapped_up_at
        if not cs.wrap_up_required and ended > cs.after_call_until:
            ended = cs.after_call_until  # the time box ran out first; the code came later
    elif cs.wrap_up_required:
        return None
    else:
        ended = cs.after_call_until
    return (ended - cs.ended_at).total_seconds()


def _handle_time_s(cs: _Times) -> float | None:
    if cs.state != "ended" or cs.connected_at is None or cs.ended_at is None:
        return None
    return (cs.ended_at - cs.connected_at).total_seconds()


def service_level_thresholds(db: Session, brand_id: int) -> dict[str, float]:
    """Each of the brand's room templates' service-level threshold in seconds."""
    rows = db.execute(
        select(RoomTemplate.id, RoomTemplate.service_level_s).where(RoomTemplate.brand_id == brand_id)
    )
    return {template_id: float(threshold) for template_id, threshold in rows}


def _sessions(
    db: Session, brand_id: int, since: datetime, until: datetime, template_id: str | None
) -> list[_Times]:
    query = select(
        CareSession.id,
        CareSession.template_id,
        CareSession.state,
        CareSession.operator_id,
        CareSession.created_at,
        CareSession.enqueued_at,
        CareSession.connected_at,
        CareSession.ended_at,
        CareSession.after_call_until,
        CareSession.wrap_up_required,
        CareSession.wrap_up_code,
        CareSession.wrapped_up_at,
    ).where(CareSession.brand_id == brand_id, CareSession.created_at >= since, CareSession.created_at < until)
    if template_id is not None:
        query = query.where(CareSession.template_id == template_id)
    # the column type hands every instant back aware and in UTC already
    return [_Times(**row._asdict()) for row in db.execute(query)]


def _ratings(
    db: Session, brand_id: int, since: datetime, until: datetime, template_id: str | None
) -> dict[str, int]:
    """The ratings of the sessions :func:`_sessions` reads, in one query."""
    query = (
        select(SurveyAnswer.session_id, SurveyAnswer.csat)
        .join(CareSession, CareSession.id == SurveyAnswer.session_id)
        .where(
            CareSession.brand_id == brand_id, CareSession.created_at >= since, CareSession.created_at < until
        )
    )
    if template_id is not None:
        query = query.where(CareSession.template_id == template_id)
    return {session_id: csat for session_id, csat in db.execute(query)}


def _period(rows: Sequence[_Times], ratings: dict[str, int], thresholds: dict[str, float]) -> PeriodFigures:
    answered = [cs for cs in rows if cs.connected_at is not None]
    abandoned = [cs for cs in rows if cs.state == "abandoned" and cs.connected_at is None]
    within = 0
    speeds: list[float] = []
    for cs in answered:
        assert cs.connected_at is not None
        speed = (cs.connected_at - cs.enqueued_at).total_seconds()
        speeds.append(speed)
        if speed <= thresholds.get(cs.template_id, DEFAULT_SERVICE_LEVEL_S):
            within += 1
    handled = [h for h in map(_handle_time_s, answered) if h is not None]
    offered = len(answered) + len(abandoned)
    rated = [float(ratings[cs.id]) for cs in rows if cs.id in ratings]
    after_call = [a for a in map(_after_call_s, rows) if a is not None]
    codes: dict[str, int] = defaultdict(int)
    for cs in rows:
        if cs.wrap_up_code is not None:
            codes[cs.wrap_up_code] += 1
    return PeriodFigures(
        sessions=len(rows),
        answered=len(answered),
        abandoned=len(abandoned),
        average_speed_of_answer_s=_mean(speeds),
        service_level=(within / offered) if offered else None,
        abandonment_rate=(len(abandoned) / offered) if offered else None,
        average_handle_time_s=_mean(handled),
        csat=_mean(rated),
        csat_answers=len(rated),
        average_after_call_s=_mean(after_call),
        wrap_up_codes=dict(sorted(codes.items())),
    )


def figures(
    db: Session,
    brand_id: int,
    queue_length: int,
    since: datetime,
    until: datetime,
    template_id: str | None = None,
) -> Figures:
    rows = _sessions(db, brand_id, since, until, template_id)
    period = _period(
        rows, _ratings(db, brand_id, since, until, template_id), service_level_thresholds(db, brand_id)
    )
    return Figures(queue_length=queue_length, **period.__dict__)


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone of this name; ``Invalid`` for any other text."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # a path-like, empty or unknown name
        raise Invalid(f"zone: no time zone named {name[:60]!r}") from None


def day_bounds(first_day: date, last_day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants [start of first_day, start of the day after last_day) in the zone; refuses a
    reversed or overlong range."""
    if last_day < first_day:
        raise Invalid("last_day is before first_day")
    days = (last_day - first_day).days + 1
    if days > MAX_DAYS:
        raise Invalid(f"at most {MAX_DAYS} days at a time (asked for {days})")
    try:
        start = datetime.combine(first_day, time(), zone)
        end = datetime.combine(last_day + timedelta(days=1), time(), zone)
        return as_utc(start), as_utc(end)
    except OverflowError:  # the last day of the calendar has no day after it
        raise Invalid("the range runs past the calendar's end") from None


def daily_figures(
    db: Session,
    brand_id: int,
    first_day: date,
    last_day: date,
    zone: ZoneInfo,
    template_id: str | None = None,
) -> list[DayFigures]:
    """The figures of each day from first_day to last_day (both included), days as the zone has them."""
    since, until = day_bounds(first_day, last_day, zone)
    rows = _sessions(db, brand_id, since, until, template_id)
    ratings = _ratings(db, brand_id, since, until, template_id)
    thresholds = service_level_thresholds(db, brand_id)
    by_day: dict[date, list[_Times]] = defaultdict(list)
    for cs in rows:
        by_day[cs.created_at.astimezone(zone).date()].append(cs)
    days = (last_day - first_day).days + 1
    return [
        DayFigures(day, _period(by_day.get(day, []), ratings, thresholds))
        for day in (first_day + timedelta(days=i) for i in range(days))
    ]


def operator_figures(
    db: Session,
    brand_id: int,
    since: datetime,
    until: datetime,
    template_id: str | None = None,
) -> list[OperatorFigures]:
    """Per account: the consultations they ended in the period, their AHT and CSAT. Every operator
    of the brand is listed (with 0 handled if so), and any other account that handled one."""
    rows = _sessions(db, brand_id, since, until, template_id)
    ratings = _ratings(db, brand_id, since, until, template_id)
    times: dict[str, list[float]] = defaultdict(list)
    rated: dict[str, list[float]] = defaultdict(list)
    after_call: dict[str, list[float]] = defaultdict(list)
    for cs in rows:
        handle = _handle_time_s(cs)
        if handle is None or cs.operator_id is None:
            continue
        times[cs.operator_id].append(handle)
        wrap = _after_call_s(cs)
        if wrap is not None:
            after_call[cs.operator_id].append(wrap)
        if cs.id in ratings:
            rated[cs.operator_id].append(float(ratings[cs.id]))
    # sorted here, not by the database: SQLite and PostgreSQL collate names differently
    accounts = sorted(
        db.scalars(select(OperatorAccount).where(OperatorAccount.brand_id == brand_id)),
        key=lambda a: (a.name.casefold(), a.login),
    )
    return [
        OperatorFigures(
            operator_id=a.id,
            name=a.name,
            login=a.login,
            handled=len(times[a.id]),
            average_handle_time_s=_mean(times[a.id]),
            csat=_mean(rated[a.id]),
            csat_answers=len(rated[a.id]),
            average_after_call_s=_mean(after_call[a.id]),
        )
        for a in accounts
        if a.role == "operator" or a.id in times
    ]
