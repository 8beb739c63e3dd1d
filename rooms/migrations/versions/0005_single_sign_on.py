"""Single sign-on: a pending OpenID login remembers which page to return to; a brand may map the
values of its role claim to the roles.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_logins", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("return_to", sa.String(length=20), server_default="admin", nullable=False)
        )
    with op.batch_alter_table("brand_sign_in", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oidc_role_map", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("brand_sign_in", schema=None) as batch_op:
        batch_op.drop_column("oidc_role_map")
    with op.batch_alter_table("oidc_logins", schema=None) as batch_op:
        batch_op.drop_column("return_to")
