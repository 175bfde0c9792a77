"""``LIAISON_SMTP_URL`` and ``LIAISON_MAIL_FROM`` are checked when the configuration is read: a wrong
one stops start-up with a French sentence naming the variable, never repeating its password."""

from __future__ import annotations

import pytest

from liaison.config import Config, ConfigError
from liaison.mail import SmtpTarget, parse_smtp_url

BASE = {"LIAISON_ENV": "test"}


def read(**variables: str) -> Config:
    return Config.from_environment({**BASE, **variables})


class TestTheUrl:
    """The three schemes, their default ports, a user and password percent-decoded."""

    @pytest.mark.parametrize(
        ("url", "target"),
        [
            ("smtp://relais.example.org", SmtpTarget("smtp", "relais.example.org", 25)),
            ("smtp://127.0.0.1:2525", SmtpTarget("smtp", "127.0.0.1", 2525)),
            ("smtps://courriel.example.org", SmtpTarget("smtps", "courriel.example.org", 465)),
            (
                "smtp+starttls://liaison%40example.org:p%40ss:w@smtp.example.org:587",
                SmtpTarget("smtp+starttls", "smtp.example.org", 587, "liaison@example.org", "p@ss:w"),
            ),
            ("SMTP+STARTTLS://smtp.example.org/", SmtpTarget("smtp+starttls", "smtp.example.org", 587)),
        ],
    )
    def test_accepted(self, url: str, target: SmtpTarget) -> None:
        assert parse_smtp_url(url) == target
        assert target.password is None or target.password not in repr(target)
        assert read(LIAISON_SMTP_URL=url, LIAISON_MAIL_FROM="liaison@example.org").sends_email

    @pytest.mark.parametrize(
        ("url", "words"),
        [
            ("http://smtp.example.org", "commence par smtp://, smtps:// ou smtp+starttls://"),
            ("smtp.example.org:25", "commence par smtp://"),
            ("smtp://", "doit nommer le serveur"),
            ("smtp://user:secret@:25", "doit nommer le serveur"),
            ("smtp://smtp.example.org:99999", "le port est un nombre"),
            ("smtp://smtp.example.org:abc", "le port est un nombre"),
            ("smtp://smtp.example.org:0", "port invalide"),
            ("smtp://smtp.example.org/boite", "sans chemin"),
            ("smtp://smtp.example.org?tls=1", "sans chemin"),
            ("smtp://:secret@smtp.example.org", "mot de passe sans nom d'utilisateur"),
        ],
    )
    def test_refused_naming_the_variable_without_the_password(self, url: str, words: str) -> None:
        with pytest.raises(ConfigError) as refused:
            read(LIAISON_SMTP_URL=url, LIAISON_MAIL_FROM="liaison@example.org")
        message = str(refused.value)
        assert message.startswith("LIAISON_SMTP_URL "), message
        assert words in message, message
        assert "secret" not in message


class TestTheSender:
    def test_required_with_a_mail_server(self) -> None:
        with pytest.raises(ConfigError, match=r"^LIAISON_MAIL_FROM manque"):
            read(LIAISON_SMTP_URL="smtp://relais.example.org")

    @pytest.mark.parametrize("sender", ["liaison", "liaison@localhost", "Liaison <>", "a@b.fr\r\nBcc: x@y.fr"])
    def test_an_address_or_refused(self, sender: str) -> None:
        with pytest.raises(ConfigError, match=r"^LIAISON_MAIL_FROM n'est pas une adresse"):
            read(LIAISON_SMTP_URL="smtp://relais.example.org", LIAISON_MAIL_FROM=sender)

    @pytest.mark.parametrize("sender", ["liaison@example.org", "Service liaison <liaison@example.org>"])
    def test_accepted(self, sender: str) -> None:
        assert read(LIAISON_SMTP_URL="smtp://relais.example.org", LIAISON_MAIL_FROM=sender).mail_from == sender

    def test_without_either_no_email(self) -> None:
        config = read()
        assert (config.smtp_url, config.mail_from, config.sends_email) == (None, None, False)


class TestTheReminderDays:
    @pytest.mark.parametrize(("raw", "days"), [(None, 10), ("7", 7)])
    def test_read(self, raw: str | None, days: int) -> None:
        assert read(**({"LIAISON_ANSWER_REMINDER_DAYS": raw} if raw else {})).answer_reminder_days == days

    @pytest.mark.parametrize("raw", ["0", "-1", "dix"])
    def test_refused(self, raw: str) -> None:
        with pytest.raises(ConfigError, match=r"^LIAISON_ANSWER_REMINDER_DAYS"):
            read(LIAISON_ANSWER_REMINDER_DAYS=raw)
