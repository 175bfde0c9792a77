"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 14:34:36.426898
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liaison.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("sheet_id", sa.String(length=36), nullable=True),
        sa.Column("detail", sa.String(length=64), nullable=False),
        sa.Column("remote_addr", sa.String(length=45), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_audit_entry_entry_hash")),
        sa.UniqueConstraint("previous_hash", name=op.f("uq_audit_entry_previous_hash")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_sheet_id"), ["sheet_id"], unique=False)

    op.create_table(
        "data_key",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum("DOSSIER", "PROFILE", "INDEX", name="datakeypurpose", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_key")),
    )
    with op.batch_alter_table("data_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_key_master_key_id"), ["master_key_id"], unique=False)

    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "kind", sa.Enum("PLIE", "AGENCE", name="organisationkind", native_enum=False, length=16), nullable=False
        ),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("code", name=op.f("uq_organisation_code")),
    )
    op.create_table(
        "convention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("plie_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["plie_id"], ["organisation.id"], name=op.f("fk_convention_plie_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_convention")),
        sa.UniqueConstraint("code", name=op.f("uq_convention_code")),
    )
    op.create_table(
        "dossier",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("plie_id", sa.Integer(), nullable=False),
        sa.Column("lookup", sa.String(length=64), nullable=False),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_key.id"], name=op.f("fk_dossier_data_key_id_data_key")),
        sa.ForeignKeyConstraint(["plie_id"], ["organisation.id"], name=op.f("fk_dossier_plie_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier")),
        sa.UniqueConstraint("plie_id", "lookup", name="plie_lookup"),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("ACCOMPAGNATEUR", "REFERENT", "DPO", "RGC", name="role", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("profile_key_id", sa.String(length=36), nullable=True),
        sa.Column("profile_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_user_account_organisation_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["profile_key_id"], ["data_key.id"], name=op.f("fk_user_account_profile_key_id_data_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("login", name=op.f("uq_user_account_login")),
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_account_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_api_token_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_token_digest")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "convention_agency",
        sa.Column("convention_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["organisation.id"], name=op.f("fk_convention_agency_agency_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["convention_id"], ["convention.id"], name=op.f("fk_convention_agency_convention_id_convention")
        ),
        sa.PrimaryKeyConstraint("convention_id", "agency_id", name=op.f("pk_convention_agency")),
    )
    op.create_table(
        "sheet",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.Enum("FDL1", "FDL2", name="sheetkind", native_enum=False, length=8), nullable=False),
        sa.Column("dossier_id", sa.String(length=36), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("exported_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"], name=op.f("fk_sheet_author_id_user_account")),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_sheet_dossier_id_dossier")),
        sa.ForeignKeyConstraint(["recipient_id"], ["organisation.id"], name=op.f("fk_sheet_recipient_id_organisation")),
        sa.ForeignKeyConstraint(["sender_id"], ["organisation.id"], name=op.f("fk_sheet_sender_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sheet")),
    )
    with op.batch_alter_table("sheet", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sheet_dossier_id"), ["dossier_id"], unique=False)
        batch_op.create_index("ix_sheet_recipient_created", ["recipient_id", "created_at"], unique=False)
        batch_op.create_index("ix_sheet_sender_created", ["sender_id", "created_at"], unique=False)

    op.create_table(
        "export",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sheet_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("filename", sa.String(length=80), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", liaison.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("downloaded_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("swept_at", liaison.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["sheet_id"], ["sheet.id"], name=op.f("fk_export_sheet_id_sheet")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_export_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_export_token_digest")),
    )
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_sheet_id"), ["sheet_id"], unique=False)

    _make_audit_trail_append_only()


def downgrade() -> None:
    _drop_audit_trail_guards()
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_sheet_id"))
        batch_op.drop_index(batch_op.f("ix_export_expires_at"))

    op.drop_table("export")
    with op.batch_alter_table("sheet", schema=None) as batch_op:
        batch_op.drop_index("ix_sheet_sender_created")
        batch_op.drop_index("ix_sheet_recipient_created")
        batch_op.drop_index(batch_op.f("ix_sheet_dossier_id"))

    op.drop_table("sheet")
    op.drop_table("convention_agency")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))

    op.drop_table("api_token")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_organisation_id"))

    op.drop_table("user_account")
    op.drop_table("dossier")
    op.drop_table("convention")
    op.drop_table("organisation")
    with op.batch_alter_table("data_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_key_master_key_id"))

    op.drop_table("data_key")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_sheet_id"))

    op.drop_table("audit_entry")


def _make_audit_trail_append_only() -> None:
    """The database itself refuses to change or delete an audit entry."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit trail is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entry_no_{event.lower()} BEFORE {event} ON audit_entry "
                "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END"
            )


def _drop_audit_trail_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entry_no_truncate ON audit_entry")
        op.execute("DROP TRIGGER audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION audit_entry_append_only()")
    else:
        op.execute("DROP TRIGGER audit_entry_no_update")
        op.execute("DROP TRIGGER audit_entry_no_delete")
