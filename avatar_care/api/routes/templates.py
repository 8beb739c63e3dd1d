"""Room templates, managed by the brand admin; a public card for the customer's join page."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from avatar_care.api.deps import AdminActor, CurrentBrandAdmin, SessionDep
from rooms.errors import NotFound
from rooms.models import RoomTemplate
from rooms.recordings import DEFAULT_RECORDING_DAYS, MAX_RECORDING_DAYS
from rooms.templates import (
    DEFAULT_SERVICE_LEVEL_S,
    MAX_RETENTION_DAYS,
    MAX_SERVICE_LEVEL_S,
    TemplateSpec,
    brand_templates,
    create_template,
    get_template,
    update_template,
)

router = APIRouter(prefix="/api/templates", tags=["templates"])


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    languages: list[str] = Field(min_length=1, examples=[["it", "en"]])
    skills: list[str] = []
    avatar_id: str | None = None
    scene: str = "boutique"
    greeting: str = ""
    hours: dict[str, Any] | None = Field(
        default=None,
        description='business hours, e.g. {"zone": "Europe/Rome", "weekly": {"mon": ["09:00-13:00"]}, '
        '"closed_dates": ["2026-12-25"]}; none means always open',
    )
    max_customers: int = Field(default=1, ge=1, le=50)
    keep_transcripts: bool = True
    transcript_days: int = Field(default=90, ge=0, le=3650)
    allow_anonymous: bool = False
    max_wait_s: int = Field(default=300, ge=0)
    service_level_s: float = Field(
        default=DEFAULT_SERVICE_LEVEL_S,
        gt=0,
        le=MAX_SERVICE_LEVEL_S,
        allow_inf_nan=False,
        description="the service level counts customers answered within this many seconds",
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_RETENTION_DAYS,
        strict=True,
        description="ended consultations older than this many days have their customer's personal data "
        "erased (hourly); none keeps them until erased on request",
    )
    recording: Literal["off", "ask", "always"] = Field(
        default="off",
        description="record consultations: off; ask (only once the customer consents in the page); "
        "always (the page tells the customer)",
    )
    recording_days: int = Field(
        default=DEFAULT_RECORDING_DAYS,
        ge=1,
        le=MAX_RECORDING_DAYS,
        strict=True,
        description="recordings older than this many days are deleted, files and rows (hourly)",
    )


class TemplateOut(TemplateIn):
    id: str


class PublicTemplate(BaseModel):
    id: str
    name: str
    greeting: str
    languages: list[str]
    allow_anonymous: bool
    scene: str
    avatar_id: str | None


def out(t: RoomTemplate) -> TemplateOut:
    return TemplateOut(
        id=t.id,
        name=t.name,
        languages=t.languages,
        skills=t.skills,
        avatar_id=t.avatar_id,
        scene=t.scene,
        greeting=t.greeting,
        hours=t.hours,
        max_customers=t.max_customers,
        keep_transcripts=t.keep_transcripts,
        transcript_days=t.transcript_days,
        allow_anonymous=t.allow_anonymous,
        max_wait_s=t.max_wait_s,
        service_level_s=t.service_level_s,
        retention_days=t.retention_days,
        recording=t.recording,  # type: ignore[arg-type]  # checked when stored
        recording_days=t.recording_days,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TemplateOut)
def create(body: TemplateIn, brand: CurrentBrandAdmin, db: SessionDep, actor: AdminActor) -> TemplateOut:
    return out(create_template(db, brand, TemplateSpec(**body.model_dump()), actor))


@router.get("", response_model=list[TemplateOut])
def list_templates(brand: CurrentBrandAdmin, db: SessionDep) -> list[TemplateOut]:
    return [out(t) for t in brand_templates(db, brand.id)]


@router.get("/{template_id}", response_model=TemplateOut)
def read(template_id: str, brand: CurrentBrandAdmin, db: SessionDep) -> TemplateOut:
    return out(get_template(db, brand.id, template_id))


@router.put("/{template_id}", response_model=TemplateOut)
def update(
    template_id: str, body: TemplateIn, brand: CurrentBrandAdmin, db: SessionDep, actor: AdminActor
) -> TemplateOut:
    return out(update_template(db, brand, template_id, TemplateSpec(**body.model_dump()), actor))


@router.get("/{template_id}/public", response_model=PublicTemplate)
def public(template_id: str, db: SessionDep) -> PublicTemplate:
    """What the join page may show before anyone signs in (nothing about the brand's setup)."""
    t = db.get(RoomTemplate, template_id)
    if t is None:
        raise NotFound(f"no room template {template_id}")
    return PublicTemplate(
        id=t.id,
        name=t.name,
        greeting=t.greeting,
        languages=t.languages,
        allow_anonymous=t.allow_anonymous,
        scene=t.scene,
        avatar_id=t.avatar_id,
    )
