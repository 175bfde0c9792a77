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
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Convention(Base):
    """A PLIE's partnership with some agencies: who may send sheets to whom."""

    __tablename__ = "convention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    plie_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    plie: Mapped[Organisation] = relationship(foreign_keys=[plie_id])
    agencies: Mapped[list[ConventionAgency]] = relationship(cascade="all, delete-orphan")


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


class DataKey(Base):
    """A 256-bit key, stored only wrapped under the master key named by ``master_key_id``."""

    __tablename__ = "data_key"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    purpose: Mapped[DataKeyPurpose] = mapped_column(Enum(DataKeyPurpose, native_enum=False, length=16))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(16), index=True)
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
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    user: Mapped[User] = relationship()
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Dossier(Base):
    """One job seeker as known to one PLIE's convention; its sheets live and die together."""

    __tablename__ = "dossier"
    __table_args__ = (UniqueConstraint("plie_id", "lookup", name="plie_lookup"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    plie_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    lookup: Mapped[str] = mapped_column(String(64))  # keyed hash of the identifier, never the identifier
    data_key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"))
    data_key: Mapped[DataKey] = relationship()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SheetKind(enum.Enum):
    FDL1 = "FDL1"
    FDL2 = "FDL2"


class Sheet(Base):
    __tablename__ = "sheet"
    __table_args__ = (
        Index("ix_sheet_recipient_created", "recipient_id", "created_at"),
        Index("ix_sheet_sender_created", "sender_id", "created_at"),
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


class Export(Base):
    """An encrypted file made for one user, downloadable once until it expires."""

    __tablename__ = "export"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    sheet_id: Mapped[str] = mapped_column(ForeignKey("sheet.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    format: Mapped[str] = mapped_column(String(8))
    partnership: Mapped[bool] = mapped_column(Boolean, default=False)  # encrypted with the pair's passphrase
    filename: Mapped[str] = mapped_column(String(80))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # ciphertext; emptied once downloaded or expired
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
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
