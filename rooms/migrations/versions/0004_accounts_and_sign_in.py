"""People sign in: accounts can be disabled and carry an email and an OpenID subject; a brand's
sign-in settings (local passwords, its OpenID provider and provisioning rule); pending OpenID logins.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint("uq_operators_brand_id_oidc_subject", ["brand_id", "oidc_subject"])
    op.create_table(
        "brand_sign_in",
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("local_passwords", sa.Boolean(), nullable=False),
        sa.Column("oidc_issuer", sa.String(length=500), nullable=True),
        sa.Column("oidc_client_id", sa.String(length=200), nullable=True),
        sa.Column("oidc_client_secret", sa.String(length=500), nullable=True),
        sa.Column("oidc_email_domain", sa.String(length=200), nullable=True),
        sa.Column("oidc_group", sa.String(length=200), nullable=True),
        sa.Column("oidc_role_claim", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("brand_id"),
    )
    op.create_table(
        "oidc_logins",
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("state"),
    )
    with op.batch_alter_table("oidc_logins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_logins_brand_id"), ["brand_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oidc_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_logins_brand_id"))
    op.drop_table("oidc_logins")
    op.drop_table("brand_sign_in")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_constraint("uq_operators_brand_id_oidc_subject", type_="unique")
        batch_op.drop_column("oidc_subject")
        batch_op.drop_column("email")
        batch_op.drop_column("disabled")
