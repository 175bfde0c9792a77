"""retention: convention dates and parameters, dossier schedule, holds, purge runs, tombstones

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liaison.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "convention_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("convention_id", sa.Integer(), nullable=False),
        sa.Column("at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_label", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.String(length=64), nullable=False),
        sa.Column("new_value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user_account.id"], name=op.f("fk_convention_change_author_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["convention_id"], ["convention.id"], name=op.f("fk_convention_change_convention_id_convention")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_convention_change")),
    )
    with op.batch_alter_table("convention_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_convention_change_convention_id"), ["convention_id"], unique=False)

    op.create_table(
        "purge_run",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("started_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("trigger", sa.String(length=24), nullable=False),
        sa.Column("dossiers", sa.Integer(), nullable=False),
        sa.Column("sheets", sa.Integer(), nullable=False),
        sa.Column("exports", sa.Integer(), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=True),
        sa.Column("keep_until", sa.Date(), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["user_account.id"], name=op.f("fk_purge_run_approved_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purge_run")),
    )
    with op.batch_alter_table("purge_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purge_run_started_at"), ["started_at"], unique=False)

    op.create_table(
        "hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.String(length=36), nullable=True),
        sa.Column("convention_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), nullable=True),
        sa.Column("placed_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("release_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["convention_id"], ["convention.id"], name=op.f("fk_hold_convention_id_convention")),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_hold_dossier_id_dossier")),
        sa.ForeignKeyConstraint(["placed_by_id"], ["user_account.id"], name=op.f("fk_hold_placed_by_id_user_account")),
        sa.ForeignKeyConstraint(
            ["released_by_id"], ["user_account.id"], name=op.f("fk_hold_released_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hold")),
    )
    with op.batch_alter_table("hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hold_convention_id"), ["convention_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_hold_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "tombstone",
        sa.Column("sheet_id", sa.String(length=36), nullable=False),
        sa.Column("dossier_ref", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.Enum("FDL1", "FDL2", name="sheetkind", native_enum=False, length=8), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.String(length=24), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["organisation.id"], name=op.f("fk_tombstone_recipient_id_organisation")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["purge_run.id"], name=op.f("fk_tombstone_run_id_purge_run")),
        sa.ForeignKeyConstraint(["sender_id"], ["organisation.id"], name=op.f("fk_tombstone_sender_id_organisation")),
        sa.PrimaryKeyConstraint("sheet_id", name=op.f("pk_tombstone")),
    )
    with op.batch_alter_table("tombstone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tombstone_dossier_ref"), ["dossier_ref"], unique=False)
        batch_op.create_index("ix_tombstone_recipient_sent", ["recipient_id", "sent_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tombstone_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_tombstone_sender_sent", ["sender_id", "sent_at"], unique=False)

    op.create_table(
        "copy_attestation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.String(length=36), nullable=False),
        sa.Column("downloaded_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attested_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["sheet_id"], ["tombstone.sheet_id"], name=op.f("fk_copy_attestation_sheet_id_tombstone")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_copy_attestation_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_copy_attestation")),
        sa.UniqueConstraint("user_id", "sheet_id", name=op.f("uq_copy_attestation_user_id")),
    )
    with op.batch_alter_table("copy_attestation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_copy_attestation_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("convention", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("fse_programme", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("fse_last_payment_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("fse_control_end", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("non_integration_months", sa.Integer(), nullable=False, server_default="6"))
        batch_op.add_column(sa.Column("follow_up_months", sa.Integer(), nullable=False, server_default="3"))
        batch_op.add_column(sa.Column("post_convention_months", sa.Integer(), nullable=False, server_default="2"))
        batch_op.add_column(sa.Column("ceiling_years", sa.Integer(), nullable=False, server_default="10"))
        batch_op.add_column(
            sa.Column(
                "ceiling_choice",
                sa.Enum("CEILING", "FSE_DATE", name="ceilingchoice", native_enum=False, length=16),
                nullable=True,
            )
        )

    with op.batch_alter_table("data_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("epoch", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_data_key_epoch"), ["epoch"], unique=False)

    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("convention_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("received_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("integrated_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("exit_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("erasure_requested_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("active_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("destroy_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("rule", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("conflict", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f("ix_dossier_active_until"), ["active_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_dossier_convention_id"), ["convention_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dossier_destroy_on"), ["destroy_on"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_dossier_convention_id_convention"), "convention", ["convention_id"], ["id"]
        )

    # Dossiers of an earlier version: their latest sheet's day is taken as the receipt of the latest
    # sheet, their convention is their PLIE's, and their schedule (rule still NULL) is computed by
    # the next purge before it selects anything (liaison.services.retention.schedule_unscheduled).
    day = "CAST(created_at AS DATE)" if op.get_bind().dialect.name == "postgresql" else "date(created_at)"
    op.execute(f"UPDATE dossier SET received_on = (SELECT MAX({day}) FROM sheet WHERE sheet.dossier_id = dossier.id)")  # noqa: S608 - two fixed texts
    op.execute(
        "UPDATE dossier SET convention_id = (SELECT MIN(convention.id) FROM convention "
        "WHERE convention.plie_id = dossier.plie_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_dossier_convention_id_convention"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_dossier_destroy_on"))
        batch_op.drop_index(batch_op.f("ix_dossier_convention_id"))
        batch_op.drop_index(batch_op.f("ix_dossier_active_until"))
        batch_op.drop_column("conflict")
        batch_op.drop_column("rule")
        batch_op.drop_column("destroy_on")
        batch_op.drop_column("active_until")
        batch_op.drop_column("erasure_requested_on")
        batch_op.drop_column("exit_on")
        batch_op.drop_column("integrated_on")
        batch_op.drop_column("received_on")
        batch_op.drop_column("convention_id")

    with op.batch_alter_table("data_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_key_epoch"))
        batch_op.drop_column("epoch")

    with op.batch_alter_table("convention", schema=None) as batch_op:
        batch_op.drop_column("ceiling_choice")
        batch_op.drop_column("ceiling_years")
        batch_op.drop_column("post_convention_months")
        batch_op.drop_column("follow_up_months")
        batch_op.drop_column("non_integration_months")
        batch_op.drop_column("fse_control_end")
        batch_op.drop_column("fse_last_payment_on")
        batch_op.drop_column("fse_programme")
        batch_op.drop_column("ends_on")
        batch_op.drop_column("starts_on")

    with op.batch_alter_table("copy_attestation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_copy_attestation_user_id"))

    op.drop_table("copy_attestation")
    with op.batch_alter_table("tombstone", schema=None) as batch_op:
        batch_op.drop_index("ix_tombstone_sender_sent")
        batch_op.drop_index(batch_op.f("ix_tombstone_run_id"))
        batch_op.drop_index("ix_tombstone_recipient_sent")
        batch_op.drop_index(batch_op.f("ix_tombstone_dossier_ref"))

    op.drop_table("tombstone")
    with op.batch_alter_table("hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hold_dossier_id"))
        batch_op.drop_index(batch_op.f("ix_hold_convention_id"))

    op.drop_table("hold")
    with op.batch_alter_table("purge_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purge_run_started_at"))

    op.drop_table("purge_run")
    with op.batch_alter_table("convention_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_convention_change_convention_id"))

    op.drop_table("convention_change")
