"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select

from liaison.models import Base, Dossier, utcnow
from liaison.services.exports import held_past_expiry


def test_the_migrated_schema_is_the_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_what_each_purge_looks_for_first_is_found_by_an_index_not_a_scan(engine: Engine) -> None:
    """Each purge first schedules the dossiers without a rule and sweeps the files held past their
    expiry: usually none of either. A scan of a million dossiers to find none held SQLite's write
    lock for seconds (the purge benchmark saw pages wait); partial indexes find them at once."""
    unscheduled = select(Dossier.id).where(Dossier.rule.is_(None), Dossier.id > "").order_by(Dossier.id).limit(500)
    lookups = {"ix_dossier_unscheduled": unscheduled, "ix_export_held_expiry": held_past_expiry(utcnow())}
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")  # the tables are empty: ask what it could use
        explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        for index, query in lookups.items():
            sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(explain + sql))
            assert index in plan, plan


TRIGGERS_ON_DOSSIER = {
    "sqlite": ("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'dossier'"),
    "postgresql": ("SELECT tgname FROM pg_trigger WHERE tgrelid = 'dossier'::regclass AND NOT tgisinternal"),
}


def test_the_schedule_s_counts_have_their_triggers_on_dossier(engine: Engine) -> None:
    """The models cannot say it and the comparison above does not look: the counts of the DPO's
    calendar are written by triggers, which a table rebuilt by a later migration would lose."""
    with engine.connect() as connection:
        names = set(connection.exec_driver_sql(TRIGGERS_ON_DOSSIER[engine.dialect.name]).scalars())
    expected = {
        "sqlite": {"schedule_count_insert", "schedule_count_delete", "schedule_count_update"},
        "postgresql": {"schedule_count_insert_delete", "schedule_count_update"},
    }
    assert names == expected[engine.dialect.name]
