"""Room workers: the processes that run live rooms (their signaling URL and heartbeat) and which
worker runs which room. Created on SQLite too, where they stay empty (rooms run in the one process).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "room_workers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("signaling_url", sa.String(length=300), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rooms", sa.Integer(), nullable=False),
        sa.Column("cpu_percent", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("room_workers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_workers_heartbeat_at"), ["heartbeat_at"], unique=False)
    op.create_table(
        "room_placements",
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("room_id"),
    )
    with op.batch_alter_table("room_placements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_placements_worker_id"), ["worker_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("room_placements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_placements_worker_id"))
    op.drop_table("room_placements")
    with op.batch_alter_table("room_workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_workers_heartbeat_at"))
    op.drop_table("room_workers")
