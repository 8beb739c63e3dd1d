"""The brand's room as configured: a colour and an uploaded logo per room template (its scene and
greeting were already stored).

Revision ID: 0013
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("room_templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("brand_color", sa.String(length=7), nullable=False, server_default="#2f6f8f")
        )
        batch_op.add_column(sa.Column("logo_file", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("room_templates", schema=None) as batch_op:
        batch_op.drop_column("logo_file")
        batch_op.drop_column("brand_color")
