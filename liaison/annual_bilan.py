"""The annual bilan of a convention, ready to sign: its « Bilan Quantitatif » and « Bilan Qualitatif » (pure).

The PLIE convention (art. 7, « Indicateurs de pilotage régionaux ») lists the figures the PLIE's
director and the agency's director consolidate each year, before 30 April: some come from the
Union Régionale des PLIE, some from France Travail (« Pôle emploi »). liaison counts some of them
as events happen (:mod:`liaison.services.indicators`); the others it cannot know (who came to a
first meeting, who attended an information session, which services were delivered): each side
types those of its own list (:data:`TYPED`). The rates the convention defines are computed from
both. The « Bilan Qualitatif » is a questionnaire on the convention's seven points (:data:`POINTS`),
which each side assesses on a closed scale (:class:`~liaison.models.Assessment`), with a short
comment that names nobody (:func:`comment_problem`).

:func:`consolidate` builds the whole as plain values (:class:`Consolidated`) that the page and the
documents show, and that is stored as JSON when both sides have signed (:meth:`Consolidated.to_json`):
a signed bilan is read back from its snapshot, never computed again. No database, no clock, no Flask.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from liaison.bilan import DASH, french_count, french_rate, masked_text, threshold_sentence
from liaison.display import french_moment
from liaison.enums import Assessment, BilanSide
from liaison.indicators import POSITIVE_EXITS, Indicator, key
from schemas.codes import MODALITES_ORIENTATION, MOTIFS_SORTIE

COMMENT_MAX = 500
COMMENT_WARNING = (
    "Ce commentaire accompagne un bilan partagé : il ne doit nommer ni désigner aucune personne "
    "(ni nom, ni adresse électronique, ni identifiant France Travail)."
)
EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
FRANCE_TRAVAIL_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{7}[0-9A-Za-z](?![0-9A-Za-z])")
SECTIONS: Mapping[str, str] = {
    "urp": "Sources Union Régionale des PLIE",
    "pe": "Sources France Travail (Pôle emploi)",
}

# The seven points of the « Bilan Qualitatif », in the convention's order and words.
POINTS: Mapping[str, str] = {
    "specificites_publics": "La négociation sur les spécificités des publics orientés",
    "integration_suivi": "Les modalités d'intégration des publics et l'organisation du suivi",
    "mobilisation_mesures": (
        "Les procédures de mobilisation des mesures, formations, aides et prestations de France Travail"
    ),
    "partage_informations": "Le partage des informations sur les parcours",
    "acces_offres": ("La facilité d'accès aux offres d'emploi, dont l'offre d'insertion par l'activité économique"),
    "actions_conjointes": (
        "Les actions conjointes en direction des publics et des employeurs, notamment dans le cadre "
        "des clauses d'insertion des marchés publics"
    ),
    "actions_innovantes": "La coopération sur la mise en place d'actions innovantes au service de l'emploi",
}


@dataclass(frozen=True)
class Typed:
    """A count liaison cannot give: its code, its label, the side that types it, its list."""

    code: str
    label: str
    side: BilanSide
    section: str


TYPED: tuple[Typed, ...] = (
    Typed("recus_premier_accueil", "DE reçus en premier accueil collectif ou individuel", BilanSide.PLIE, "urp"),
    Typed("presents_premier_contact", "DE présents au premier contact PLIE", BilanSide.PLIE, "urp"),
    Typed("entres_diagnostic", "DE entrés en phase de diagnostic (ou pré-entrée)", BilanSide.PLIE, "urp"),
    Typed(
        "convoques_information_collective",
        "DE convoqués aux informations collectives pour une orientation vers le PLIE",
        BilanSide.AGENCY,
        "pe",
    ),
    Typed("presents_information_collective", "DE présents aux informations collectives", BilanSide.AGENCY, "pe"),
    Typed("services_delivres", "Services délivrés", BilanSide.AGENCY, "pe"),
    Typed(
        "mesures_prestations",
        "Mesures et prestations gérées par France Travail pour les participants du PLIE",
        BilanSide.AGENCY,
        "pe",
    ),
)
TYPED_BY_CODE: Mapping[str, Typed] = {typed.code: typed for typed in TYPED}
COUNT_MAX = 10_000_000


def typed_for(side: BilanSide) -> tuple[Typed, ...]:
    """The counts ``side`` types, in the bilan's order."""
    return tuple(typed for typed in TYPED if typed.side is side)


def read_count(raw: str) -> int | None:
    """A typed count: a non-negative whole number (spaces between thousands allowed); None if empty.
    ``ValueError`` with the French rule otherwise."""
    text = raw.replace("\u00a0", "").replace(" ", "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > COUNT_MAX:
        raise ValueError(
            f"Un nombre entier positif ou nul, sans signe ni décimale ({french_count(COUNT_MAX)} au plus)."
        )
    return int(text)


def comment_problem(comment: str) -> str | None:
    """Why a comment of the « Bilan Qualitatif » is refused (French), or None: too long, or holding
    what designates a person (an email address, a France Travail identifier)."""
    if len(comment) > COMMENT_MAX:
        return f"Le commentaire dépasse {COMMENT_MAX} caractères ({len(comment)})."
    if EMAIL.search(comment):
        return "Le commentaire contient une adresse électronique : il ne doit désigner aucune personne."
    if FRANCE_TRAVAIL_ID.search(comment):
        return (
            "Le commentaire contient ce qui ressemble à un identifiant France Travail (7 chiffres suivis d'un "
            "chiffre ou d'une lettre) : il ne doit désigner aucune personne."
        )
    return None


# --- the consolidated bilan -------------------------------------------------------------------------

Kind = Literal["computed", "typed", "rate", "missing"]


@dataclass(frozen=True)
class QuantRow:
    """A line of the « Bilan Quantitatif »: ``value`` a count, a rate (a fraction) or None (not
    typed yet, a rate without denominator); ``source`` says where it comes from (which counters,
    who typed it and when, how a rate is computed)."""

    code: str
    label: str
    section: str
    kind: Kind
    level: int
    value: int | float | None
    text: str
    source: str
    depends_on: tuple[str, ...] = ()  # a rate: the codes of the rows it is computed from


@dataclass(frozen=True)
class Answer:
    """One side's assessment of one point (``assessment`` None: not answered yet)."""

    point: str
    label: str
    side: str
    side_label: str
    assessment: str | None
    assessment_label: str
    comment: str
    by: str
    at: str


@dataclass(frozen=True)
class Signature:
    side: str
    side_label: str
    login: str
    organisation: str
    at: str


@dataclass(frozen=True)
class Consolidated:
    """Both bilans of a convention's year, and who signed; ``frozen_at`` set once both sides have."""

    convention: str
    year: int
    quantitative: tuple[QuantRow, ...]
    qualitative: tuple[Answer, ...]
    signatures: tuple[Signature, ...]
    frozen_at: str | None = None
    threshold: int = 0  # the small-cell threshold of a document that leaves the partnership (0: none)

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None

    def row(self, code: str) -> QuantRow:
        return next(row for row in self.quantitative if row.code == code)

    def section(self, name: str) -> tuple[QuantRow, ...]:
        return tuple(row for row in self.quantitative if row.section == name)

    def answers(self, side: str) -> tuple[Answer, ...]:
        return tuple(answer for answer in self.qualitative if answer.side == side)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Consolidated:
        data: dict[str, Any] = json.loads(text)
        return cls(
            convention=data["convention"],
            year=data["year"],
            quantitative=tuple(
                QuantRow(**{**row, "depends_on": tuple(row.get("depends_on", ()))}) for row in data["quantitative"]
            ),
            qualitative=tuple(Answer(**answer) for answer in data["qualitative"]),
            signatures=tuple(Signature(**signature) for signature in data["signatures"]),
            frozen_at=data["frozen_at"],
            threshold=data.get("threshold", 0),
        )

    @property
    def threshold_sentence(self) -> str:
        return threshold_sentence(self.threshold)


def with_threshold(consolidated: Consolidated, threshold: int) -> Consolidated:
    """The bilan as it leaves the partnership (for the regional correspondents): every count from 1
    to ``threshold`` - 1 shown « < threshold », every rate computed from such a count « — ».
    ``ValueError`` for a negative threshold."""
    if threshold < 0:
        raise ValueError("Le seuil de secret statistique est un entier positif ou nul.")
    if threshold <= 1:
        return replace(consolidated, threshold=threshold)
    small = {
        row.code
        for row in consolidated.quantitative
        if row.kind in ("computed", "typed") and isinstance(row.value, int) and 0 < row.value < threshold
    }
    rows = []
    for row in consolidated.quantitative:
        if row.code in small:
            row = replace(row, value=None, text=masked_text(threshold))
        elif row.kind == "rate" and small & set(row.depends_on):
            row = replace(row, value=None, text=DASH)
        rows.append(row)
    return replace(consolidated, quantitative=tuple(rows), threshold=threshold)


@dataclass(frozen=True)
class TypedValue:
    count: int
    login: str
    at: dt.datetime


@dataclass(frozen=True)
class GivenAnswer:
    assessment: Assessment
    comment: str
    login: str
    at: dt.datetime


@dataclass(frozen=True)
class GivenSignature:
    side: BilanSide
    login: str
    organisation: str
    at: dt.datetime


def _counters(*names: str) -> str:
    return "Compté par liaison (compteurs : " + ", ".join(names) + ")"


def _rate(numerator: int | None, denominator: int | None) -> tuple[float | None, str]:
    if numerator is None or denominator is None or denominator == 0:
        return None, DASH
    return numerator / denominator, french_rate(numerator / denominator)


def _quantitative(totals: Mapping[str, int], typed: Mapping[str, TypedValue]) -> list[QuantRow]:
    rows: list[QuantRow] = []

    def count(code: str, label: str, section: str, number: int, source: str, level: int = 0) -> None:
        rows.append(QuantRow(code, label, section, "computed", level, number, french_count(number), source))

    def entered(code: str) -> int | None:
        value = typed.get(code)
        spec = TYPED_BY_CODE[code]
        if value is None:
            text, source = "Non saisi", f"Non disponible dans liaison : à saisir par le côté {spec.side.label}"
            rows.append(QuantRow(code, spec.label, spec.section, "missing", 0, None, text, source))
            return None
        source = (
            f"Non disponible dans liaison : saisi par {value.login} ({spec.side.label}) le {french_moment(value.at)}"
        )
        rows.append(
            QuantRow(code, spec.label, spec.section, "typed", 0, value.count, french_count(value.count), source)
        )
        return value.count

    def rate(
        code: str, label: str, section: str, numerator: int | None, denominator: int | None, how: str, inputs: str
    ) -> None:
        """A rate, and the codes of its numerator's and denominator's rows (``inputs``, « a/b »)."""
        value, text = _rate(numerator, denominator)
        depends_on = tuple(inputs.split("/"))
        rows.append(QuantRow(code, label, section, "rate", 1, value, text, f"Calculé : {how}", depends_on))

    orientations = totals.get(key(Indicator.FDL1_RECEIVED), 0)
    integrations = totals.get(key(Indicator.INTEGRATIONS), 0)
    exits = {code: totals.get(key(Indicator.EXITS, code), 0) for code in MOTIFS_SORTIE}
    other_exits = sum(
        number
        for stored, number in totals.items()
        if stored.startswith(f"{Indicator.EXITS.value}:") and stored.partition(":")[2] not in MOTIFS_SORTIE
    )
    exits_total = sum(exits.values()) + other_exits
    positive = sum(number for code, number in exits.items() if code in POSITIVE_EXITS)

    # Sources Union Régionale des PLIE
    count("orientations", "DE orientés selon les modalités de la convention", "urp", orientations,
          _counters(Indicator.FDL1_RECEIVED.value))  # fmt: skip
    for code, label in MODALITES_ORIENTATION.items():
        stored = key(Indicator.ORIENTATIONS, code)
        count(stored, f"dont {label}", "urp", totals.get(stored, 0), _counters(stored), level=1)
    received = entered("recus_premier_accueil")
    present = entered("presents_premier_contact")
    rate("taux_presence_premier_contact", "Taux de présence au premier contact PLIE des DE orientés", "urp",
         present, orientations, "DE présents au premier contact / DE orientés",
         "presents_premier_contact/orientations")  # fmt: skip
    diagnosis = entered("entres_diagnostic")
    rate("taux_passage_diagnostic", "Taux de passage entre la réception des DE et la phase de diagnostic", "urp",
         diagnosis, received, "DE entrés en phase de diagnostic / DE reçus en premier accueil",
         "entres_diagnostic/recus_premier_accueil")  # fmt: skip
    count("integrations", "Personnes intégrées au dispositif (entrées en parcours actif)", "urp", integrations,
          _counters(Indicator.INTEGRATIONS.value))  # fmt: skip
    rate("taux_integration_diagnostic", "Taux d'intégration en phase de diagnostic", "urp", integrations, diagnosis,
         "DE intégrés / DE entrés en phase de diagnostic", "integrations/entres_diagnostic")  # fmt: skip
    rate("taux_integration_accueil", "Taux d'intégration en accompagnement / réception des DE", "urp", integrations,
         received, "DE intégrés / DE reçus en premier accueil", "integrations/recus_premier_accueil")  # fmt: skip
    rate("taux_integration_orientation", "Taux d'intégration des DE dans le PLIE / orientations", "urp",
         integrations, orientations, "DE intégrés / DE orientés", "integrations/orientations")  # fmt: skip
    count("sorties", "Sorties totales", "urp", exits_total, _counters(f"{Indicator.EXITS.value}:*"))
    count("sorties_positives", "Sorties positives", "urp", positive,
          _counters(*(key(Indicator.EXITS, code) for code in MOTIFS_SORTIE if code in POSITIVE_EXITS)))  # fmt: skip
    rate("taux_sorties_positives", "Taux de sorties positives", "urp", positive, exits_total,
         "sorties positives / sorties totales", "sorties_positives/sorties")  # fmt: skip
    for code, label in MOTIFS_SORTIE.items():
        stored = key(Indicator.EXITS, code)
        count(stored, f"Sorties : {label}", "urp", exits[code], _counters(stored), level=1)
    if other_exits:
        count("sorties:autres", "Sorties : autre motif", "urp", other_exits, _counters(f"{Indicator.EXITS.value}:*"), 1)

    # Sources France Travail (Pôle emploi)
    summoned = entered("convoques_information_collective")
    attending = entered("presents_information_collective")
    rate("taux_presence_information_collective", "Taux de présence aux informations collectives", "pe", attending,
         summoned, "DE présents / DE convoqués aux informations collectives",
         "presents_information_collective/convoques_information_collective")  # fmt: skip
    count("orientations_pe", "DE orientés selon les modalités de la convention", "pe", orientations,
          _counters(Indicator.FDL1_RECEIVED.value))  # fmt: skip
    entered("services_delivres")
    entered("mesures_prestations")
    return rows


def _qualitative(answers: Mapping[tuple[BilanSide, str], GivenAnswer]) -> list[Answer]:
    made = []
    for side in BilanSide:
        for point, label in POINTS.items():
            given = answers.get((side, point))
            if given is None:
                made.append(Answer(point, label, side.value, side.label, None, "Non renseigné", "", "", ""))
            else:
                made.append(
                    Answer(
                        point,
                        label,
                        side.value,
                        side.label,
                        given.assessment.value,
                        given.assessment.label,
                        given.comment,
                        given.login,
                        french_moment(given.at),
                    )
                )
    return made


def consolidate(
    convention: str,
    year: int,
    totals: Mapping[str, int],
    typed: Mapping[str, TypedValue],
    answers: Mapping[tuple[BilanSide, str], GivenAnswer],
    signatures: Mapping[BilanSide, GivenSignature],
    frozen_at: dt.datetime | None = None,
) -> Consolidated:
    """Both bilans of ``convention``'s ``year``: ``totals`` are the year's counters (every agency,
    every month, by stored key), ``typed`` the counts each side typed, ``answers`` each side's
    assessments by (side, point), ``signatures`` each side's sign-off."""
    return Consolidated(
        convention=convention,
        year=year,
        quantitative=tuple(_quantitative(totals, typed)),
        qualitative=tuple(_qualitative(answers)),
        signatures=tuple(
            Signature(side.value, side.label, given.login, given.organisation, french_moment(given.at))
            for side in BilanSide
            if (given := signatures.get(side)) is not None
        ),
        frozen_at=french_moment(frozen_at) if frozen_at is not None else None,
    )
