"""Persistence: one SQLAlchemy engine and its schema, kept up to date by Alembic migrations.

SQLite in the data directory is the embedded default; PostgreSQL (``postgresql://…``, through
psycopg 3) runs the same code, and the tests run the persistence on both (tests/conftest.py). The
models use only portable types, the migrations are plain Alembic, and ``rooms.storable`` holds every
value to what both can store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    URL,
    Connection,
    DateTime,
    Dialect,
    Engine,
    TypeDecorator,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from rooms.clock import as_utc
from rooms.storable import guard

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: PostgreSQL advisory lock id taken while migrating (any constant the application uses for nothing else)
MIGRATION_LOCK_KEY = 0x61766361  # "avca"
_MIGRATING = threading.Lock()


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """An instant: ``timestamptz`` on PostgreSQL, text on SQLite, always in UTC in between.

    Written in UTC, because SQLite's text keeps the wall time and drops the offset (a callback at
    10:00+02:00 would read back as 10:00 UTC); read back aware and in UTC on both, whatever the
    PostgreSQL session's ``TimeZone``. A naive datetime is refused: which zone it meant is unknown."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"an instant needs a time zone: {value.isoformat()}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def normalized_url(url: str) -> URL:
    """The URL with PostgreSQL's driver made explicit: ``postgresql://`` (and the older
    ``postgres://`` many hosts hand out) would otherwise ask for psycopg2, which is not installed."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


#: Connections one engine keeps open, and how many more it may open in a burst. The server runs up
#: to 40 requests at once (the web framework's thread pool), and a request that holds a session can
#: wait for the desk, which takes one more: with SQLAlchemy's default 5 + 10, a burst of 40 joins
#: left requests holding the whole pool while the desk waited for a connection, and most of them
#: failed after the pool's 30 s timeout. 10 + 50 covers the thread pool, the desk and the ticker;
#: PostgreSQL's default max_connections is 100.
POOL_SIZE = 10
POOL_OVERFLOW = 50


def make_engine(url: str) -> Engine:
    parsed = normalized_url(url)
    backend = parsed.get_backend_name()
    pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        return create_engine(parsed)  # one connection's private database: there is no pool to size
    if backend == "sqlite":
        # A writer waits up to 30 s for another's lock (a migration at start-up, a busy moment)
        # instead of failing after the driver's default 5 s.
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record) -> None:  # type: ignore[no-untyped-def]
            # Foreign keys are off by default in SQLite; WAL lets readers go on while one writes.
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    if backend == "postgresql":
        # The name shows in pg_stat_activity, so a database shared with others tells our sessions apart.
        named = {} if "application_name" in parsed.query else {"application_name": "avatar-care"}
        return create_engine(parsed, pool_pre_ping=True, connect_args=named, **pool)
    return create_engine(parsed, pool_pre_ping=True)


def _alembic(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _migration_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the database's migration lock, so processes starting together (a
    rolling deploy, commands run side by side) migrate one after the other: the later ones find the
    schema at head and do nothing, instead of failing on tables that appeared meanwhile."""
    # Alembic's context lives in module globals: one migration at a time in this process too.
    with _MIGRATING, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Held until commit; the DDL is transactional there, so the next one sees it all or none.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        elif connection.dialect.name == "sqlite":
            # The driver begins transactions only before DML, leaving DDL in autocommit: take the
            # write lock first, so the version check and the DDL after it are one transaction.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection


def migrate(engine: Engine) -> None:
    """Bring the database's schema to the newest migration (idempotent)."""
    with _migration_transaction(engine) as connection:
        command.upgrade(_alembic(connection), "head")


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` ("base" drops every table the migrations made)."""
    with _migration_transaction(engine) as connection:
        command.downgrade(_alembic(connection), revision)


def schema_problem(engine: Engine) -> str | None:
    """Why the database cannot serve now (unreachable, or its schema not at the newest migration),
    or None when it can."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        return f"the database is unreachable: {type(exc).__name__}"
    if current != heads:
        return f"the database schema is at {sorted(current) or 'nothing'}, not at {sorted(heads)}"
    return None


def commit_first_wins(session: Session) -> bool:
    """Commit; False (and the change rolled back) if a concurrent writer took the same key first.

    For check-then-insert steps (a survey answer, a login, a one-time id): the check alone cannot
    see a writer that has not committed yet, on either database, so the key decides the race."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose records are checked to be storable on every supported database first."""
    return guard(sessionmaker(bind=engine, expire_on_commit=False))
