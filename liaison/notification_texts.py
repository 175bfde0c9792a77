"""What a notification email says: its subject, a section per kind of news, its links. Pure, no
database and no mail server: :mod:`liaison.services.outbox` gives it the facts of one person's due
rows and sends what it returns; :mod:`liaison.mail` lays it out (``mail/notification.*``).

The facts are counts, kinds of sheet, organisations and dates (:mod:`liaison.services.notifications`
records nothing else), and a message counts them: never one line per sheet, never a job seeker's data.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from liaison import mail
from liaison.display import french_day
from liaison.enums import NotificationKind

Kind = NotificationKind


@dataclass(frozen=True)
class Links:
    """Absolute links of the pages each kind leads to, and of « Mes notifications » (made by the
    caller from ``LIAISON_PUBLIC_URL``: lists, never a sheet)."""

    pages: Mapping[Kind, str]
    preferences: str


@dataclass(frozen=True)
class Section:
    title: str
    lines: list[str]
    link: str
    link_text: str


# Each kind's subject, for one thing told and for several.
SUBJECTS: Mapping[Kind, tuple[str, str]] = {
    Kind.SHEET_RECEIVED: ("Nouvelle fiche de liaison reçue", "Nouvelles fiches de liaison reçues"),
    Kind.ANSWER_AWAITED: ("Orientation en attente de réponse", "Orientations en attente de réponse"),
    Kind.ACKNOWLEDGED: ("Accusé de réception d'une fiche envoyée", "Accusés de réception de fiches envoyées"),
    Kind.DESTRUCTION_COMING: ("Destruction prochaine de dossiers",) * 2,
    Kind.COPIES_TO_DELETE: ("Copies de fiches détruites à supprimer",) * 2,
    Kind.ACCOUNT_INACTIVE: ("Votre compte sera bientôt désactivé",) * 2,
}
LINK_TEXTS: Mapping[Kind, str] = {
    Kind.SHEET_RECEIVED: "Voir les fiches reçues",
    Kind.ANSWER_AWAITED: "Voir les fiches reçues",
    Kind.ACKNOWLEDGED: "Voir les fiches envoyées",
    Kind.DESTRUCTION_COMING: "Voir la conservation des données",
    Kind.COPIES_TO_DELETE: "Voir les copies à supprimer",
    Kind.ACCOUNT_INACTIVE: "Se connecter",
}
SERVICE = "liaison"


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _day(iso: str) -> str:
    return french_day(iso)


def _lines(kind: Kind, facts: Sequence[Mapping[str, Any]]) -> list[str]:
    """What ``facts`` of one kind say, counted: never one line per sheet."""
    if kind is Kind.SHEET_RECEIVED:
        received = Counter((item["sheet_kind"], item["sender"]) for item in facts)
        return [
            f"{_plural(count, 'fiche', 'fiches')} {sheet_kind} {'envoyée' if count == 1 else 'envoyées'} par {sender}."
            for (sheet_kind, sender), count in sorted(received.items())
        ]
    if kind is Kind.ANSWER_AWAITED:
        waiting = Counter((item["days"], item["agency"]) for item in facts)
        return [
            f"{_plural(count, 'orientation', 'orientations')} (FDL1) de {agency} "
            f"{'attend sa réponse' if count == 1 else 'attendent leur réponse'} (FDL2) depuis {days} jours."
            for (days, agency), count in sorted(waiting.items())
        ]
    if kind is Kind.ACKNOWLEDGED:
        acknowledged = Counter((item["recipient"], item["sheet_kind"]) for item in facts)
        return [
            f"{recipient} a accusé réception de {_plural(count, 'fiche', 'fiches')} {sheet_kind} "
            f"que vous {'avez envoyée' if count == 1 else 'avez envoyées'}."
            for (recipient, sheet_kind), count in sorted(acknowledged.items())
        ]
    if kind is Kind.DESTRUCTION_COMING:
        by_day: Counter[str] = Counter()
        for item in facts:
            by_day[item["destroy_on"]] += int(item["dossiers"])
        lines = [
            f"{_plural(count, 'dossier sera détruit', 'dossiers seront détruits')} le {_day(day)}."
            for day, count in sorted(by_day.items())
        ]
        return [*lines, "Un gel (contentieux) peut encore suspendre leur destruction."]
    if kind is Kind.COPIES_TO_DELETE:
        total = sum(int(item["copies"]) for item in facts)
        destroyed = (
            "Une fiche dont vous aviez téléchargé une copie a été détruite"
            if total == 1
            else f"{total} fiches dont vous aviez téléchargé une copie ont été détruites"
        )
        return [
            f"{destroyed} en application des règles de conservation : "
            f"supprimez {'cette copie' if total == 1 else 'ces copies'}, puis attestez-le dans le service."
        ]
    first = min(item["disable_on"] for item in facts)
    return [
        f"Sans connexion de votre part d'ici là, votre compte sera désactivé le {_day(first)}, "
        "comme le prévoit la convention pour les comptes inutilisés. Une connexion suffit à le garder actif."
    ]


def compose(rows: Sequence[tuple[Kind, Mapping[str, Any]]], links: Links, today: dt.date) -> mail.Content:
    """One message for one person: a section per kind (in the order of :class:`NotificationKind`)."""
    by_kind: dict[Kind, list[Mapping[str, Any]]] = defaultdict(list)
    for kind, facts in rows:
        by_kind[kind].append(facts)
    sections = [
        Section(kind.label, _lines(kind, by_kind[kind]), links.pages[kind], LINK_TEXTS[kind])
        for kind in Kind
        if kind in by_kind
    ]
    if len(sections) == 1:
        ((kind, told),) = by_kind.items()
        subject = f"{SERVICE} : {SUBJECTS[kind][len(told) > 1]}"
    else:
        subject = f"{SERVICE} : votre récapitulatif du {today:%d/%m/%Y}"
    return mail.render("notification", subject, {"sections": sections, "preferences": links.preferences})
