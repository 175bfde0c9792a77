"""scale indexes: the DPO's calendar and schedule read a PLIE's dossiers grouped by date, rule and
convention in the order of an index and stop at the last row shown, instead of grouping every
dossier; the dossiers awaiting the DPO's decision are counted through a partial index, not a scan;
the boxes' indexes end with the sheet's id, the tie-break of their order, so that a page (and the
rows a page number skips) is read in the index's order without sorting; every page's count of the
unopened sheets reads a partial index of those only

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

AWAITING_DPO_DECISION = sa.text("rule = 'arbitrage_dpo'")  # as liaison.models writes it
UNREAD = sa.text("read_at IS NULL")
BOXES = {"ix_sheet_recipient_created": "recipient_id", "ix_sheet_sender_created": "sender_id"}


def upgrade() -> None:
    for name, column in BOXES.items():
        op.drop_index(name, table_name="sheet")
        op.create_index(name, "sheet", [column, "created_at", "id"])
    op.create_index(
        "ix_sheet_unread",
        "sheet",
        ["recipient_id", "read_at", "dossier_id"],
        sqlite_where=UNREAD,
        postgresql_where=UNREAD,
    )
    op.create_index("ix_dossier_plie_schedule", "dossier", ["plie_id", "destroy_on", "rule", "convention_id"])
    op.create_index(
        "ix_dossier_awaiting_dpo",
        "dossier",
        ["plie_id", "rule"],
        sqlite_where=AWAITING_DPO_DECISION,
        postgresql_where=AWAITING_DPO_DECISION,
    )


def downgrade() -> None:
    op.drop_index("ix_sheet_unread", table_name="sheet")
    op.drop_index("ix_dossier_awaiting_dpo", table_name="dossier")
    op.drop_index("ix_dossier_plie_schedule", table_name="dossier")
    for name, column in BOXES.items():
        op.drop_index(name, table_name="sheet")
        op.create_index(name, "sheet", [column, "created_at"])
