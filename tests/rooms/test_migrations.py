"""The Alembic migrations on each database: from empty to the models exactly, down to empty, up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from rooms.brands import create_brand
from rooms.db import Base, downgrade, make_engine, migrate, session_factory
from rooms.models import Brand

TABLES = {
    "brands",
    "avatars",
    "audit_log",
    "brand_secrets",
    "supervision_settings",
    "room_templates",
    "operators",
    "operator_tokens",
    "used_join_tokens",
    "care_sessions",
    "session_events",
    "chat_messages",
    "contact_requests",
    "problem_reports",
    "survey_answers",
    "catalogue_items",
    "cart_lines",
    "brand_sign_in",
    "oidc_logins",
    "queue_version",
    "queue_operators",
    "queue_waiting",
    "queue_offers",
    "queue_changes",
    "metrics_snapshots",
    "queue_rooms",
    "recordings",
    "room_workers",
    "room_placements",
}


def differences(engine: Engine) -> list[object]:
    """What Alembic's autogenerate would change to make the database match the models (nothing, we hope)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_upgrade_from_empty_builds_exactly_the_models_and_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert revision(engine) is None
        migrate(engine)
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        assert differences(engine) == []
        head = revision(engine)
        migrate(engine)  # a restart runs them again: nothing changes
        assert revision(engine) == head and differences(engine) == []
    finally:
        engine.dispose()


def test_downgrade_to_empty_and_upgrade_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with session_factory(engine)() as s:
            create_brand(s, "Ottica Rossi")
        downgrade(engine, "0001")
        assert set(inspect(engine).get_table_names()) == {"brands", "avatars", "audit_log", "alembic_version"}
        with session_factory(engine)() as s:  # the first revision's data is untouched
            assert [b.name for b in s.scalars(select(Brand))] == ["Ottica Rossi"]
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        assert revision(engine) is None
        migrate(engine)
        assert differences(engine) == []
        with session_factory(engine)() as s:  # ids start over on a rebuilt schema
            assert create_brand(s, "Moda Bianchi")[0].id == 1
    finally:
        engine.dispose()
