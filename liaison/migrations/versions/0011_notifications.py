"""notifications: the email outbox and each person's choices.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liaison.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KINDS = (
    "fiche_recue",
    "reponse_attendue",
    "accuse_reception",
    "destruction_proche",
    "copies_a_supprimer",
    "compte_inactif",
)


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum(*KINDS, name="notificationkind", native_enum=False, length=24), nullable=False),
        sa.Column("dedupe", sa.String(length=120), nullable=True),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "failed",
                "dropped",
                "interrupted",
                name="notificationstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_notification_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("dedupe", name=op.f("uq_notification_dedupe")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_status"), ["status"], unique=False)
    op.create_table(
        "notification_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum(*KINDS, name="notificationkind", native_enum=False, length=24), nullable=False),
        sa.Column(
            "mode",
            sa.Enum("immediat", "quotidien", "jamais", name="notificationmode", native_enum=False, length=16),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_notification_preference_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notification_preference")),
    )


def downgrade() -> None:
    op.drop_table("notification_preference")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_status"))
        batch_op.drop_index(batch_op.f("ix_notification_due_at"))
        batch_op.drop_index(batch_op.f("ix_notification_user_id"))
    op.drop_table("notification")
