"""A supervisor's presence in a consultation: listening, whispering to the operator, or barging in.

Each start and each end is an entry in the brand's audit log and an event of every consultation of
the live room (``supervisor_joined``, ``supervisor_left``), so that the record says who was there,
in which mode, for how long, and whether the customer was told. The customer's page reads the
events' ``told``: :func:`told_supervision` is what it shows.

Whether the customer is told depends on the mode (``avatar_care.live.roles``): never of a whisper,
always of a barge, and of listening as the brand chose (``SupervisionSettings.listening_announced``,
:func:`set_listening_announced`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rooms.audit import record
from rooms.clock import as_utc
from rooms.models import CareSession, OperatorAccount, SessionEvent, SupervisionSettings

Told = Literal["not_applicable", "never", "always", "brand_setting"]
JOINED = "supervisor_joined"
LEFT = "supervisor_left"


@dataclass(frozen=True)
class Presence:
    """One supervisor in one mode in a live room, from :func:`began` to :func:`ended`."""

    brand_id: int
    supervisor_id: str
    mode: str
    session_ids: tuple[str, ...]
    told: bool
    since: datetime


def listening_announced(db: Session, brand_id: int) -> bool:
    settings = db.get(SupervisionSettings, brand_id)
    return settings is not None and settings.listening_announced


def set_listening_announced(db: Session, brand_id: int, announced: bool, actor: str) -> None:
    """The brand's choice, audited (uncommitted: the caller commits)."""
    settings = db.get(SupervisionSettings, brand_id)
    if settings is None:
        settings = SupervisionSettings(brand_id=brand_id)
        db.add(settings)
    settings.listening_announced = announced
    record(db, brand_id, actor, "brand.listening_announced", {"announced": announced})


def is_told(rule: Told, listening_announced: bool) -> bool:
    return rule == "always" or (rule == "brand_setting" and listening_announced)


def began(
    db: Session, session_ids: tuple[str, ...], supervisor_id: str, mode: str, rule: Told, now: datetime
) -> Presence:
    """Record the start (uncommitted: the caller commits)."""
    sessions = [cs for cs in (db.get(CareSession, i) for i in session_ids) if cs is not None]
    if not sessions:
        raise LookupError(f"none of the sessions {session_ids} exists")
    told = is_told(rule, listening_announced(db, sessions[0].brand_id))
    presence = Presence(sessions[0].brand_id, supervisor_id, mode, tuple(s.id for s in sessions), told, now)
    record(db, presence.brand_id, _actor(db, supervisor_id), "supervision.start", _detail(presence))
    for cs in sessions:
        db.add(SessionEvent(session_id=cs.id, kind=JOINED, detail=_event(presence), at=now))
    return presence


def ended(db: Session, presence: Presence, now: datetime) -> None:
    """Record the end (uncommitted: the caller commits); sessions deleted since are passed over."""
    detail = _detail(presence) | {"seconds": round((as_utc(now) - as_utc(presence.since)).total_seconds(), 1)}
    record(db, presence.brand_id, _actor(db, presence.supervisor_id), "supervision.end", detail)
    for session_id in presence.session_ids:
        if db.get(CareSession, session_id) is not None:
            db.add(SessionEvent(session_id=session_id, kind=LEFT, detail=_event(presence), at=now))


def told_supervision(db: Session, session_id: str) -> list[str]:
    """The modes the customer of ``session_id`` is told of, of the supervisors there now (each
    mode once, in the order they came)."""
    return present_supervision(db, session_id, told_only=True)


def present_supervision(db: Session, session_id: str, told_only: bool = False) -> list[str]:
    """The modes of the supervisors in ``session_id``'s room now (each once, in the order they
    came); ``told_only``: only those its customer is told of."""
    present: dict[tuple[str, str], bool] = {}
    for kind, detail in db.execute(
        select(SessionEvent.kind, SessionEvent.detail)
        .where(SessionEvent.session_id == session_id, SessionEvent.kind.in_((JOINED, LEFT)))
        .order_by(SessionEvent.id)
    ):
        key = (str(detail.get("supervisor")), str(detail.get("mode")))
        if kind == JOINED:
            present[key] = bool(detail.get("told"))
        else:
            present.pop(key, None)
    return list(dict.fromkeys(mode for (_, mode), told in present.items() if told or not told_only))


def _actor(db: Session, supervisor_id: str) -> str:
    account = db.get(OperatorAccount, supervisor_id)
    return f"{account.name} ({account.login})" if account is not None else f"supervisor {supervisor_id}"


def _detail(presence: Presence) -> dict[str, object]:
    return {
        "supervisor": presence.supervisor_id,
        "mode": presence.mode,
        "sessions": list(presence.session_ids),
        "customer_told": presence.told,
    }


def _event(presence: Presence) -> dict[str, object]:
    return {"supervisor": presence.supervisor_id, "mode": presence.mode, "told": presence.told}
