"""drafts: sheet forms kept for their author, sealed, destroyed after 30 days.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liaison.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draft",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("FDL1", "FDL2", name="sheetkind", native_enum=False, length=8), nullable=False),
        sa.Column(
            "origin", sa.Enum("brouillon", "session", name="draftorigin", native_enum=False, length=16), nullable=False
        ),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_key.id"], name=op.f("fk_draft_data_key_id_data_key")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_draft_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft")),
    )
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draft_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_draft_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draft_updated_at"))
        batch_op.drop_index(batch_op.f("ix_draft_user_id"))
    op.drop_table("draft")
