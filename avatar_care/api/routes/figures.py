"""Contact-centre figures, live and over a period: for the brand admin and for supervisors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, status
from pydantic import BaseModel

from avatar_care.api.deps import DeskDep, SessionDep, operator_from_token
from avatar_care.api.input_policy import Instant
from rooms.brands import brand_for_api_key
from rooms.figures import figures

router = APIRouter(prefix="/api/figures", tags=["figures"])


class FiguresOut(BaseModel):
    since: datetime
    until: datetime
    template_id: str | None
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


def brand_of_admin_or_supervisor(
    db: SessionDep,
    desk: DeskDep,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> int:
    if x_api_key:
        brand = brand_for_api_key(db, x_api_key)
        if brand is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown API key")
        return brand.id
    if authorization and authorization.lower().startswith("bearer "):
        operator = operator_from_token(db, desk, authorization[7:].strip())
        if operator.role not in ("supervisor", "admin"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "figures are for supervisors and brand admins")
        return operator.brand_id
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED, "this needs a brand admin API key or a supervisor's token"
    )


@router.get("", response_model=FiguresOut)
def get_figures(
    brand_id: Annotated[int, Depends(brand_of_admin_or_supervisor)],
    db: SessionDep,
    desk: DeskDep,
    template_id: str | None = None,
    since: Annotated[Instant | None, Query(description="default: 24 hours ago")] = None,
    until: Annotated[Instant | None, Query(description="default: now")] = None,
) -> FiguresOut:
    now = desk.clock.now()
    until = until or now + timedelta(seconds=1)
    since = since or now - timedelta(hours=24)
    if since.tzinfo is None or until.tzinfo is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since and until need a time zone")
    if template_id is not None:
        from rooms.templates import get_template

        get_template(db, brand_id, template_id)
    live = [w for w in desk.queue(brand_id) if template_id is None or w["template_id"] == template_id]
    f = figures(db, brand_id, len(live), since, until, template_id)
    return FiguresOut(since=since, until=until, template_id=template_id, **f.__dict__)
