"""The process's database: engine and sessions for the configured URL, schema migrated on start."""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import IO

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from avatar_care.core.config import Settings
from rooms.db import make_engine, migrate, normalized_url, session_factory

logger = logging.getLogger(__name__)


def open_database(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    logger.info("database ready: %s", engine.url.render_as_string(hide_password=True))
    return engine, session_factory(engine)


class SQLiteInUse(RuntimeError):
    """Another server process already serves this SQLite file."""


def claim_sqlite_file(settings: Settings) -> IO[bytes] | None:
    """On SQLite, a lock on a file beside the database for as long as the server runs (keep the
    returned file open): a second server on the same file is refused before it touches anything.
    Its queue would live in its own memory, so two would each route on their own, and its start-up
    would set every operator of the running one offline. None on PostgreSQL, where several
    processes share the queue (``rooms.desk.peers``), and for a database in memory."""
    url = normalized_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(str(url.database))
    database.parent.mkdir(parents=True, exist_ok=True)
    held = database.with_name(database.name + ".server-lock").open("a+b")
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        held.close()
        raise SQLiteInUse(
            f"another avatar-care server already serves {database}; SQLite serves one process "
            "(for several, use PostgreSQL: docs/customer-care.md)"
        ) from None
    return held
