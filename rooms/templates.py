"""Room templates: what a brand's consultation room is like and who may be served in it."""

from __future__ import annotations

import math
import re
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
#: The rooms the customer's page can build (web_client/room/scene.js builds each by this name).
SCENES = ("boutique", "studio", "lounge")
DEFAULT_BRAND_COLOR = "#2f6f8f"
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
#: Where the pages load a room's uploaded logo from (the server serves the data directory's ``logos``).
LOGO_URL_PREFIX = "/media/logos/"
#: The longest after-call time box: an hour (after-call work is minutes, not a shift).
MAX_AFTER_CALL_S = 3600
#: Wrap-up codes a template may list, and the longest code.
MAX_WRAP_UP_CODES = 50
MAX_WRAP_UP_CODE_LEN = 100


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


def brand_color_problem(value: object) -> str | None:
    """Why a colour cannot be taken, or None: only #rrggbb, what the admin page's colour input gives."""
    if not isinstance(value, str) or _COLOR.fullmatch(value) is None:
        return "must be a colour written #rrggbb"
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
    #: the wall's band, the counter's trim and the page's accent
    brand_color: str = DEFAULT_BRAND_COLOR
    #: the brand's wrap-up codes for this room; the operator picks one after each consultation
    wrap_up_codes: list[str] = field(default_factory=list)
    #: a code must be given before the operator is offered anyone again
    wrap_up_required: bool = False
    #: after-call work after each consultation, in seconds: the operator is offered nobody meanwhile
    after_call_s: int = 0
    #: recording: off, ask (with the customer's consent), always (with a notice); rooms.recordings
    recording: str = "off"
    #: recordings older than this are deleted by the hourly job
    recording_days: int = DEFAULT_RECORDING_DAYS


def room_look(template: RoomTemplate) -> dict[str, Any]:
    """What the customer's page builds of the room: its scene, colour, logo and greeting."""
    return {
        "scene": template.scene if template.scene in SCENES else SCENES[0],
        "brand_color": template.brand_color,
        "logo_url": LOGO_URL_PREFIX + template.logo_file if template.logo_file else None,
        "greeting": template.greeting,
    }


def wrap_up_problem(codes: list[str], required: bool, after_call_s: int) -> str | None:
    """Why these wrap-up settings cannot be taken, or None."""
    if isinstance(after_call_s, bool) or not isinstance(after_call_s, int):
        return "after_call_s must be a whole number of seconds"
    if not 0 <= after_call_s <= MAX_AFTER_CALL_S:
        return f"after_call_s must be between 0 and {MAX_AFTER_CALL_S} seconds"
    if len(codes) > MAX_WRAP_UP_CODES:
        return f"at most {MAX_WRAP_UP_CODES} wrap-up codes"
    for code in codes:
        if not isinstance(code, str) or not code.strip() or code != code.strip():
            return "a wrap-up code is a non-empty text without surrounding spaces"
        if len(code) > MAX_WRAP_UP_CODE_LEN or not code.isprintable():
            return f"a wrap-up code is at most {MAX_WRAP_UP_CODE_LEN} printable characters"
    if len(set(codes)) != len(codes):
        return "wrap-up codes must differ from each other"
    if required and not codes:
        return "wrap-up codes cannot be required when there are none"
    return None


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
    if spec.scene not in SCENES:
        raise Invalid(f"scene must be one of {', '.join(SCENES)}")
    reason = brand_color_problem(spec.brand_color)
    if reason is not None:
        raise Invalid(f"brand_color {reason}")
    if spec.max_customers < 1:
        raise Invalid("max_customers must be at least 1")
    reason = service_level_problem(spec.service_level_s)
    if reason is not None:
        raise Invalid(f"service_level_s {reason}")
    reason = retention_problem(spec.retention_days)
    if reason is not None:
        raise Invalid(f"retention_days {reason}")
    reason = wrap_up_problem(spec.wrap_up_codes, spec.wrap_up_required, spec.after_call_s)
    if reason is not None:
        raise Invalid(reason)
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
    spec.brand_color = spec.brand_color.lower()
    template = RoomTemplate(id=secrets.token_hex(8), brand_id=brand.id, **spec.__dict__)
    session.add(template)
    record(session, brand.id, actor, "template.create", {"template": template.id, "name": spec.name})
    session.commit()
    return template


def update_template(
    session: Session, brand: Brand, template_id: str, spec: TemplateSpec, actor: str
) -> RoomTemplate:
    _check(session, brand, spec)
    spec.brand_color = spec.brand_color.lower()
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


def set_logo(
    session: Session, brand: Brand, template_id: str, file_name: str | None, actor: str
) -> tuple[RoomTemplate, str | None]:
    """Give the room the logo stored as ``file_name`` (None: no logo); answers the template and the
    file it no longer uses, for the caller to remove once this is committed."""
    template = get_template(session, brand.id, template_id)
    previous = template.logo_file
    template.logo_file = file_name
    record(
        session,
        brand.id,
        actor,
        "template.logo" if file_name else "template.logo_remove",
        {"template": template.id},
    )
    session.commit()
    return template, previous
