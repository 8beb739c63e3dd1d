"""Customers' data rights: a retention period per room template, when a consultation's personal data
was erased, and the customer a message or callback request came from (to find it by their id).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("room_templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("care_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("contact_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_ref", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_contact_requests_customer_ref"), ["customer_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_requests_customer_ref"))
        batch_op.drop_column("customer_ref")
    with op.batch_alter_table("care_sessions", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("room_templates", schema=None) as batch_op:
        batch_op.drop_column("retention_days")
