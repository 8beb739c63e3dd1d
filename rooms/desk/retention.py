"""How long a consultation's data is kept: the templates decide. Chat goes at the end where
``keep_transcripts`` is off, after ``transcript_days`` otherwise; where ``retention_days`` is set,
the whole consultation's personal data is erased after that many days (``rooms.data_rights``), its
times, outcome and rating kept for the figures; recordings go after the template's
``recording_days`` (``rooms.recordings``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from rooms.data_rights import erase_expired
from rooms.desk.records import FINAL_STATES
from rooms.models import CareSession, ChatMessage, RoomTemplate
from rooms.recordings import apply_recording_retention, delete_folders

logger = logging.getLogger(__name__)


def drop_unkept_chat(db: Session, cs: CareSession) -> None:
    """At the end of a session whose template keeps no transcripts: its chat goes at once."""
    template = db.get(RoomTemplate, cs.template_id)
    if template is not None and not template.keep_transcripts:
        db.execute(delete(ChatMessage).where(ChatMessage.session_id == cs.id))
        db.commit()


def purge_transcripts(sessions: sessionmaker[Session], now: datetime) -> int:
    """Delete chat the templates say not to keep: at once after the end where transcripts are not
    kept, after ``transcript_days`` otherwise. The number of messages deleted."""
    removed = 0
    with sessions() as db:
        for template in db.scalars(select(RoomTemplate)):
            keep = timedelta(days=template.transcript_days) if template.keep_transcripts else timedelta(0)
            done = db.scalars(
                select(CareSession.id).where(
                    CareSession.template_id == template.id,
                    CareSession.state.in_(FINAL_STATES),
                    CareSession.ended_at.is_not(None),
                    CareSession.ended_at <= now - keep,
                )
            ).all()
            if done:
                result = db.execute(delete(ChatMessage).where(ChatMessage.session_id.in_(done)))
                removed += int(getattr(result, "rowcount", 0) or 0)
        db.commit()
    if removed:
        logger.info("retention: %d chat messages deleted", removed)
    return removed


def apply_retention(
    sessions: sessionmaker[Session], now: datetime, recordings_dir: Path | None = None
) -> tuple[int, int]:
    """The hourly job: chat past its template's transcript days, then consultations past their
    template's retention (with their recordings), then recordings past their template's
    ``recording_days`` and folders left without a row (where ``recordings_dir`` is given). The
    messages deleted and the consultations erased."""
    messages = purge_transcripts(sessions, now)
    with sessions() as db:
        erased, paths = erase_expired(db, now)
    if recordings_dir is not None:
        delete_folders(recordings_dir, paths)
        with sessions() as db:
            apply_recording_retention(db, recordings_dir, now)
    return messages, erased
