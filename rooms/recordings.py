"""Recording of consultations: the template's mode, the customer's consent, the recordings' index,
and how long recordings are kept.

A template records ``off`` (never), ``ask`` (only once the customer consents, in the page) or
``always`` (the page tells the customer). The files of a recording (``avatar_care.live.recorder``)
are in ``recordings/<brand>/<session>/<recording>/`` under the data directory; this module holds
their rows and says which folders to delete. Rows go first, in the transaction; the folders after
the commit (:func:`delete_folders`), and a folder whose row is gone is deleted by the hourly job
(:func:`stray_folders`), so a crash between the two leaves nothing behind for long.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rooms.audit import record
from rooms.errors import Conflict, NotFound
from rooms.models import CareSession, Recording, RoomTemplate, SessionEvent

logger = logging.getLogger(__name__)

MODES = ("off", "ask", "always")
#: the files of every recording (``avatar_care.live.recorder`` writes them)
RECORDING_FILES = ("operator.ogg", "customer.ogg", "motion.bin", "chat.jsonl")
CONSENTS = ("given", "declined")
DEFAULT_RECORDING_DAYS = 30
MAX_RECORDING_DAYS = 3650
#: the only folder names the index writes: ids (a row's path can never leave the recordings folder)
_PATH = re.compile(r"^[0-9]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+$")


def mode_problem(value: object) -> str | None:
    if value not in MODES:
        return f"must be one of {', '.join(MODES)}"
    return None


def days_problem(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number of days"
    if not 1 <= value <= MAX_RECORDING_DAYS:
        return f"must be 1 to {MAX_RECORDING_DAYS} days"
    return None


@dataclass(frozen=True)
class RecordingState:
    """What the pages show: the template's mode, the customer's answer, and whether it may record."""

    mode: str
    consent: str | None

    @property
    def allowed(self) -> bool:
        return self.mode == "always" or (self.mode == "ask" and self.consent == "given")

    def view(self) -> dict[str, object]:
        return {"mode": self.mode, "consent": self.consent, "allowed": self.allowed}


def recording_state(db: Session, cs: CareSession) -> RecordingState:
    template = db.get(RoomTemplate, cs.template_id)
    mode = template.recording if template is not None else "off"
    return RecordingState(mode, cs.recording_consent)


def recording_view(db: Session, cs: CareSession) -> dict[str, object]:
    """What the customer's page and the operator's panel show: the mode, the customer's answer,
    whether a recording is being made now and whether the operator paused it."""
    state = recording_state(db, cs)
    running = db.scalar(
        select(Recording.id)
        .where(Recording.session_id == cs.id, Recording.ended_at.is_(None))
        .order_by(Recording.started_at.desc())
        .limit(1)
    )
    last = db.scalar(
        select(SessionEvent.kind)
        .where(
            SessionEvent.session_id == cs.id,
            SessionEvent.kind.in_(("recording_started", "recording_paused", "recording_resumed")),
        )
        .order_by(SessionEvent.id.desc())
        .limit(1)
    )
    return state.view() | {
        "recording": running is not None,
        "paused": running is not None and last == "recording_paused",
    }


def answer_consent(db: Session, session_id: str, given: bool, now: datetime) -> RecordingState:
    """The customer's answer, where the template asks; it may be changed while the consultation
    runs (a withdrawn consent stops the recording: the caller stops it). Refused (409) where the
    template does not ask, or once the consultation ended."""
    cs = db.get(CareSession, session_id)
    if cs is None:
        raise NotFound(f"no session {session_id}")
    state = recording_state(db, cs)
    if state.mode != "ask":
        raise Conflict(f"this room's recording is {state.mode}: there is no consent to give")
    if cs.ended_at is not None:
        raise Conflict(f"this consultation is {cs.state}")
    cs.recording_consent = "given" if given else "declined"
    db.add(
        SessionEvent(
            session_id=cs.id, kind="recording_consent", detail={"consent": cs.recording_consent}, at=now
        )
    )
    db.commit()
    return RecordingState(state.mode, cs.recording_consent)


def start(db: Session, cs: CareSession, now: datetime) -> Recording:
    """A new recording's row (its folder is made after: see the module's docstring)."""
    rec_id = "rec" + secrets.token_hex(10)
    rec = Recording(
        id=rec_id,
        brand_id=cs.brand_id,
        session_id=cs.id,
        path=f"{cs.brand_id}/{cs.id}/{rec_id}",
        started_at=now,
    )
    db.add(rec)
    db.add(SessionEvent(session_id=cs.id, kind="recording_started", detail={"recording": rec_id}, at=now))
    db.commit()
    return rec


def finish(
    db: Session, rec_id: str, now: datetime, duration_s: float, size_bytes: int, motion_packets: int
) -> None:
    """A recording is complete (a row erased meanwhile stays erased)."""
    rec = db.get(Recording, rec_id)
    if rec is None:
        return
    rec.ended_at = now
    rec.duration_s = duration_s
    rec.size_bytes = size_bytes
    rec.motion_packets = motion_packets
    db.commit()


def discard(db: Session, rec_id: str) -> None:
    """A recording that could not start (its folder could not be made): its row goes."""
    db.execute(delete(Recording).where(Recording.id == rec_id))
    db.commit()


def folder(root: Path, rec: Recording | str) -> Path:
    path = rec if isinstance(rec, str) else rec.path
    if not _PATH.match(path):
        raise ValueError(f"not a recording's folder: {path!r}")
    return root / path


def brand_recordings(db: Session, brand_id: int, session_id: str | None = None) -> list[Recording]:
    query = select(Recording).where(Recording.brand_id == brand_id)
    if session_id is not None:
        query = query.where(Recording.session_id == session_id)
    return list(db.scalars(query.order_by(Recording.started_at, Recording.id)))


def get_recording(db: Session, brand_id: int, rec_id: str) -> Recording:
    """The brand's recording; another brand's is as missing as none."""
    rec = db.get(Recording, rec_id)
    if rec is None or rec.brand_id != brand_id:
        raise NotFound(f"no recording {rec_id}")
    return rec


def paths_of(db: Session, session_ids: Sequence[str]) -> list[str]:
    """The folders of the consultations' recordings (read before their rows are erased)."""
    if not session_ids:
        return []
    return list(db.scalars(select(Recording.path).where(Recording.session_id.in_(session_ids))))


def expire(db: Session, now: datetime) -> list[str]:
    """Delete the recordings older than their template's ``recording_days`` (one
    transaction, with an audit entry per brand); the folders to delete once committed."""
    due = db.execute(
        select(
            Recording.id,
            Recording.path,
            Recording.brand_id,
            RoomTemplate.recording_days,
            Recording.ended_at,
            Recording.started_at,
        )
        .join(CareSession, CareSession.id == Recording.session_id)
        .join(RoomTemplate, RoomTemplate.id == CareSession.template_id)
    ).all()
    gone: dict[int, list[str]] = {}
    paths = []
    for rec_id, path, brand_id, days, ended_at, started_at in due:
        # one never finished (the server stopped while recording) counts from its start
        if (ended_at or started_at) <= now - timedelta(days=days):
            gone.setdefault(brand_id, []).append(rec_id)
            paths.append(path)
    for brand_id, ids in gone.items():
        db.execute(delete(Recording).where(Recording.id.in_(ids)))
        record(db, brand_id, "retention", "recording.delete", {"recordings": sorted(ids)})
    db.commit()
    if paths:
        logger.info("retention: %d recordings deleted", len(paths))
    return paths


def delete_folders(root: Path, paths: list[str]) -> int:
    """Delete the recordings' folders (their rows are gone); how many were there."""
    deleted = 0
    for path in paths:
        target = folder(root, path)
        if target.is_dir():
            shutil.rmtree(target)
            deleted += 1
        # the session's and the brand's folders go too once empty
        for parent in (target.parent, target.parent.parent):
            try:
                parent.rmdir()
            except OSError:
                break
    return deleted


def stray_folders(db: Session, root: Path) -> list[str]:
    """Folders under ``root`` with no row (their erasure was committed, their deletion was not)."""
    if not root.is_dir():
        return []
    found = [
        p.relative_to(root).as_posix()
        for p in root.glob("*/*/*")
        if p.is_dir() and _PATH.match(p.relative_to(root).as_posix())
    ]
    # listed before the rows are read: a recording starting now has its row committed before its folder
    known = set(db.scalars(select(Recording.path)))
    return [path for path in found if path not in known]


def apply_recording_retention(db: Session, root: Path, now: datetime) -> int:
    """The hourly job's part: expired recordings and stray folders deleted; how many folders went."""
    paths = expire(db, now)
    paths += stray_folders(db, root)
    return delete_folders(root, paths)
