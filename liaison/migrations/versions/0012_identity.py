"""identity: ProConnect bindings, ProConnect-only accounts, a local second factor and its recovery codes,
and what a web session knows of how it was opened.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liaison.models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proconnect_idp_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("proconnect_sub", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("proconnect_bound_at", liaison.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("proconnect_only", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.create_unique_constraint(
            batch_op.f("uq_user_account_proconnect_idp_id"), ["proconnect_idp_id", "proconnect_sub"]
        )

    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending_second_factor", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.add_column(sa.Column("second_factor_at", liaison.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("proconnect_id_token", sa.Text(), nullable=True))

    op.create_table(
        "second_factor",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.Column("enrolling_session", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["key_id"], ["data_key.id"], name=op.f("fk_second_factor_key_id_data_key")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_second_factor_user_id_user_account")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_second_factor")),
    )
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_recovery_code_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
        sa.UniqueConstraint("digest", name=op.f("uq_recovery_code_digest")),
    )
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_code_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_code_user_id"))
    op.drop_table("recovery_code")
    op.drop_table("second_factor")
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_column("proconnect_id_token")
        batch_op.drop_column("second_factor_at")
        batch_op.drop_column("pending_second_factor")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_user_account_proconnect_idp_id"), type_="unique")
        batch_op.drop_column("proconnect_only")
        batch_op.drop_column("proconnect_bound_at")
        batch_op.drop_column("proconnect_sub")
        batch_op.drop_column("proconnect_idp_id")
