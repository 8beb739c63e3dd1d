"""Recording of consultations: each template's mode (off, ask, always) and how long its recordings
are kept, the customer's consent, and the recordings' index (their files are in the data directory).

Revision ID: 0012
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("room_templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recording", sa.String(length=10), server_default="off", nullable=False)
        )
        batch_op.add_column(sa.Column("recording_days", sa.Integer(), server_default="30", nullable=False))
    with op.batch_alter_table("care_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recording_consent", sa.String(length=10), nullable=True))
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("motion_packets", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["care_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recordings_brand_id"), ["brand_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recordings_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_session_id"))
        batch_op.drop_index(batch_op.f("ix_recordings_brand_id"))
    op.drop_table("recordings")
    with op.batch_alter_table("care_sessions", schema=None) as batch_op:
        batch_op.drop_column("recording_consent")
    with op.batch_alter_table("room_templates", schema=None) as batch_op:
        batch_op.drop_column("recording_days")
        batch_op.drop_column("recording")
