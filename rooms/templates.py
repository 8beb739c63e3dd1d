"""Room templates: what a brand's consultation room is like and who may be served in it."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rooms.audit import record
from rooms.errors import Invalid, NotFound
from rooms.hours import BusinessHours, HoursError
from rooms.models import Avatar, Brand, RoomTemplate
from rooms.recordings import DEFAULT_RECORDING_DAYS, days_problem, mode_problem

#: The service level counts customers answered within this many seconds (the usual 80/20 target's 20).
DEFAULT_SERVICE_LEVEL_S = 20.0
#: A longer threshold would no longer measure answering promptly (an hour: the longest accepted).
MAX_SERVICE_LEVEL_S = 3600.0
#: The longest retention a template may set: ten years (longer is keeping data for good, which is
#: said by setting none).
MAX_RETENTION_DAYS = 3650


def retention_problem(value: object) -> str | None:
    """Why a retention in days cannot be taken, or None (None itself: kept until erased on request)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number of days"
    if value < 1:
        return "must be at least 1 day"
    if value > MAX_RETENTION_DAYS:
        return f"must be at most {MAX_RETENTION_DAYS} days"
    return None


def service_level_problem(value: float) -> str | None:
    """Why a service-level threshold cannot be taken, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "must be a number of seconds"
    if not math.isfinite(value):
        return "must be a finite number of seconds"
    if value <= 0:
        return "must be more than 0 seconds"
    if value > MAX_SERVICE_LEVEL_S:
        return f"must be at most {MAX_SERVICE_LEVEL_S:g} seconds"
    return None


@dataclass
class TemplateSpec:
    name: str
    languages: list[str]
    skills: list[str] = field(default_factory=list)
    avatar_id: str | None = None
    scene: str = "boutique"
    greeting: str = ""
    hours: dict[str, Any] | None = None
    max_customers: int = 1
    keep_transcripts: bool = True
    transcript_days: int = 90
    allow_anonymous: bool = False
    max_wait_s: int = 300
    service_level_s: float = DEFAULT_SERVICE_LEVEL_S
    #: ended consultations older than this are erased by the hourly job; None: kept
    retention_days: int | None = None
    #: recording: off, ask (with the customer's consent), always (with a notice); rooms.recordings
    recording: str = "off"
    #: recordings older than this are deleted by the hourly job
    recording_days: int = DEFAULT_RECORDING_DAYS


def business_hours(template: RoomTemplate) -> BusinessHours | None:
    if template.hours is None:
        return None
    h = template.hours
    return BusinessHours.parse(h["zone"], h.get("weekly", {}), h.get("closed_dates", []))


def _check(session: Session, brand: Brand, spec: TemplateSpec) -> None:
    if not spec.name.strip():
        raise Invalid("a room template needs a name")
    if not spec.languages:
        raise Invalid("a room template needs at least one language")
    if spec.max_customers < 1:
        raise Invalid("max_customers must be at least 1")
    reason = service_level_problem(spec.service_level_s)
    if reason is not None:
        raise Invalid(f"service_level_s {reason}")
    reason = retention_problem(spec.retention_days)
    if reason is not None:
        raise Invalid(f"retention_days {reason}")
    reason = mode_problem(spec.recording)
    if reason is not None:
        raise Invalid(f"recording {reason}")
    reason = days_problem(spec.recording_days)
    if reason is not None:
        raise Invalid(f"recording_days {reason}")
    if spec.hours is not None:
        try:
            BusinessHours.parse(
                spec.hours.get("zone", ""), spec.hours.get("weekly", {}), spec.hours.get("closed_dates")
            )
        except HoursError as exc:
            raise Invalid(f"hours: {exc}") from None
    if spec.avatar_id is not None:
        avatar = session.get(Avatar, spec.avatar_id)
        if avatar is None or avatar.brand_id != brand.id:  # another brand's is as missing as none
            raise Invalid(f"avatar_id: this brand has no avatar {spec.avatar_id}")


def create_template(session: Session, brand: Brand, spec: TemplateSpec, actor: str) -> RoomTemplate:
    _check(session, brand, spec)
    template = RoomTemplate(id=secrets.token_hex(8), brand_id=brand.id, **spec.__dict__)
    session.add(template)
    record(session, brand.id, actor, "template.create", {"template": template.id, "name": spec.name})
    session.commit()
    return template


def update_template(
    session: Session, brand: Brand, template_id: str, spec: TemplateSpec, actor: str
) -> RoomTemplate:
    _check(session, brand, spec)
    template = get_template(session, brand.id, template_id)
    for key, value in spec.__dict__.items():
        setattr(template, key, value)
    record(session, brand.id, actor, "template.update", {"template": template.id})
    session.commit()
    return template


def get_template(session: Session, brand_id: int, template_id: str) -> RoomTemplate:
    """The brand's template; another brand's is reported missing, as if it did not exist."""
    template = session.get(RoomTemplate, template_id)
    if template is None or template.brand_id != brand_id:
        raise NotFound(f"no room template {template_id}")
    return template


def brand_templates(session: Session, brand_id: int) -> list[RoomTemplate]:
    return list(
        session.scalars(
            select(RoomTemplate).where(RoomTemplate.brand_id == brand_id).order_by(RoomTemplate.created_at)
        )
    )
