"""purge indexes: deleting a data key (a purge) finds the dossiers pointing to it by index instead
of scanning them all; the boxes' latest tombstones come from an index on their destruction date
instead of sorting every tombstone of the organisation; the dossiers without a rule and the export
files still held past their expiry (both usually none, looked for at each purge) are found by
partial indexes instead of a scan

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossier_data_key_id"), ["data_key_id"], unique=False)
    unscheduled, held = sa.text("rule IS NULL"), sa.text("content IS NOT NULL")
    op.create_index("ix_dossier_unscheduled", "dossier", ["id"], sqlite_where=unscheduled, postgresql_where=unscheduled)
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_expires_at"))
    op.create_index("ix_export_held_expiry", "export", ["expires_at"], sqlite_where=held, postgresql_where=held)
    with op.batch_alter_table("tombstone", schema=None) as batch_op:
        batch_op.drop_index("ix_tombstone_sender_sent")
        batch_op.drop_index("ix_tombstone_recipient_sent")
        batch_op.create_index("ix_tombstone_sender_destroyed", ["sender_id", "destroyed_at"], unique=False)
        batch_op.create_index("ix_tombstone_recipient_destroyed", ["recipient_id", "destroyed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tombstone", schema=None) as batch_op:
        batch_op.drop_index("ix_tombstone_recipient_destroyed")
        batch_op.drop_index("ix_tombstone_sender_destroyed")
        batch_op.create_index("ix_tombstone_recipient_sent", ["recipient_id", "sent_at"], unique=False)
        batch_op.create_index("ix_tombstone_sender_sent", ["sender_id", "sent_at"], unique=False)
    op.drop_index("ix_export_held_expiry", table_name="export")
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_expires_at"), ["expires_at"], unique=False)
    op.drop_index("ix_dossier_unscheduled", table_name="dossier")
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_data_key_id"))
