"""The process's database: engine and sessions for the configured URL, schema migrated on start."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from avatar_care.core.config import Settings
from rooms.db import make_engine, migrate, session_factory

logger = logging.getLogger(__name__)


def open_database(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    logger.info("database ready: %s", engine.url.render_as_string(hide_password=True))
    return engine, session_factory(engine)
