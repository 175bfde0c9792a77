"""requests and breaches: data-subject requests (and the dossiers they concern), the breach register

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 19:26:55
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liaison.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discovered_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "nature",
            sa.Enum(
                "LOST_DEVICE",
                "WRONG_RECIPIENT",
                "UNAUTHORISED_ACCESS",
                "MALWARE",
                "OTHER",
                name="breachnature",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("window_start", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("partner_notified_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cnil_notified_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_breach_organisation_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user_account.id"], name=op.f("fk_breach_recorded_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_breach_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach")),
    )
    with op.batch_alter_table("breach", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_breach_discovered_at"), ["discovered_at"], unique=False)

    op.create_table(
        "subject_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("ACCESS", "RECTIFICATION", "ERASURE", name="requestkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("extension_announced_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "status", sa.Enum("OPEN", "ANSWERED", name="requeststatus", native_enum=False, length=16), nullable=False
        ),
        sa.Column("answered_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "ACCESS_SENT",
                "RECTIFIED_BY_SENDER",
                "ERASED",
                "RESTRICTED_FSE",
                "RESTRICTED_HOLD",
                "NOTHING_HELD",
                name="requestoutcome",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("plie_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["user_account.id"], name=op.f("fk_subject_request_closed_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["plie_id"], ["organisation.id"], name=op.f("fk_subject_request_plie_id_organisation")),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user_account.id"], name=op.f("fk_subject_request_recorded_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_request")),
    )
    with op.batch_alter_table("subject_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subject_request_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_subject_request_status"), ["status"], unique=False)

    op.create_table(
        "subject_request_dossier",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["subject_request.id"], name=op.f("fk_subject_request_dossier_request_id_subject_request")
        ),
        sa.PrimaryKeyConstraint("request_id", "dossier_id", name=op.f("pk_subject_request_dossier")),
    )


def downgrade() -> None:
    op.drop_table("subject_request_dossier")
    with op.batch_alter_table("subject_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_request_status"))
        batch_op.drop_index(batch_op.f("ix_subject_request_due_on"))

    op.drop_table("subject_request")
    with op.batch_alter_table("breach", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_breach_discovered_at"))

    op.drop_table("breach")
