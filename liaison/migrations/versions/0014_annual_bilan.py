"""annual bilan: a convention's yearly « Bilan Quantitatif » and « Bilan Qualitatif », typed counts,
answers, the two sides' signatures, and the snapshot of what was signed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 23:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SIDES = sa.Enum("plie", "agence", name="bilanside", native_enum=False, length=16)
ASSESSMENTS = sa.Enum(
    "tres_satisfaisant",
    "satisfaisant",
    "a_ameliorer",
    "insatisfaisant",
    name="assessment",
    native_enum=False,
    length=24,
)


def upgrade() -> None:
    op.create_table(
        "annual_bilan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("convention_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snapshot", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["convention_id"], ["convention.id"], name=op.f("fk_annual_bilan_convention_id_convention")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_bilan")),
        sa.UniqueConstraint("convention_id", "year", name=op.f("uq_annual_bilan_convention_id")),
    )
    op.create_table(
        "bilan_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bilan_id", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("side", SIDES, nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=False),
        sa.Column("entered_by_login", sa.String(length=64), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bilan_id"], ["annual_bilan.id"], name=op.f("fk_bilan_value_bilan_id_annual_bilan")),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["user_account.id"], name=op.f("fk_bilan_value_entered_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bilan_value")),
        sa.UniqueConstraint("bilan_id", "indicator", name=op.f("uq_bilan_value_bilan_id")),
    )
    op.create_index(op.f("ix_bilan_value_bilan_id"), "bilan_value", ["bilan_id"], unique=False)
    op.create_table(
        "bilan_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bilan_id", sa.Integer(), nullable=False),
        sa.Column("side", SIDES, nullable=False),
        sa.Column("point", sa.String(length=64), nullable=False),
        sa.Column("assessment", ASSESSMENTS, nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=False),
        sa.Column("answered_by_login", sa.String(length=64), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bilan_id"], ["annual_bilan.id"], name=op.f("fk_bilan_answer_bilan_id_annual_bilan")),
        sa.ForeignKeyConstraint(
            ["answered_by_id"], ["user_account.id"], name=op.f("fk_bilan_answer_answered_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bilan_answer")),
        sa.UniqueConstraint("bilan_id", "side", "point", name=op.f("uq_bilan_answer_bilan_id")),
    )
    op.create_index(op.f("ix_bilan_answer_bilan_id"), "bilan_answer", ["bilan_id"], unique=False)
    op.create_table(
        "bilan_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bilan_id", sa.Integer(), nullable=False),
        sa.Column("side", SIDES, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_code", sa.String(length=32), nullable=False),
        sa.Column("organisation_name", sa.String(length=120), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bilan_id"], ["annual_bilan.id"], name=op.f("fk_bilan_signature_bilan_id_annual_bilan")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_bilan_signature_organisation_id_organisation")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_bilan_signature_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bilan_signature")),
        sa.UniqueConstraint("bilan_id", "side", name=op.f("uq_bilan_signature_bilan_id")),
    )
    op.create_index(op.f("ix_bilan_signature_bilan_id"), "bilan_signature", ["bilan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_bilan_signature_bilan_id"), table_name="bilan_signature")
    op.drop_table("bilan_signature")
    op.drop_index(op.f("ix_bilan_answer_bilan_id"), table_name="bilan_answer")
    op.drop_table("bilan_answer")
    op.drop_index(op.f("ix_bilan_value_bilan_id"), table_name="bilan_value")
    op.drop_table("bilan_value")
    op.drop_table("annual_bilan")
