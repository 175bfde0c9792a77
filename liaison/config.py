"""The service's configuration: one frozen object, built from the environment at start-up.

Nothing reads the environment anywhere else. A production start-up without a master key, or
without its public URL (``LIAISON_PUBLIC_URL``), stops with a sentence naming the variable to set.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from liaison import mail

ENVIRONMENTS = ("production", "development", "test")
# Where links point in development and test: what `liaison serve` listens on by default.
DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:8000"
PUBLIC_URL_MISSING = (
    "LIAISON_PUBLIC_URL manque : en production, indiquez l'adresse publique du service "
    "(par exemple https://liaison.example.org) ; les liens absolus (téléchargements) en sont faits, "
    "jamais de l'en-tête Host d'une requête."
)


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set, in French."""


@dataclass(frozen=True)
class Config:
    environment: str
    data_dir: Path
    database_url: str
    master_key: str | None = field(default=None, repr=False)
    master_key_file: Path | None = None
    secret_key: str | None = field(default=None, repr=False)
    export_lifetime: dt.timedelta = dt.timedelta(hours=24)
    max_upload_bytes: int = 2 * 1024 * 1024
    extra_fonctions: Mapping[str, str] = field(default_factory=dict)
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    trusted_proxies: int = 0
    scheduler_interval_minutes: int = 15
    period_keys_override: Path | None = None
    purge_needs_approval: bool = False
    warning_days: int = 30
    purge_hour: int = 2
    inactivity_days: int = 90  # an account without sign-in for that long is disabled
    # The audit trail's signed checkpoints (default: in the data folder), best on another volume.
    audit_checkpoints_override: Path | None = None
    # Where users reach the service (``https://liaison.example.org``): every absolute link is built
    # from it, never from a request's Host header. Production refuses to start without it.
    public_url: str | None = None
    token_lifetime_days: int = 90
    session_idle_minutes: int = 60
    session_lifetime_hours: int = 12
    # Costly key derivations (archives' passphrases, Argon2) at once in one process (None: no bound,
    # for measurements only), how many more may wait for a slot, and how long (see liaison.costly).
    costly_workers: int | None = field(default_factory=lambda: os.cpu_count() or 1)
    costly_queue: int | None = None  # None: as many as costly_workers
    costly_wait_seconds: int = 5
    # Memory that Argon2's hashes may hold at once in one process: as many run at once as fit (never
    # fewer than one), and no more than costly_workers. 128 MiB: two at the default 64 MiB a hash,
    # whatever the number of CPUs. None: no such bound, for measurements only.
    argon2_memory_budget_mib: int | None = 128
    # Failed imports (a wrong passphrase, an archive or a sheet refused) per user before a pause.
    import_failures_allowed: int = 10
    # Email notifications: ``smtp://``, ``smtps://`` or ``smtp+starttls://`` (None: no email, and
    # the service says so), and their sender address.
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str | None = None
    draft_days: int = 30  # a kept form (draft) is destroyed that many days after its last change
    # An orientation (FDL1) without answer is recalled to the PLIE's users after that many days, and
    # again after twice as many (liaison.services.notifications).
    answer_reminder_days: int = 10
    # ProConnect (OpenID Connect): the issuer whose discovery document is read, and this service's
    # registration there. None: password sign-in only.
    proconnect_issuer: str | None = None
    proconnect_client_id: str | None = None
    proconnect_client_secret: str | None = field(default=None, repr=False)
    # The roles whose accounts prove a second factor at each sign-in (ProConnect's MFA level, or a
    # local TOTP code): the values of liaison.models.Role. The DPO's and the RGC's by default.
    second_factor_roles: frozenset[str] = frozenset({"dpo", "rgc"})

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def base_url(self) -> str:
        """Where every absolute link starts (``public_url`` checked, without its trailing slash);
        in development and test, :data:`DEVELOPMENT_PUBLIC_URL` by default. Production has no
        default: :class:`ConfigError` naming ``LIAISON_PUBLIC_URL`` (``create_app`` asks at start-up)."""
        if self.public_url:
            return checked_public_url(self.public_url, self.environment)
        if self.is_production:
            raise ConfigError(PUBLIC_URL_MISSING)
        return DEVELOPMENT_PUBLIC_URL

    @property
    def uses_proconnect(self) -> bool:
        """Whether « S'identifier avec ProConnect » is offered (the three ProConnect variables set)."""
        return self.proconnect_issuer is not None

    @property
    def sends_email(self) -> bool:
        """Whether notifications go out by email (``LIAISON_SMTP_URL`` and ``LIAISON_MAIL_FROM`` set)."""
        return self.smtp_url is not None and self.mail_from is not None

    @property
    def may_create_local_key(self) -> bool:
        return self.environment in ("development", "test")

    @property
    def default_master_key_file(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def period_keys_dir(self) -> Path:
        """Where the retention periods' secrets live: outside the database (see liaison.epoch_keys)."""
        return self.period_keys_override or self.data_dir / "period-keys"

    @property
    def signing_key_file(self) -> Path:
        """The Ed25519 key that signs destruction certificates."""
        return self.data_dir / "certificates-signing.key"

    @property
    def audit_checkpoints_file(self) -> Path:
        """The signed checkpoints of the audit trail: outside the database (see liaison.audit_checkpoints)."""
        return self.audit_checkpoints_override or self.data_dir / "audit-checkpoints.jsonl"

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / "session.key"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        environment = env.get("LIAISON_ENV", "production")
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"LIAISON_ENV vaut « {environment} » : valeurs possibles {', '.join(ENVIRONMENTS)}.")
        data_dir = Path(env.get("LIAISON_DATA_DIR") or Path.cwd() / "instance").resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'liaison.sqlite3'}"
        key_file = env.get("LIAISON_MASTER_KEY_FILE")
        proconnect = _proconnect(env, environment)
        return cls(
            environment=environment,
            data_dir=data_dir,
            database_url=normalise_database_url(database_url),
            master_key=env.get("LIAISON_MASTER_KEY") or None,
            master_key_file=Path(key_file).resolve() if key_file else None,
            secret_key=env.get("LIAISON_SECRET_KEY") or None,
            export_lifetime=dt.timedelta(hours=_positive_int(env, "LIAISON_EXPORT_LIFETIME_HOURS", 24)),
            max_upload_bytes=_positive_int(env, "LIAISON_MAX_UPLOAD_BYTES", 2 * 1024 * 1024),
            extra_fonctions=_extra_fonctions(env.get("LIAISON_EXTRA_FONCTIONS", "")),
            trusted_proxies=_positive_int(env, "LIAISON_TRUSTED_PROXIES", 0, allow_zero=True),
            period_keys_override=Path(env["LIAISON_PERIOD_KEYS_DIR"]).resolve()
            if env.get("LIAISON_PERIOD_KEYS_DIR")
            else None,
            purge_needs_approval=_flag(env, "LIAISON_PURGE_NEEDS_APPROVAL"),
            warning_days=_positive_int(env, "LIAISON_WARNING_DAYS", 30, allow_zero=True),
            purge_hour=_hour(env, "LIAISON_PURGE_HOUR", 2),
            inactivity_days=_positive_int(env, "LIAISON_INACTIVITY_DAYS", 90),
            audit_checkpoints_override=Path(env["LIAISON_AUDIT_CHECKPOINTS_FILE"]).resolve()
            if env.get("LIAISON_AUDIT_CHECKPOINTS_FILE")
            else None,
            public_url=checked_public_url(env["LIAISON_PUBLIC_URL"], environment)
            if env.get("LIAISON_PUBLIC_URL")
            else None,
            token_lifetime_days=_positive_int(env, "LIAISON_TOKEN_LIFETIME_DAYS", 90),
            session_idle_minutes=_positive_int(env, "LIAISON_SESSION_IDLE_MINUTES", 60),
            session_lifetime_hours=_positive_int(env, "LIAISON_SESSION_LIFETIME_HOURS", 12),
            costly_workers=_positive_int(env, "LIAISON_COSTLY_WORKERS", os.cpu_count() or 1),
            costly_queue=_positive_int(env, "LIAISON_COSTLY_QUEUE", 0, allow_zero=True)
            if env.get("LIAISON_COSTLY_QUEUE")
            else None,
            costly_wait_seconds=_positive_int(env, "LIAISON_COSTLY_WAIT_SECONDS", 5, allow_zero=True),
            argon2_memory_budget_mib=_positive_int(env, "LIAISON_ARGON2_MEMORY_BUDGET_MIB", 128),
            import_failures_allowed=_positive_int(env, "LIAISON_IMPORT_FAILURES", 10),
            smtp_url=_smtp_url(env),
            mail_from=_mail_from(env),
            answer_reminder_days=_positive_int(env, "LIAISON_ANSWER_REMINDER_DAYS", 10),
            draft_days=_positive_int(env, "LIAISON_DRAFT_DAYS", 30),
            proconnect_issuer=proconnect[0],
            proconnect_client_id=proconnect[1],
            proconnect_client_secret=proconnect[2],
            second_factor_roles=_second_factor_roles(env),
        )


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for ``postgresql://`` URLs, as Heroku-style settings write them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def checked_public_url(raw: str, environment: str) -> str:
    """``LIAISON_PUBLIC_URL`` as links are made of it: ``https://host[:port][/prefix]`` (``http`` in
    development and test only), nothing after the path, no trailing slash; else :class:`ConfigError`."""
    wanted = "https://" if environment == "production" else "https:// (ou http://)"
    example = "https://liaison.example.org ou https://example.org/liaison"

    def refused(why: str) -> ConfigError:
        return ConfigError(f"LIAISON_PUBLIC_URL {why} (reçu « {raw} ») ; exemple : {example}.")

    try:
        parts = urlsplit(raw.strip())
        port = parts.port  # a port that is not a number, or beyond 65535, raises here
    except ValueError:
        raise refused("n'est pas une adresse valide") from None
    if parts.scheme not in (("https",) if environment == "production" else ("https", "http")):
        raise refused(f"doit commencer par {wanted}")
    if "@" in parts.netloc or not _HOST.fullmatch(parts.netloc):
        raise refused("doit nommer un hôte (lettres, chiffres, points, tirets ; un port au besoin), sans identifiant")
    if parts.query or parts.fragment or raw.strip().endswith(("?", "#")):
        raise refused("s'arrête au chemin, sans « ? » ni « # »")
    path = parts.path.rstrip("/")
    if not _PATH.fullmatch(path):
        raise refused("a un chemin invalide : /préfixe, en lettres, chiffres, tirets, points et soulignés")
    netloc = parts.netloc.lower().rstrip(":")
    if port is not None:
        netloc = f"{netloc.rpartition(':')[0]}:{port}"
    return f"{parts.scheme}://{netloc}{path}"


_LABEL = r"[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST = re.compile(rf"({_LABEL}(\.{_LABEL})*|\[[0-9a-fA-F:.]+\])(:[0-9]*)?")  # a name or [IPv6], a port
_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)*")


def _positive_int(env: Mapping[str, str], name: str, default: int, allow_zero: bool = False) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} doit être un nombre entier (reçu « {raw} »).") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name} doit être un nombre entier positif (reçu « {raw} »).")
    return value


def _smtp_url(env: Mapping[str, str]) -> str | None:
    """``LIAISON_SMTP_URL``, checked now (its password never repeated in a message)."""
    raw = env.get("LIAISON_SMTP_URL", "").strip()
    if not raw:
        return None
    try:
        mail.parse_smtp_url(raw)
    except mail.SmtpUrlInvalid as error:
        raise ConfigError(f"LIAISON_SMTP_URL {error}") from None
    return raw


def _mail_from(env: Mapping[str, str]) -> str | None:
    """``LIAISON_MAIL_FROM``: required with ``LIAISON_SMTP_URL`` (a message has a sender)."""
    raw = env.get("LIAISON_MAIL_FROM", "").strip()
    if not raw:
        if env.get("LIAISON_SMTP_URL", "").strip():
            raise ConfigError(
                "LIAISON_MAIL_FROM manque : avec LIAISON_SMTP_URL, indiquez l'adresse d'expédition des "
                "notifications (par exemple liaison@example.org)."
            )
        return None
    try:
        return mail.checked_sender(raw)
    except ValueError as error:
        raise ConfigError(f"LIAISON_MAIL_FROM {error}") from None


PROCONNECT_VARIABLES = ("LIAISON_PROCONNECT_ISSUER", "LIAISON_PROCONNECT_CLIENT_ID", "LIAISON_PROCONNECT_CLIENT_SECRET")


def _proconnect(env: Mapping[str, str], environment: str) -> tuple[str | None, str | None, str | None]:
    """The issuer, client id and secret: all set, or none (a half-configured ProConnect stops start-up)."""
    values = {name: env.get(name, "").strip() for name in PROCONNECT_VARIABLES}
    if not any(values.values()):
        return None, None, None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} manque : pour ProConnect, indiquez les trois variables "
            f"{', '.join(PROCONNECT_VARIABLES)} (ou aucune, pour la connexion par mot de passe seule)."
        )
    issuer = values["LIAISON_PROCONNECT_ISSUER"].rstrip("/")
    scheme = urlsplit(issuer).scheme
    if scheme != "https" and not (scheme == "http" and environment != "production"):
        raise ConfigError(
            "LIAISON_PROCONNECT_ISSUER doit être une adresse https:// (par exemple "
            "https://auth.agentconnect.gouv.fr/api/v2)."
        )
    return issuer, values["LIAISON_PROCONNECT_CLIENT_ID"], values["LIAISON_PROCONNECT_CLIENT_SECRET"]


def _second_factor_roles(env: Mapping[str, str]) -> frozenset[str]:
    """``LIAISON_SECOND_FACTOR_ROLES``: roles separated by commas (``dpo,rgc`` by default; ``aucun``: none)."""
    from liaison.models import Role  # the roles are the models' (imported here: config loads first)

    raw = env.get("LIAISON_SECOND_FACTOR_ROLES")
    if raw is None or not raw.strip():
        return Config.second_factor_roles
    if raw.strip().lower() == "aucun":
        return frozenset()
    known = {role.value for role in Role}
    roles = {part.strip().lower() for part in raw.split(",") if part.strip()}
    unknown = sorted(roles - known)
    if unknown:
        raise ConfigError(
            f"LIAISON_SECOND_FACTOR_ROLES : rôle inconnu « {unknown[0]} » ; rôles possibles : "
            f"{', '.join(sorted(known))}, ou « aucun »."
        )
    return frozenset(roles)


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "non", "false"):
        return False
    if raw in ("1", "oui", "true"):
        return True
    raise ConfigError(f"{name} vaut « oui » ou « non » (reçu « {raw} »).")


def _hour(env: Mapping[str, str], name: str, default: int) -> int:
    value = _positive_int(env, name, default, allow_zero=True)
    if value > 23:
        raise ConfigError(f"{name} est une heure de 0 à 23 (reçu « {value} »).")
    return value


def _extra_fonctions(raw: str) -> dict[str, str]:
    """``code=Libellé;code2=Libellé 2``: functions an installation adds to the closed list."""
    extra: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(";"))):
        code, _, label = item.partition("=")
        if not code.isidentifier() or not code.islower() or not label.strip():
            raise ConfigError(
                "LIAISON_EXTRA_FONCTIONS s'écrit « code=Libellé;code2=Libellé 2 » "
                f"(code en minuscules, sans espace) ; « {item} » ne convient pas."
            )
        extra[code] = label.strip()
    return extra
