"""lists built around people: blind indexes of the sheets, the orientation's answer, duplicates.

The sheets stored before this revision get their blind indexes from ``liaison init`` (it needs
the keys, which a migration does not hold).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liaison.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sheet_term",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("sheet_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["sheet_id"], ["sheet.id"], name=op.f("fk_sheet_term_sheet_id_sheet")),
        sa.PrimaryKeyConstraint("term", "sheet_id", name=op.f("pk_sheet_term")),
    )
    with op.batch_alter_table("sheet_term", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sheet_term_sheet_id"), ["sheet_id"], unique=False)
    with op.batch_alter_table("sheet", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("answered_at", liaison.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "answer",
                sa.Enum("integree", "refusee", "repondue", name="orientationanswer", native_enum=False, length=24),
                nullable=True,
            )
        )
        batch_op.create_index(batch_op.f("ix_sheet_content_index"), ["content_index"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sheet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sheet_content_index"))
        batch_op.drop_column("answer")
        batch_op.drop_column("answered_at")
        batch_op.drop_column("content_index")
    with op.batch_alter_table("sheet_term", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sheet_term_sheet_id"))
    op.drop_table("sheet_term")
