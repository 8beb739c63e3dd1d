"""The brand's survey answers: each rating with its comment and the consultation it rates."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from avatar_care.api.brand_staff import CurrentBrandStaff
from avatar_care.api.deps import SessionDep
from avatar_care.api.report_filters import PageDep, SurveyFilterDep
from rooms.surveys import list_answers

router = APIRouter(prefix="/api/surveys", tags=["surveys"])


class SurveyAnswerOut(BaseModel):
    session_id: str
    template_id: str
    template_name: str
    operator_id: str | None
    operator_name: str | None
    customer_name: str
    csat: int = Field(description="1-5")
    comment: str
    answered_at: datetime


class SurveyPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[SurveyAnswerOut] = Field(description="this page, newest first")


@router.get("", response_model=SurveyPage)
def list_(staff: CurrentBrandStaff, db: SessionDep, filters: SurveyFilterDep, page: PageDep) -> SurveyPage:
    total, rows = list_answers(db, staff.brand_id, filters, page.limit, page.offset)
    return SurveyPage(
        total=total,
        limit=page.limit,
        offset=page.offset,
        items=[SurveyAnswerOut.model_validate(r, from_attributes=True) for r in rows],
    )
