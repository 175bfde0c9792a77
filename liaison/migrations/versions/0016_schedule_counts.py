"""schedule counts: how many dossiers of a PLIE are due on each day, by rule and convention, written
by triggers on ``dossier`` as rows of +1 and -1 (liaison.models.ScheduleCount), so that the DPO's
calendar, schedule and overview sum a few hundred rows instead of counting up to a million
dossiers; the index they read the dossiers by (ix_dossier_plie_schedule) goes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# A dossier's group, never NULL: liaison.models.UNDATED, "" and NO_CONVENTION written out (a
# migration keeps the values it was written with). Rows are only inserted: no trigger ever waits
# for a row another transaction holds.
ADDED = """
    INSERT INTO schedule_count (plie_id, destroy_on, rule, convention_id, dossiers)
    VALUES (NEW.plie_id, COALESCE(NEW.destroy_on, '9999-12-31'), COALESCE(NEW.rule, ''),
            COALESCE(NEW.convention_id, 0), 1);
"""
TAKEN = """
    INSERT INTO schedule_count (plie_id, destroy_on, rule, convention_id, dossiers)
    VALUES (OLD.plie_id, COALESCE(OLD.destroy_on, '9999-12-31'), COALESCE(OLD.rule, ''),
            COALESCE(OLD.convention_id, 0), -1);
"""
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER schedule_count_insert AFTER INSERT ON dossier BEGIN {ADDED} END",
    f"CREATE TRIGGER schedule_count_delete AFTER DELETE ON dossier BEGIN {TAKEN} END",
    f"""
    CREATE TRIGGER schedule_count_update AFTER UPDATE OF plie_id, destroy_on, rule, convention_id ON dossier
    WHEN OLD.plie_id IS NOT NEW.plie_id OR OLD.destroy_on IS NOT NEW.destroy_on OR OLD.rule IS NOT NEW.rule
      OR OLD.convention_id IS NOT NEW.convention_id
    BEGIN {TAKEN} {ADDED} END
    """,
)
POSTGRESQL_TRIGGERS = (
    f"""
    CREATE FUNCTION schedule_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN {TAKEN} END IF;
        IF TG_OP <> 'DELETE' THEN {ADDED} END IF;
        RETURN NULL;
    END
    $$
    """.replace("'9999-12-31'", "DATE '9999-12-31'"),
    """
    CREATE TRIGGER schedule_count_insert_delete AFTER INSERT OR DELETE ON dossier
    FOR EACH ROW EXECUTE FUNCTION schedule_count_moved()
    """,
    """
    CREATE TRIGGER schedule_count_update AFTER UPDATE OF plie_id, destroy_on, rule, convention_id ON dossier
    FOR EACH ROW WHEN (
        OLD.plie_id IS DISTINCT FROM NEW.plie_id OR OLD.destroy_on IS DISTINCT FROM NEW.destroy_on
        OR OLD.rule IS DISTINCT FROM NEW.rule OR OLD.convention_id IS DISTINCT FROM NEW.convention_id
    )
    EXECUTE FUNCTION schedule_count_moved()
    """,
)
BACKFILL = """
    INSERT INTO schedule_count (plie_id, destroy_on, rule, convention_id, dossiers)
    SELECT plie_id, COALESCE(destroy_on, '9999-12-31'), COALESCE(rule, ''), COALESCE(convention_id, 0), count(*)
    FROM dossier GROUP BY 1, 2, 3, 4
"""
GROUP = ["plie_id", "destroy_on", "rule", "convention_id"]


def upgrade() -> None:
    op.create_table(
        "schedule_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plie_id", sa.Integer(), nullable=False),
        sa.Column("destroy_on", sa.Date(), nullable=False),
        sa.Column("rule", sa.String(length=24), nullable=False),
        sa.Column("convention_id", sa.Integer(), nullable=False),
        sa.Column("dossiers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_count")),
    )
    op.create_index("ix_schedule_count_group", "schedule_count", GROUP)
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    op.execute(BACKFILL.replace("'9999-12-31'", "DATE '9999-12-31'") if postgresql else BACKFILL)
    op.drop_index("ix_dossier_plie_schedule", table_name="dossier")


def downgrade() -> None:
    op.create_index("ix_dossier_plie_schedule", "dossier", GROUP)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER schedule_count_update ON dossier")
        op.execute("DROP TRIGGER schedule_count_insert_delete ON dossier")
        op.execute("DROP FUNCTION schedule_count_moved()")
    else:
        for name in ("schedule_count_insert", "schedule_count_delete", "schedule_count_update"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_schedule_count_group", table_name="schedule_count")
    op.drop_table("schedule_count")
