"""The figures a contact centre lives by, per brand and optionally per room template.

Over a period [since, until) of sessions *created* in it:
- average speed of answer (ASA): mean of connected_at - enqueued_at over answered sessions;
- service level: answered within 20 s / (answered + abandoned);
- abandonment rate: abandoned / (answered + abandoned);
- average handle time (AHT): mean of ended_at - connected_at over ended sessions;
- CSAT: mean rating (1-5) and how many answered.
Queue length is live (the router's waiting customers). With nothing to average a figure is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rooms.clock import as_utc
from rooms.models import CareSession, SurveyAnswer

SERVICE_LEVEL_S = 20.0


@dataclass(frozen=True)
class Figures:
    queue_length: int
    sessions: int
    answered: int
    abandoned: int
    average_speed_of_answer_s: float | None
    service_level: float | None
    abandonment_rate: float | None
    average_handle_time_s: float | None
    csat: float | None
    csat_answers: int


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def figures(
    db: Session,
    brand_id: int,
    queue_length: int,
    since: datetime,
    until: datetime,
    template_id: str | None = None,
) -> Figures:
    query = select(CareSession).where(CareSession.brand_id == brand_id)
    if template_id is not None:
        query = query.where(CareSession.template_id == template_id)
    rows = [cs for cs in db.scalars(query) if since <= as_utc(cs.created_at) < until]
    answered = [cs for cs in rows if cs.connected_at is not None]
    abandoned = [cs for cs in rows if cs.state == "abandoned" and cs.connected_at is None]
    speeds = [
        (as_utc(cs.connected_at) - as_utc(cs.enqueued_at)).total_seconds()
        for cs in answered
        if cs.connected_at
    ]
    handled = [
        (as_utc(cs.ended_at) - as_utc(cs.connected_at)).total_seconds()
        for cs in answered
        if cs.ended_at is not None and cs.connected_at is not None and cs.state == "ended"
    ]
    offered = len(answered) + len(abandoned)
    ids = [cs.id for cs in rows]
    ratings = (
        [a.csat for a in db.scalars(select(SurveyAnswer).where(SurveyAnswer.session_id.in_(ids)))]
        if ids
        else []
    )
    return Figures(
        queue_length=queue_length,
        sessions=len(rows),
        answered=len(answered),
        abandoned=len(abandoned),
        average_speed_of_answer_s=_mean(speeds),
        service_level=(sum(1 for s in speeds if s <= SERVICE_LEVEL_S) / offered) if offered else None,
        abandonment_rate=(len(abandoned) / offered) if offered else None,
        average_handle_time_s=_mean(handled),
        csat=_mean([float(r) for r in ratings]),
        csat_answers=len(ratings),
    )
