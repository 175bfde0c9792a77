"""partnership keys; exports remember whether they used one

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liaison.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partnership_key",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("second_id", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_key.id"], name=op.f("fk_partnership_key_data_key_id_data_key")),
        sa.ForeignKeyConstraint(
            ["first_id"], ["organisation.id"], name=op.f("fk_partnership_key_first_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["second_id"], ["organisation.id"], name=op.f("fk_partnership_key_second_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["user_account.id"], name=op.f("fk_partnership_key_set_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnership_key")),
        sa.UniqueConstraint("first_id", "second_id", name=op.f("uq_partnership_key_first_id")),
    )
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partnership", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.drop_column("partnership")
    op.drop_table("partnership_key")
