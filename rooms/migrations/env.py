"""Alembic environment: runs on the connection ``rooms.db.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from rooms import models  # noqa: F401 - registers every table on Base.metadata
from rooms.db import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through rooms.db.migrate(engine)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
