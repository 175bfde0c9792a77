"""tenants and accounts: an organisation's SIRET and cap of active accounts; a user's email, a
temporary password to change, the inactivity warning and why an account was disabled; the PLIE
whose breach register holds a breach; each PLIE's part of a purge run (counts, certificate,
approval). Requests and breaches recorded before get the PLIE of the DPO who recorded them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liaison.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("siret", sa.String(length=14), nullable=True))
        batch_op.add_column(sa.Column("max_active_accounts", sa.Integer(), nullable=True))
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("inactivity_warned_at", liaison.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_user_account_email"), ["email"], unique=False)
    with op.batch_alter_table("breach", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plie_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_breach_plie_id"), ["plie_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_breach_plie_id_organisation"), "organisation", ["plie_id"], ["id"])
    op.create_table(
        "purge_run_plie",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("plie_id", sa.Integer(), nullable=False),
        sa.Column("dossiers", sa.Integer(), nullable=False),
        sa.Column("sheets", sa.Integer(), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=True),
        sa.Column("approval", sa.String(length=24), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["user_account.id"], name=op.f("fk_purge_run_plie_approved_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["plie_id"], ["organisation.id"], name=op.f("fk_purge_run_plie_plie_id_organisation")),
        sa.ForeignKeyConstraint(["run_id"], ["purge_run.id"], name=op.f("fk_purge_run_plie_run_id_purge_run")),
        sa.PrimaryKeyConstraint("run_id", "plie_id", name=op.f("pk_purge_run_plie")),
    )
    with op.batch_alter_table("purge_run_plie", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purge_run_plie_plie_id"), ["plie_id"], unique=False)
    # What was recorded before belongs to the PLIE of the DPO who recorded it.
    for table in ("breach", "subject_request"):
        op.execute(
            f"UPDATE {table} SET plie_id = (SELECT u.organisation_id FROM user_account u "  # noqa: S608 - fixed names
            f"JOIN organisation o ON o.id = u.organisation_id WHERE u.id = {table}.recorded_by_id "
            "AND o.kind = 'PLIE') WHERE plie_id IS NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("purge_run_plie", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purge_run_plie_plie_id"))
    op.drop_table("purge_run_plie")
    with op.batch_alter_table("breach", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_breach_plie_id_organisation"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_breach_plie_id"))
        batch_op.drop_column("plie_id")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_email"))
        batch_op.drop_column("inactivity_warned_at")
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("email")
        batch_op.drop_column("disabled_reason")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("max_active_accounts")
        batch_op.drop_column("siret")
