"""hardening: server-side web sessions, API tokens with a name and an expiry, failure counters.

Existing tokens get an expiry 90 days after their creation (the default lifetime).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

import liaison.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

DEFAULT_TOKEN_LIFETIME = dt.timedelta(days=90)


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_web_session_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "throttle",
        sa.Column("scope", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope", "subject", name=op.f("pk_throttle")),
    )
    with op.batch_alter_table("throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_throttle_last_failure_at"), ["last_failure_at"], unique=False)

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(sa.Column("expires_at", liaison.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", liaison.models.UTCDateTime(timezone=True), nullable=True))

    tokens = sa.table(
        "api_token",
        sa.column("id", sa.Integer),
        sa.column("created_at", liaison.models.UTCDateTime(timezone=True)),
        sa.column("expires_at", liaison.models.UTCDateTime(timezone=True)),
    )
    connection = op.get_bind()
    for token_id, created_at in connection.execute(sa.select(tokens.c.id, tokens.c.created_at)).all():
        connection.execute(
            tokens.update().where(tokens.c.id == token_id).values(expires_at=created_at + DEFAULT_TOKEN_LIFETIME)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("name")
    with op.batch_alter_table("throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_throttle_last_failure_at"))
    op.drop_table("throttle")
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_user_id"))
    op.drop_table("web_session")
