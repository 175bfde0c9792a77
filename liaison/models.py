"""Typed SQLAlchemy models. No column holds a job seeker's data in clear.

What is in clear is metadata: ids, kinds, organisations, roles, timestamps and states. Sheets
and user profiles are ciphertext (see :mod:`liaison.crypto`); a dossier is found by a keyed hash
of the identifier, never the identifier. ``__repr__`` shows ids only.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from liaison.enums import (
    Assessment,
    BilanSide,
    BreachNature,
    DraftOrigin,
    Labelled,
    NotificationKind,
    NotificationMode,
    NotificationStatus,
    OrientationAnswer,
    PurgeStatus,
    PurgeTrigger,
    RequestKind,
    RequestOutcome,
    RequestStatus,
)
from retention.rules import CeilingChoice, Rule

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={getattr(self, 'id', None)!r}>"


class OrganisationKind(enum.Enum):
    PLIE = "plie"
    AGENCE = "agence"


class Role(enum.Enum):
    ACCOMPAGNATEUR = "accompagnateur"
    REFERENT = "referent"
    DPO = "dpo"
    RGC = "rgc"


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[OrganisationKind] = mapped_column(Enum(OrganisationKind, native_enum=False, length=16))
    siret: Mapped[str | None] = mapped_column(String(14))  # the structure's, as ProConnect gives it
    # The cap of simultaneously active accounts, its account managers not counted (the Opus
    # conventions' annex 2); None: no cap.
    max_active_accounts: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Convention(Base):
    """A PLIE's partnership with some agencies: who may send sheets to whom, and the dates and
    parameters that decide how long their dossiers are kept (``retention.rules``)."""

    __tablename__ = "convention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    plie_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    plie: Mapped[Organisation] = relationship(foreign_keys=[plie_id])
    agencies: Mapped[list[ConventionAgency]] = relationship(cascade="all, delete-orphan")
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    fse_programme: Mapped[str | None] = mapped_column(String(32))  # None: not co-funded by the FSE
    fse_last_payment_on: Mapped[dt.date | None] = mapped_column(Date)
    fse_control_end: Mapped[dt.date | None] = mapped_column(Date)  # notified by the managing authority
    non_integration_months: Mapped[int] = mapped_column(Integer, default=6)
    follow_up_months: Mapped[int] = mapped_column(Integer, default=3)
    post_convention_months: Mapped[int] = mapped_column(Integer, default=2)
    ceiling_years: Mapped[int] = mapped_column(Integer, default=10)
    ceiling_choice: Mapped[CeilingChoice | None] = mapped_column(Enum(CeilingChoice, native_enum=False, length=16))


class ConventionChange(Base):
    """One field of a convention changed: by whom, when, from what to what (dates and codes only)."""

    __tablename__ = "convention_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    convention_id: Mapped[int] = mapped_column(ForeignKey("convention.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: a command
    author_label: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str] = mapped_column(String(64))
    new_value: Mapped[str] = mapped_column(String(64))


class ConventionAgency(Base):
    __tablename__ = "convention_agency"

    convention_id: Mapped[int] = mapped_column(ForeignKey("convention.id"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    agency: Mapped[Organisation] = relationship()


class DataKeyPurpose(enum.Enum):
    DOSSIER = "dossier"
    PROFILE = "profile"
    INDEX = "index"
    PARTNERSHIP = "partnership"
    DRAFT = "draft"
    SECOND_FACTOR = "second_factor"


class DataKey(Base):
    """A 256-bit key, stored only wrapped under the master key named by ``master_key_id``."""

    __tablename__ = "data_key"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    purpose: Mapped[DataKeyPurpose] = mapped_column(Enum(DataKeyPurpose, native_enum=False, length=16))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(16), index=True)
    # A dossier's key is wrapped under the master key *and* its retention period's key, held
    # outside the database and destroyed once the period is purged (see liaison.epoch_keys).
    epoch: Mapped[str | None] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation: Mapped[Organisation] = relationship()
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    profile_key_id: Mapped[str | None] = mapped_column(ForeignKey("data_key.id"))
    profile_key: Mapped[DataKey | None] = relationship()
    profile_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(16))  # see liaison.services.accounts
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A staff member's work address: where notifications go and what ProConnect matches.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    inactivity_warned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the account was last enabled again: its inactivity clock restarts there, as at a sign-in.
    enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The ProConnect identity bound at the first ProConnect sign-in (see liaison.services.proconnect_accounts):
    # ProConnect's ``sub`` is only unique for one identity provider (``idp_id``), hence the pair.
    proconnect_idp_id: Mapped[str | None] = mapped_column(String(64))
    proconnect_sub: Mapped[str | None] = mapped_column(String(255))
    proconnect_bound_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Signs in with ProConnect only: no local password (set by the structure's RGC).
    proconnect_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    __table_args__ = (UniqueConstraint("proconnect_idp_id", "proconnect_sub"),)


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    user: Mapped[User] = relationship()
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    # What its owner calls it (« Logiciel de suivi », « Script d'import »), to revoke the right one.
    name: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser: the cookie carries only a random secret whose digest is ``id``.

    Ending a session is server-side (``ended_at``): a replayed cookie finds an ended row.
    """

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's secret
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    user: Mapped[User] = relationship()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A first factor only, for an account that needs a second one: this session opens nothing but the
    # second-factor pages (liaison.web.second_factor), and is replaced by a full one once it is given.
    pending_second_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # When this session's second factor was proven (a local code, or ProConnect's MFA level).
    second_factor_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The ID token of a ProConnect sign-in: sign-out hands it back to ProConnect (``id_token_hint``).
    proconnect_id_token: Mapped[str | None] = mapped_column(Text)


class SecondFactor(Base):
    """A person's local second factor (TOTP, RFC 6238): its secret sealed under a data key of its own
    (crypto-shredded when it is reset); ``confirmed_at`` None until a first code proves the
    enrolment; ``last_step``: the time step of the last code accepted, so that none is used twice."""

    __tablename__ = "second_factor"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"))
    key: Mapped[DataKey] = relationship()
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_step: Mapped[int | None] = mapped_column(Integer)
    # Until confirmed: the web session (its digest) shown the secret; no other session sees it again.
    enrolling_session: Mapped[str | None] = mapped_column(String(64))


class RecoveryCode(Base):
    """A single-use recovery code of a second factor, kept only as a keyed hash."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class IndicatorCount(Base):
    """A figure of a convention (liaison.indicators): how many times ``indicator`` happened for
    ``agency`` in ``month`` (``AAAA-MM``, in France). Written as events happen, never decremented by
    a purge: it outlives the dossiers, and holds no person and no dossier reference."""

    __tablename__ = "indicator_count"

    convention_id: Mapped[int] = mapped_column(ForeignKey("convention.id"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ScheduleCount(Base):
    """A number of dossiers of a PLIE added to, or taken from, a group of the destruction schedule
    (a day, a rule, a convention): a group counts the sum of its rows. The DPO's calendar and
    overview read these sums, never the dossiers, so that they cost the same at ten thousand
    dossiers and at a million.

    Written by the database itself, in the transaction that writes a dossier: triggers on
    ``dossier`` (migration 0016) add a row of +1 for a dossier inserted, of -1 for a dossier
    deleted, and both for a dossier moved to another group, whatever writes it. The triggers only
    ever insert, so that no two writers of dossiers wait for the same row (PostgreSQL runs writers
    side by side); :func:`liaison.services.schedule_counts.fold` folds each group's rows into one,
    in the background. No column is ever NULL: a dossier without a date is counted on
    :data:`UNDATED` (last in the date order, as the calendar shows them), without a rule under
    ``""``, without a convention under :data:`NO_CONVENTION`."""

    __tablename__ = "schedule_count"
    __table_args__ = (Index("ix_schedule_count_group", "plie_id", "destroy_on", "rule", "convention_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plie_id: Mapped[int] = mapped_column(Integer)
    destroy_on: Mapped[dt.date] = mapped_column(Date)
    rule: Mapped[str] = mapped_column(String(24))
    convention_id: Mapped[int] = mapped_column(Integer)
    dossiers: Mapped[int] = mapped_column(Integer)


# Where :class:`ScheduleCount` counts the dossiers without a destruction date (kept by a hold, or
# awaiting a decision), as the triggers of migration 0016 write it.
UNDATED = dt.date(9999, 12, 31)
NO_CONVENTION = 0


class Throttle(Base):
    """Failures counted per subject (an account, an address, a user's imports), shared by every
    process: ``subject`` is a keyed hash, never a login or an address in clear."""

    __tablename__ = "throttle"

    scope: Mapped[str] = mapped_column(String(24), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# The condition of the partial index ``ix_dossier_awaiting_dpo``, written out (not a bound parameter):
# SQLite uses a partial index only for a query whose WHERE holds its condition as written.
AWAITING_DPO_DECISION = text(f"rule = '{Rule.AWAITING_DPO.value}'")


class Dossier(Base):
    """One job seeker as known to one PLIE's convention; its sheets live and die together.

    Triggers on this table (migration 0016) keep :class:`ScheduleCount`: a migration that rebuilds
    the table (SQLite's ``batch_alter_table``) must create them again."""

    __tablename__ = "dossier"
    __table_args__ = (
        UniqueConstraint("plie_id", "lookup", name="plie_lookup"),
        # each purge first schedules the dossiers without a rule: usually none, found without a scan
        Index(
            "ix_dossier_unscheduled",
            "id",
            sqlite_where=text("rule IS NULL"),
            postgresql_where=text("rule IS NULL"),
        ),
        # the DPO's to-do list counts the dossiers awaiting a decision: usually few, never a scan
        Index(
            "ix_dossier_awaiting_dpo",
            "plie_id",
            "rule",  # the count reads the index alone (SQLite reads the table for a column it lacks)
            sqlite_where=AWAITING_DPO_DECISION,
            postgresql_where=AWAITING_DPO_DECISION,
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    plie_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    lookup: Mapped[str] = mapped_column(String(64))  # keyed hash of the identifier, never the identifier
    # indexed: destroying a data key checks that no dossier still points to it
    data_key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"), index=True)
    data_key: Mapped[DataKey] = relationship()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    convention_id: Mapped[int | None] = mapped_column(ForeignKey("convention.id"), index=True)
    convention: Mapped[Convention | None] = relationship()
    # The events retention needs, as dates (read from the sheets when they arrive), and the
    # schedule they give (``retention.rules.decide``), kept so that a purge need not open anything.
    received_on: Mapped[dt.date | None] = mapped_column(Date)  # the latest sheet received
    integrated_on: Mapped[dt.date | None] = mapped_column(Date)
    exit_on: Mapped[dt.date | None] = mapped_column(Date)
    erasure_requested_on: Mapped[dt.date | None] = mapped_column(Date)
    active_until: Mapped[dt.date | None] = mapped_column(Date, index=True)
    destroy_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    rule: Mapped[str | None] = mapped_column(String(24))
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    # Whether the convention's figures counted this person's refusal and exit already (once each,
    # however many FDL2 repeat them: liaison.indicators.sheet_events); integration: ``integrated_on``.
    refusal_counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    exit_counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


def _labelled_enum(labelled: type[Labelled], length: int = 24) -> Enum:
    """A labelled enum stored as its code (``.value``), not its member's name."""
    return Enum(labelled, native_enum=False, length=length, values_callable=lambda members: [m.value for m in members])


class SheetKind(enum.Enum):
    FDL1 = "FDL1"
    FDL2 = "FDL2"


class Sheet(Base):
    __tablename__ = "sheet"
    __table_args__ = (
        # a box is read newest first, ties broken by id: the index gives that whole order, so a page
        # (and a page number's rows skipped) is read in it, without sorting the rows of a date
        Index("ix_sheet_recipient_created", "recipient_id", "created_at", "id"),
        Index("ix_sheet_sender_created", "sender_id", "created_at", "id"),
        # every page's menu counts the organisation's unopened sheets: the index holds those only
        # (the dossier, to check it is active; ``read_at`` so that SQLite reads the index alone)
        Index(
            "ix_sheet_unread",
            "recipient_id",
            "read_at",
            "dossier_id",
            sqlite_where=text("read_at IS NULL"),
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    kind: Mapped[SheetKind] = mapped_column(Enum(SheetKind, native_enum=False, length=8))
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossier.id"), index=True)
    dossier: Mapped[Dossier] = relationship()
    sender_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    sender: Mapped[Organisation] = relationship(foreign_keys=[sender_id])
    recipient_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    recipient: Mapped[Organisation] = relationship(foreign_keys=[recipient_id])
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    exported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A keyed hash of the sheet's kind and canonical content (never the content): an archive whose
    # sheet is already stored is recognised at import.
    content_index: Mapped[str | None] = mapped_column(String(64), index=True)
    # An FDL1: when the first FDL2 about the same person came back, and what it said.
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[OrientationAnswer | None] = mapped_column(_labelled_enum(OrientationAnswer))

    @property
    def awaiting_answer(self) -> bool:
        """An orientation (FDL1) that no FDL2 about the same person has answered yet."""
        return self.kind is SheetKind.FDL1 and self.answered_at is None

    @property
    def state(self) -> str:
        """Where the sheet stands, as its sender sees it: sent, read, exported or acknowledged."""
        if self.acknowledged_at:
            return "acknowledged"
        if self.exported_at:
            return "exported"
        if self.read_at:
            return "read"
        return "sent"


class SheetTerm(Base):
    """A blind index of a sheet: a keyed hash (HMAC) of one normalised word a person is searched
    by (the France Travail identifier, a name, a first name, each of their parts), never the word.
    Deleted with its sheet."""

    __tablename__ = "sheet_term"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    sheet_id: Mapped[str] = mapped_column(ForeignKey("sheet.id"), primary_key=True, index=True)


class Export(Base):
    """An encrypted file made for one user, downloadable once until it expires."""

    __tablename__ = "export"
    __table_args__ = (  # the sweep looks for files still held past their expiry: usually none
        Index(
            "ix_export_held_expiry",
            "expires_at",
            sqlite_where=text("content IS NOT NULL"),
            postgresql_where=text("content IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    sheet_id: Mapped[str] = mapped_column(ForeignKey("sheet.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    user: Mapped[User] = relationship()
    format: Mapped[str] = mapped_column(String(8))
    partnership: Mapped[bool] = mapped_column(Boolean, default=False)  # encrypted with the pair's passphrase
    filename: Mapped[str] = mapped_column(String(80))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # ciphertext; emptied once downloaded or expired
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    downloaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    swept_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PartnershipKey(Base):
    """The passphrase two partner organisations agreed, by another channel, for their exports.

    One row per pair (``first_id`` < ``second_id``); the passphrase is sealed under its own data
    key, which is destroyed when the passphrase is replaced or removed. Nobody reads it back: the
    service only encrypts with it.
    """

    __tablename__ = "partnership_key"
    __table_args__ = (UniqueConstraint("first_id", "second_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    first_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    second_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    data_key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"))
    data_key: Mapped[DataKey] = relationship()
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    set_by: Mapped[User] = relationship()
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One link of the append-only trail; ``entry_hash`` chains it to the previous one.

    Holds who, when, what and from where, never a job seeker's data. The database refuses
    UPDATE and DELETE on this table (triggers created by the migrations).
    """

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(Integer)
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    sheet_id: Mapped[str | None] = mapped_column(String(36), index=True)
    detail: Mapped[str] = mapped_column(String(64), default="")
    remote_addr: Mapped[str] = mapped_column(String(45), default="")
    previous_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class Hold(Base):
    """A litigation hold (contentieux) on a dossier or a whole convention: nothing it covers is
    destroyed until it is released."""

    __tablename__ = "hold"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[str | None] = mapped_column(ForeignKey("dossier.id"), index=True)
    convention_id: Mapped[int | None] = mapped_column(ForeignKey("convention.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    placed_on: Mapped[dt.date] = mapped_column(Date)
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_on: Mapped[dt.date | None] = mapped_column(Date)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    release_reason: Mapped[str | None] = mapped_column(String(200))


class PurgeRun(Base):
    """One application of the retention rules, and the signed certificate of what it destroyed."""

    __tablename__ = "purge_run"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    as_of: Mapped[dt.date] = mapped_column(Date)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    # Whole-run status, for the operator; a dry run's approval is each PLIE's (PurgeRunPlie.approval).
    status: Mapped[PurgeStatus] = mapped_column(_labelled_enum(PurgeStatus))
    trigger: Mapped[PurgeTrigger] = mapped_column(_labelled_enum(PurgeTrigger))
    dossiers: Mapped[int] = mapped_column(Integer, default=0)
    sheets: Mapped[int] = mapped_column(Integer, default=0)
    exports: Mapped[int] = mapped_column(Integer, default=0)
    certificate: Mapped[str | None] = mapped_column(Text)  # the signed JSON document
    keep_until: Mapped[dt.date | None] = mapped_column(Date)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PurgeRunPlie(Base):
    """One PLIE's part of a purge run: what it destroyed of that PLIE's dossiers, the digest of
    the certificate signed for that PLIE alone, and (a dry run) its DPO's approval."""

    __tablename__ = "purge_run_plie"

    run_id: Mapped[str] = mapped_column(ForeignKey("purge_run.id"), primary_key=True)
    plie_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True, index=True)
    dossiers: Mapped[int] = mapped_column(Integer, default=0)
    sheets: Mapped[int] = mapped_column(Integer, default=0)
    certificate: Mapped[str | None] = mapped_column(Text)  # SHA-256 of the PLIE's signed certificate
    # a dry run's list, as its DPO decided (awaiting_approval, approved, executed, superseded)
    approval: Mapped[PurgeStatus | None] = mapped_column(_labelled_enum(PurgeStatus))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Tombstone(Base):
    """What is left of a destroyed sheet: that it existed, between whom, and when and why it was
    destroyed. ``dossier_ref`` is the opaque identifier of the destruction certificate."""

    __tablename__ = "tombstone"
    __table_args__ = (  # the boxes list an organisation's latest destructions: no sort of them all
        Index("ix_tombstone_sender_destroyed", "sender_id", "destroyed_at"),
        Index("ix_tombstone_recipient_destroyed", "recipient_id", "destroyed_at"),
    )

    sheet_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dossier_ref: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[SheetKind] = mapped_column(Enum(SheetKind, native_enum=False, length=8))
    sender_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    destroyed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    rule: Mapped[str] = mapped_column(String(24))
    run_id: Mapped[str] = mapped_column(ForeignKey("purge_run.id"), index=True)


class CopyAttestation(Base):
    """A user downloaded an export of a sheet since destroyed: they are asked to attest that they
    deleted their copy, and the DPO sees who has and who has not."""

    __tablename__ = "copy_attestation"
    __table_args__ = (UniqueConstraint("user_id", "sheet_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    sheet_id: Mapped[str] = mapped_column(ForeignKey("tombstone.sheet_id"))
    downloaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SubjectRequest(Base):
    """A data-subject request, its deadline and its answer. It names nobody: the identifier the
    person gave is used once, to find the dossiers, and never stored."""

    __tablename__ = "subject_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[RequestKind] = mapped_column(Enum(RequestKind, native_enum=False, length=16))
    received_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)  # + 2 months, announced to the person
    extension_announced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[RequestStatus] = mapped_column(
        Enum(RequestStatus, native_enum=False, length=16), default=RequestStatus.OPEN, index=True
    )
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[RequestOutcome | None] = mapped_column(Enum(RequestOutcome, native_enum=False, length=24))
    plie_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))  # None: every PLIE was searched
    plie: Mapped[Organisation | None] = relationship()
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    dossiers: Mapped[list[SubjectRequestDossier]] = relationship(cascade="all, delete-orphan")


class SubjectRequestDossier(Base):
    """A dossier found when the request was recorded. No foreign key on the dossier: the purge
    destroys dossiers, and the request's record outlives them (its tombstones are then found by
    the dossier's opaque reference)."""

    __tablename__ = "subject_request_dossier"

    request_id: Mapped[int] = mapped_column(ForeignKey("subject_request.id"), primary_key=True)
    dossier_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class Breach(Base):
    """A personal data breach (GDPR art. 33): when it was discovered, what it is, the window of
    the suspected accesses, and when the partner and the CNIL were notified."""

    __tablename__ = "breach"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    discovered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    nature: Mapped[BreachNature] = mapped_column(Enum(BreachNature, native_enum=False, length=24))
    reference: Mapped[str | None] = mapped_column(String(120))  # a ticket or file number, no personal data
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))  # the one concerned, if known
    organisation: Mapped[Organisation | None] = relationship(foreign_keys=[organisation_id])
    # The PLIE whose register this is (its DPO recorded it): the data controller.
    plie_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # the account concerned, if known
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    partner_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cnil_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Draft(Base):
    """A sheet form kept for its author: saved on demand, or sent after the session ended. The
    form's values are sealed under the draft's own data key, destroyed with it (after
    ``LIAISON_DRAFT_DAYS``, 30 by default)."""

    __tablename__ = "draft"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[SheetKind] = mapped_column(Enum(SheetKind, native_enum=False, length=8))
    origin: Mapped[DraftOrigin] = mapped_column(_labelled_enum(DraftOrigin, 16))
    data_key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"))
    data_key: Mapped[DataKey] = relationship()
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Notification(Base):
    """The email outbox: one thing to tell one person. ``facts`` is JSON holding counts, kinds,
    organisations and links only, never a job seeker's data. Sent by the scheduler and
    ``liaison notifications send``, never inside a request."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    user: Mapped[User] = relationship()
    kind: Mapped[NotificationKind] = mapped_column(_labelled_enum(NotificationKind))
    # What makes it once only (e.g. the second reminder of one orientation): None, no such rule.
    dedupe: Mapped[str | None] = mapped_column(String(120), unique=True)
    facts: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    status: Mapped[NotificationStatus] = mapped_column(_labelled_enum(NotificationStatus, 16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(64))


class NotificationPreference(Base):
    """When one person wants to be told of one kind; no row: the kind's default."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(_labelled_enum(NotificationKind), primary_key=True)
    mode: Mapped[NotificationMode] = mapped_column(_labelled_enum(NotificationMode, 16))


# --- the annual bilan (« Bilan Quantitatif » and « Bilan Qualitatif », signed by both sides) ---------


class AnnualBilan(Base):
    """A convention's bilan of one year. ``snapshot`` (JSON) holds what was signed, written when
    the second side signs (``frozen_at``): later counters never change a signed bilan."""

    __tablename__ = "annual_bilan"
    __table_args__ = (UniqueConstraint("convention_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    convention_id: Mapped[int] = mapped_column(ForeignKey("convention.id"))
    year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    frozen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    snapshot: Mapped[str | None] = mapped_column(Text)


class BilanValue(Base):
    """A count of the « Bilan Quantitatif » that liaison cannot give, typed by one side (who, when)."""

    __tablename__ = "bilan_value"
    __table_args__ = (UniqueConstraint("bilan_id", "indicator"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bilan_id: Mapped[int] = mapped_column(ForeignKey("annual_bilan.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    side: Mapped[BilanSide] = mapped_column(_labelled_enum(BilanSide, 16))
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    entered_by_login: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BilanAnswer(Base):
    """One side's assessment of one point of the « Bilan Qualitatif », with an optional short
    comment naming nobody (who, when)."""

    __tablename__ = "bilan_answer"
    __table_args__ = (UniqueConstraint("bilan_id", "side", "point"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bilan_id: Mapped[int] = mapped_column(ForeignKey("annual_bilan.id"), index=True)
    side: Mapped[BilanSide] = mapped_column(_labelled_enum(BilanSide, 16))
    point: Mapped[str] = mapped_column(String(64))
    assessment: Mapped[Assessment] = mapped_column(_labelled_enum(Assessment, 24))
    comment: Mapped[str] = mapped_column(String(500), default="")
    answered_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    answered_by_login: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BilanSignature(Base):
    """One side's sign-off of an annual bilan: who (login), when, on behalf of which structure."""

    __tablename__ = "bilan_signature"
    __table_args__ = (UniqueConstraint("bilan_id", "side"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bilan_id: Mapped[int] = mapped_column(ForeignKey("annual_bilan.id"), index=True)
    side: Mapped[BilanSide] = mapped_column(_labelled_enum(BilanSide, 16))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    login: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    organisation_code: Mapped[str] = mapped_column(String(32))
    organisation_name: Mapped[str] = mapped_column(String(120))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
