"""``liaison notifications``: send the email outbox now, and see where it stands
(:mod:`liaison.services.outbox`; the scheduler sends it every minute)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click

from liaison.cli._common import NOT_INITIALISED, SUBCOMMAND, command_app, reading_session
from liaison.db import schema_is_current
from liaison.enums import NotificationStatus
from liaison.services.outbox import outbox_state, send_due
from liaison.web.notifications import outbox_of

PARIS = ZoneInfo("Europe/Paris")


@click.group("notifications", subcommand_metavar=SUBCOMMAND)
def notifications_group() -> None:
    """Notifications par courriel : envoi de la file d'attente, état de la file."""


@notifications_group.command("send")
def send() -> None:
    """Envoie les notifications dues maintenant et affiche combien ont été envoyées.

    Un serveur de messagerie injoignable ne perd rien : les notifications attendent un nouvel
    essai, de plus en plus espacé. Un envoi interrompu par un arrêt n'est jamais renvoyé de
    lui-même (voir « liaison notifications status »)."""
    app = command_app()
    if not schema_is_current(app.extensions["liaison.engine"]):
        raise click.ClickException(NOT_INITIALISED)
    outbox = outbox_of(app)
    report = send_due(outbox)
    if outbox.mailer is None:
        click.echo("Notifications par courriel désactivées (LIAISON_SMTP_URL absent) : aucun message envoyé.")
    click.echo(f"{report.messages} message(s) envoyé(s), pour {report.sent} notification(s).")
    for count, words in (
        (
            report.retried,
            "notification(s) en attente d'un nouvel essai : le serveur de messagerie ne les a pas prises "
            "pour l'instant.",
        ),
        (report.failed, "notification(s) non remise(s) : refusées par le serveur, ou trop anciennes."),
        (
            report.dropped,
            "notification(s) non envoyée(s) : choix de la personne, compte désactivé ou sans adresse, ou "
            "messagerie désactivée.",
        ),
        (
            report.interrupted,
            "envoi(s) interrompu(s) par un arrêt : peut-être reçus, jamais renvoyés "
            "(voir « liaison notifications status »).",
        ),
    ):
        if count:
            click.echo(f"{count} {words}")


@notifications_group.command("status")
def status() -> None:
    """Affiche la file d'attente par état, et les envois interrompus (à vérifier à la main)."""
    app = command_app()
    with reading_session(app) as session:
        state = outbox_state(session)
    for row_status in NotificationStatus:
        click.echo(f"{row_status.label} : {state.counts[row_status]}")
    if state.interrupted:
        click.echo("Envois interrompus (peut-être reçus ; jamais renvoyés d'eux-mêmes) :")
        for row_id, kind, login, claimed_at in state.interrupted:
            moment = f"{claimed_at.astimezone(PARIS):%d/%m/%Y à %H:%M}" if claimed_at else "date inconnue"
            click.echo(f"  n° {row_id} · {kind.label} · {login} · commencé le {moment}")
