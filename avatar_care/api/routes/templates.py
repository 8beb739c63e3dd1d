"""Room templates, managed by the brand admin; a public card for the customer's join page."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, HTTPException, UploadFile, status
from pydantic import BaseModel, Field

from avatar_care.api.deps import AdminActor, CurrentBrandAdmin, SessionDep, SettingsDep
from avatar_care.avatars.staging import staged_files
from avatar_care.logos import MAX_UPLOAD_BYTES, LogoRefused, redraw_logo
from rooms.errors import NotFound
from rooms.models import RoomTemplate
from rooms.recordings import DEFAULT_RECORDING_DAYS, MAX_RECORDING_DAYS
from rooms.templates import (
    DEFAULT_BRAND_COLOR,
    DEFAULT_SERVICE_LEVEL_S,
    MAX_AFTER_CALL_S,
    MAX_RETENTION_DAYS,
    MAX_SERVICE_LEVEL_S,
    MAX_WRAP_UP_CODES,
    SCENES,
    TemplateSpec,
    brand_templates,
    create_template,
    get_template,
    room_look,
    set_logo,
    update_template,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/templates", tags=["templates"])


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    languages: list[str] = Field(min_length=1, examples=[["it", "en"]])
    skills: list[str] = []
    avatar_id: str | None = None
    scene: str = Field(
        default="boutique", description=f"the room the customer sees: one of {', '.join(SCENES)}"
    )
    greeting: str = Field(default="", max_length=500, description="shown to the customer from joining on")
    brand_color: str = Field(
        default=DEFAULT_BRAND_COLOR,
        pattern="^#[0-9a-fA-F]{6}$",
        description="the brand's colour in the room and on the customer's page, #rrggbb",
    )
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
    wrap_up_codes: list[str] = Field(
        default=[],
        max_length=MAX_WRAP_UP_CODES,
        description="the brand's wrap-up codes: the operator picks one after each consultation",
    )
    wrap_up_required: bool = Field(
        default=False, description="a code must be given before the operator is offered anyone again"
    )
    after_call_s: int = Field(
        default=0,
        ge=0,
        le=MAX_AFTER_CALL_S,
        strict=True,
        description="after-call work after each consultation, in seconds: the operator is offered nobody",
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
    #: the uploaded logo (PUT /api/templates/{id}/logo), served by this server; None: no logo
    logo_url: str | None = None


class PublicTemplate(BaseModel):
    id: str
    name: str
    greeting: str
    languages: list[str]
    allow_anonymous: bool
    scene: str
    avatar_id: str | None
    brand_color: str
    logo_url: str | None


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
        brand_color=t.brand_color,
        logo_url=room_look(t)["logo_url"],
        wrap_up_codes=t.wrap_up_codes,
        wrap_up_required=t.wrap_up_required,
        after_call_s=t.after_call_s,
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
        brand_color=t.brand_color,
        logo_url=room_look(t)["logo_url"],
    )


def _drop_logo_file(data_dir: Path, name: str | None) -> None:
    """Remove a logo no room uses any more (after the commit that stopped using it)."""
    if name is None:
        return
    try:
        (data_dir / "logos" / name).unlink(missing_ok=True)
    except OSError:
        logger.warning("could not remove the old logo %s", name)


@router.put(
    "/{template_id}/logo",
    response_model=TemplateOut,
    responses={413: {"description": "file too large"}, 422: {"description": "not a logo, with the reason"}},
)
async def upload_logo(
    template_id: str,
    brand: CurrentBrandAdmin,
    db: SessionDep,
    settings: SettingsDep,
    actor: AdminActor,
    file: Annotated[UploadFile, File(description="a PNG, JPEG or WebP picture")],
) -> TemplateOut:
    """The room's logo: redrawn as a PNG of at most 512 pixels a side and served by this server
    (same origin: the pages' Content-Security-Policy and WebGL take it as it is)."""
    get_template(db, brand.id, template_id)  # another brand's room: 404 before reading the file
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"a logo may be at most {MAX_UPLOAD_BYTES:,} bytes"
        )
    try:
        # decoding and encoding take a few hundred milliseconds on a large picture: off the event
        # loop, which carries every room's signaling and queue sockets (benchmarks/logo_redraw.py)
        png = await asyncio.to_thread(redraw_logo, data)
    except LogoRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"logo refused: {exc}") from None
    name = f"{secrets.token_hex(12)}.png"  # a new name each time: no page keeps an old logo cached
    # staged where nothing is served, moved into place only once the room refers to it
    with staged_files(settings.data_dir, {name: png}) as staged:
        template, previous = set_logo(db, brand, template_id, name, actor)
        staged.publish(settings.data_dir / "logos")
    _drop_logo_file(settings.data_dir, previous)
    return out(template)


@router.delete("/{template_id}/logo", response_model=TemplateOut)
def remove_logo(
    template_id: str, brand: CurrentBrandAdmin, db: SessionDep, settings: SettingsDep, actor: AdminActor
) -> TemplateOut:
    template, previous = set_logo(db, brand, template_id, None, actor)
    _drop_logo_file(settings.data_dir, previous)
    return out(template)
