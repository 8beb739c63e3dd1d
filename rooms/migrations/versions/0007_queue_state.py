"""The queue's state in tables (waiting customers, offers, running rooms, operators as routing sees
them), so that several server processes on one PostgreSQL database share one queue. Created on
SQLite too, where they stay empty (one process keeps the state in memory).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "queue_operators",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("idle_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("presence", sa.String(length=16), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "queue_waiting",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("only_operator", sa.String(length=32), nullable=True),
        sa.Column("declined_by", sa.JSON(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "queue_offers",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("operator_id", sa.String(length=32), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("room_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "queue_rooms",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("operator_id", sa.String(length=32), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=32), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customers", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    for table in ("queue_rooms", "queue_offers", "queue_waiting", "queue_operators", "queue_version"):
        op.drop_table(table)
