"""The queue's recent changes by version (a process reads again only the rows changed since its
copy), and each server process's Prometheus figures (``/metrics`` of any process lists them all).

Revision ID: 0014
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_changes",
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("table_name", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("version", "table_name", "key"),
    )
    op.create_table(
        "metrics_snapshots",
        sa.Column("process_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("process_id"),
    )
    with op.batch_alter_table("metrics_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_metrics_snapshots_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("metrics_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metrics_snapshots_updated_at"))
    op.drop_table("metrics_snapshots")
    op.drop_table("queue_changes")
