"""Problem reports become tickets (status, the brand's answer, who answered and closed, when); each
room template has its own service-level threshold (20 s, as before, for templates already stored).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("problem_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=20), server_default="open", nullable=False))
        batch_op.add_column(sa.Column("answer", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("answered_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_problem_reports_status"), ["status"], unique=False)
    with op.batch_alter_table("room_templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_level_s", sa.Float(), server_default="20", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("room_templates", schema=None) as batch_op:
        batch_op.drop_column("service_level_s")
    with op.batch_alter_table("problem_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problem_reports_status"))
        for column in ("closed_at", "closed_by", "answered_at", "answered_by", "answer", "status"):
            batch_op.drop_column(column)
