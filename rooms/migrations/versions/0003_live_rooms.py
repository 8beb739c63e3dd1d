"""The live room a connected session sits in (shared by the customers of one shared room).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("care_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("live_room_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_care_sessions_live_room_id"), ["live_room_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("care_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_sessions_live_room_id"))
        batch_op.drop_column("live_room_id")
