"""Whether a brand tells its customers that a supervisor listens in (a table of the brand's
supervision settings: no row, the default, not told).

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_settings",
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("listening_announced", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("brand_id"),
    )


def downgrade() -> None:
    op.drop_table("supervision_settings")
