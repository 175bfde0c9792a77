"""Email: the SMTP server named by ``LIAISON_SMTP_URL``, and the messages the service sends.

- ``smtp://[user:password@]host[:port]``: plain SMTP (port 25 by default), for a relay on the
  same host or network;
- ``smtps://…``: TLS from the first byte (port 465);
- ``smtp+starttls://…``: STARTTLS before anything else, refused if the server does not offer it
  (port 587).

TLS checks the server's certificate and name against the system's authorities. The user name and
password are percent-decoded (``%40`` for ``@``) and never shown: :func:`shown` hides them
wherever the URL is printed. No Flask here; :mod:`liaison.services.notifications` decides who is
told what, :mod:`liaison.notification_texts` words it, this module only lays it out (:func:`render`)
and carries it (:class:`Mailer`).

A message holds what its caller gives: the notifications give counts, kinds, organisations, dates
and links, never a job seeker's data.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}
EXAMPLE = "smtp+starttls://utilisateur:mot-de-passe@smtp.example.org:587"
TIMEOUT_SECONDS = 30  # each network operation: a server that stops answering fails the run, it does not hang it
TEMPLATES = Path(__file__).parent / "templates" / "mail"


class SmtpUrlInvalid(ValueError):
    """``LIAISON_SMTP_URL`` cannot be used; the message (French) says why, without its password."""


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to hand messages over."""

    scheme: str  # smtp, smtps or smtp+starttls
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def shown(raw: str) -> str:
    """The URL as it may be printed: whatever stands before ``@`` (user and password) hidden."""
    scheme, separator, rest = raw.strip().partition("://")
    if not separator:
        return raw.strip()[:80]
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "…@" + netloc.rpartition("@")[2]
    return f"{scheme}://{netloc}{slash}{path}"[:120]


def parse_smtp_url(raw: str) -> SmtpTarget:
    """``smtp://``, ``smtps://`` or ``smtp+starttls://`` ``[user[:password]@]host[:port]``, nothing
    after; else :class:`SmtpUrlInvalid`."""

    def refused(why: str) -> SmtpUrlInvalid:
        return SmtpUrlInvalid(f"{why} (reçu « {shown(raw)} ») ; exemple : {EXAMPLE}.")

    try:
        parts = urlsplit(raw.strip())
        port = parts.port  # not a number, or beyond 65535: ValueError
    except ValueError:
        raise refused("n'est pas une adresse valide (le port est un nombre de 1 à 65535)") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise refused("commence par smtp://, smtps:// ou smtp+starttls://")
    if not parts.hostname:
        raise refused("doit nommer le serveur")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise refused("s'arrête au serveur et à son port, sans chemin ni « ? »")
    if port == 0:
        raise refused("a un port invalide (de 1 à 65535)")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise refused("donne un mot de passe sans nom d'utilisateur")
    return SmtpTarget(scheme, parts.hostname, port or DEFAULT_PORTS[scheme], username, password)


def checked_sender(raw: str) -> str:
    """``LIAISON_MAIL_FROM`` as a ``From`` header takes it: ``adresse@domaine`` or
    ``Nom <adresse@domaine>``; else :class:`ValueError` (French)."""
    value = raw.strip()
    _, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or any(c in value for c in "\r\n"):
        raise ValueError(f"n'est pas une adresse électronique (reçu « {value[:80]} ») ; exemple : liaison@example.org.")
    return value


# --- laying a message out -----------------------------------------------------------------------

_ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Content:
    subject: str
    text: str
    html: str


def render(name: str, subject: str, values: Mapping[str, Any]) -> Content:
    """``mail/<name>.txt`` and ``mail/<name>.html`` filled with ``values`` (and the subject)."""
    context = {**values, "subject": subject}
    return Content(
        subject,
        _ENVIRONMENT.get_template(f"{name}.txt").render(context),
        _ENVIRONMENT.get_template(f"{name}.html").render(context),
    )


def build_message(sender: str, recipient: str, content: Content) -> EmailMessage:
    """A French message in two parts, text and HTML; its headers name only the sender, the
    recipient, the subject and the date (``Auto-Submitted``: nobody should answer it by robot)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = content.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "fr"
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message


# --- carrying it --------------------------------------------------------------------------------


class Undelivered(Exception):
    """A message the server did not take. ``permanent``: it refused it for good (a 5xx answer:
    an unknown mailbox…), trying again is useless; otherwise (no answer, a 4xx answer) later may
    work. ``code`` says why in a few characters, for the outbox row (never the server's text).
    ``connection_lost``: the conversation is over (no answer, cut): the next messages wait too."""

    def __init__(self, code: str, permanent: bool, connection_lost: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.permanent = permanent
        self.connection_lost = connection_lost


def undelivered(error: Exception) -> Undelivered:
    """What a failure of :mod:`smtplib` or of the network means for the message."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        worst = max(codes) if codes else 0
        return Undelivered(f"smtp {worst}", permanent=worst >= 500)
    if isinstance(error, smtplib.SMTPResponseException):  # sender refused, data refused, auth…
        return Undelivered(f"smtp {error.smtp_code}", permanent=error.smtp_code >= 500)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return Undelivered("deconnexion", permanent=False, connection_lost=True)
    if isinstance(error, smtplib.SMTPNotSupportedError):  # e.g. STARTTLS not offered: never in clear
        return Undelivered("starttls absent", permanent=False, connection_lost=True)
    return Undelivered(type(error).__name__[:40], permanent=False, connection_lost=True)


class Connection:
    """One SMTP conversation, open for a batch of messages."""

    def __init__(self, client: smtplib.SMTP, sender: str) -> None:
        self._client = client
        self._sender = sender

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over; :class:`Undelivered` if the server does not take it."""
        try:
            refused = self._client.send_message(message, from_addr=parseaddr(self._sender)[1])
        except (smtplib.SMTPException, OSError) as error:
            raise undelivered(error) from None
        if refused:  # some recipients refused, others taken: there is only one here
            raise Undelivered("smtp refus", permanent=True)


@dataclass(frozen=True)
class Mailer:
    """The service's way out: the server of ``LIAISON_SMTP_URL``, the sender of ``LIAISON_MAIL_FROM``.

    ``tls`` is the TLS context of ``smtps`` and ``smtp+starttls`` (default: the system's
    authorities, the server's name checked)."""

    target: SmtpTarget
    sender: str
    timeout: float = TIMEOUT_SECONDS
    tls: ssl.SSLContext | None = field(default=None, compare=False)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """An open, authenticated conversation; :class:`Undelivered` if it cannot be had."""
        try:
            client = self._open()
        except (smtplib.SMTPException, OSError) as error:
            raise undelivered(error) from None
        try:
            yield Connection(client, self.sender)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    def _open(self) -> smtplib.SMTP:
        target = self.target
        context = self.tls or ssl.create_default_context()
        client: smtplib.SMTP
        if target.scheme == "smtps":
            client = smtplib.SMTP_SSL(target.host, target.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=self.timeout)
        try:
            client.ehlo()
            if target.scheme == "smtp+starttls":
                client.starttls(context=context)  # SMTPNotSupportedError if not offered: never in clear
                client.ehlo()
            if target.username:
                client.login(target.username, target.password or "")
        except BaseException:
            client.close()
            raise
        return client
