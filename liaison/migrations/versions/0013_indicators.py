"""indicators: the convention's figures, counted as events happen, and what a dossier counted already.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicator_count",
        sa.Column("convention_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["organisation.id"], name=op.f("fk_indicator_count_agency_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["convention_id"], ["convention.id"], name=op.f("fk_indicator_count_convention_id_convention")
        ),
        sa.PrimaryKeyConstraint("convention_id", "agency_id", "month", "indicator", name=op.f("pk_indicator_count")),
    )
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusal_counted", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.add_column(sa.Column("exit_counted", sa.Boolean(), server_default=sa.text("false"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_column("exit_counted")
        batch_op.drop_column("refusal_counted")
    op.drop_table("indicator_count")
