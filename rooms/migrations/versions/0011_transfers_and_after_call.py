"""Transfers and after-call work: a room template's wrap-up codes (required or not) and after-call
time box; on a consultation the operator a refused transfer goes back to, the colleague consulted
before a warm transfer, and its after-call work (time box, code required, code given and when); in
the queue's state the same operator to go back to and each operator's after-call work.

Revision ID: 0011
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("room_templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wrap_up_codes", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("wrap_up_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("after_call_s", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("care_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_to", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("consult_with", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("consult_accepted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("after_call_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("wrap_up_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("wrap_up_code", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("wrapped_up_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("queue_waiting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_to", sa.String(length=32), nullable=True))
    with op.batch_alter_table("queue_operators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("after_call", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("queue_operators", schema=None) as batch_op:
        batch_op.drop_column("after_call")
    with op.batch_alter_table("queue_waiting", schema=None) as batch_op:
        batch_op.drop_column("return_to")
    with op.batch_alter_table("care_sessions", schema=None) as batch_op:
        for column in (
            "wrapped_up_at",
            "wrap_up_code",
            "wrap_up_required",
            "after_call_until",
            "consult_accepted",
            "consult_with",
            "return_to",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("room_templates", schema=None) as batch_op:
        batch_op.drop_column("after_call_s")
        batch_op.drop_column("wrap_up_required")
        batch_op.drop_column("wrap_up_codes")
