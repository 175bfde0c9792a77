"""The convention's bilan: its figures over a period, by month and by agency, as tables (pure builders).

The counters (:mod:`liaison.services.indicators`) are read as :class:`Line` s, one per agency and
month. :func:`build_bilan` turns them into what the « Bilan de la convention » pages and files show:

* a table by month (all agencies summed) and a table by agency (the period summed), with the same
  rows: orientations (and by modality), FDL2, integrations and their rate, refusals by reason, exits
  by reason, positive exits and their rate, acknowledgements, exports, destructions by rule, and
  both delays as distributions by band with their median band; every month of the period appears,
  zeros included;
* the delays of the whole period (the « Délais » sheet), and one line per month and agency with
  every counter (the CSV).

:func:`apply_threshold` then hides the small counts where the figures leave the partnership
(issue 15, point 5): a count from 1 to the threshold minus one shows « < 5 », and a rate or a median
computed from a hidden count shows « — »; the bilan says whether it was applied, at which value.
Hidden cells carry no value at all, so no document can leak them. No Flask, no database, no clock.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from liaison.indicators import BAND_LABELS, DELAY_BANDS, POSITIVE_EXITS, Indicator, key, median_band
from liaison.services.indicators import Line
from liaison.services.retention import RULE_LABELS
from retention.rules import Rule
from schemas.codes import MODALITES_ORIENTATION, MOTIFS_REFUS_INTEGRATION, MOTIFS_SORTIE

DEFAULT_THRESHOLD = 5
NBSP = "\u00a0"  # French typography: « 42,9 % », « < 5 », « 1 234 » never break inside
DASH = "—"
TOTAL = "total"
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MONTH_NAMES = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
MONTH_ABBREVIATIONS = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip
# The rules under which a purge destroys (a hold or a pending DPO decision destroys nothing).
DESTROYING_RULES: Mapping[str, str] = {
    code: label for code, label in RULE_LABELS.items() if code not in {Rule.HOLD.value, Rule.AWAITING_DPO.value}
}
NOTES = (
    "Les taux rapportent les événements d'une même période : une intégration peut suivre une orientation "
    "d'un mois antérieur, un taux mensuel peut donc dépasser 100 %. « — » : taux sans objet (aucune "
    "orientation, aucune sortie) ou masqué par le seuil de secret statistique.",
    "Sorties positives : emploi (CDI ou CDD), CUI PEC, création d'entreprise, formation.",
    "Une orientation dont la modalité n'est pas renseignée compte dans le total des orientations, "
    "pas dans le détail par modalité.",
    "Les délais sont comptés en jours entiers et par tranche, sans garder de date par personne ; la médiane "
    "est la tranche qui contient le délai médian. Un délai compte au mois de la réponse ou de l'accusé.",
    "L'agence d'un événement est celle de sa fiche (l'expéditrice d'une FDL1, la destinataire d'une FDL2) ; "
    "un dossier détruit compte pour l'agence de sa première fiche.",
)

Kind = Literal["count", "rate", "median"]


@dataclass(frozen=True)
class Cell:
    """A figure as shown: ``value`` is the count (an int), the rate (a fraction) or None (a median, a
    rate without denominator, a hidden cell); ``text`` is what people read."""

    value: int | float | None
    text: str
    masked: bool = False


@dataclass(frozen=True)
class Row:
    """One line of a table: a count, a rate or a median band, one cell per column. ``depends_on``
    names the rows (of the same table) a rate or a median is computed from; ``level`` 1 is a detail
    of the row above it (a reason, a band)."""

    key: str
    label: str
    kind: Kind
    level: int
    cells: tuple[Cell, ...]
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Column:
    key: str  # a month « AAAA-MM », an agency id, a counter's stored key, or "total"
    label: str


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    def row(self, row_key: str) -> Row:
        return next(row for row in self.rows if row.key == row_key)

    def cell(self, row_key: str, column_key: str) -> Cell:
        index = [column.key for column in self.columns].index(column_key)
        return self.row(row_key).cells[index]


@dataclass(frozen=True)
class Agency:
    id: int
    code: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.code} — {self.name}"


@dataclass(frozen=True)
class GridLine:
    """One agency in one month: a cell per counter of :attr:`Bilan.counters` (the CSV's lines)."""

    month: str
    agency: Agency
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Bilan:
    """A convention's figures from month ``first`` to ``last``; ``threshold`` 0 until
    :func:`apply_threshold` hides the small counts."""

    convention: str
    first: str
    last: str
    months: tuple[str, ...]
    agencies: tuple[Agency, ...]
    by_month: Table
    by_agency: Table
    delays: Table
    counters: tuple[Column, ...]
    grid: tuple[GridLine, ...]
    threshold: int = 0

    @property
    def applied(self) -> bool:
        """Whether small counts are hidden (a threshold of 0 or 1 hides nothing)."""
        return self.threshold > 1

    @property
    def threshold_sentence(self) -> str:
        return threshold_sentence(self.threshold)

    @property
    def period_label(self) -> str:
        """« de janvier 2026 à décembre 2026 », or « janvier 2026 » for one month."""
        if self.first == self.last:
            return month_label(self.first)
        return f"de {month_label(self.first)} à {month_label(self.last)}"

    @property
    def notes(self) -> tuple[str, ...]:
        return (self.threshold_sentence, *NOTES)


# --- words and numbers, as written in France ------------------------------------------------------


def months_between(first: str, last: str) -> tuple[str, ...]:
    """Every month from ``first`` to ``last`` (« AAAA-MM », both included); ``ValueError`` otherwise."""
    for month in (first, last):
        if not MONTH.fullmatch(month):
            raise ValueError(f"Mois invalide : « {month} » (attendu : AAAA-MM).")
    if first > last:
        raise ValueError(f"La période commence ({first}) après sa fin ({last}).")
    start, end = _index(first), _index(last)
    return tuple(f"{index // 12:04d}-{index % 12 + 1:02d}" for index in range(start, end + 1))


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:]) - 1


def month_label(month: str, short: bool = False) -> str:
    """« janvier 2026 », or « janv. 2026 » when ``short``."""
    names = MONTH_ABBREVIATIONS if short else MONTH_NAMES
    return f"{names[int(month[5:]) - 1]} {month[:4]}"


def french_count(number: int) -> str:
    """« 1 234 » (a non-breaking space between thousands)."""
    return f"{number:,}".replace(",", NBSP)


def french_rate(fraction: float) -> str:
    """« 42,9 % »: one decimal, a comma, a non-breaking space before the sign."""
    return f"{fraction * 100:.1f}".replace(".", ",") + f"{NBSP}%"


def threshold_sentence(threshold: int) -> str:
    """What every document says of the threshold: whether it was applied, at which value."""
    if threshold <= 1:
        return (
            "Aucun seuil de secret statistique n'a été appliqué : les effectifs sont donnés tels qu'ils ont "
            "été comptés, même les plus petits."
        )
    small = "égaux à 1" if threshold == 2 else f"de 1 à {threshold - 1}"
    return (
        f"Seuil de secret statistique appliqué, à la valeur {threshold} : les effectifs {small} sont "
        f"affichés « {masked_text(threshold)} », et les taux et médianes calculés à partir d'eux « {DASH} »."
    )


def masked_text(threshold: int) -> str:
    """What a hidden count shows: « < 5 »."""
    return f"<{NBSP}{threshold}"


# --- the rows --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """How a row is computed: a count sums stored keys; a rate divides two rows; a median reads the
    bands of a delay (``sources``: its stored keys, by band). ``column`` is the heading of a stored
    counter in the CSV (None for a row computed from others)."""

    key: str
    label: str
    kind: Kind
    level: int
    sources: tuple[str, ...]
    depends_on: tuple[str, ...] = ()
    column: str | None = None


def _details(indicator: Indicator, labels: Mapping[str, str], present: set[str]) -> list[tuple[str, str]]:
    """(stored key, label) of each detail of ``indicator``: the known ones in the form's order, then
    any other that was counted (shown by its code)."""
    known = [(key(indicator, code), label) for code, label in labels.items()]
    prefix = f"{indicator.value}:"
    seen = {stored for stored, _ in known}
    others = sorted(stored for stored in present if stored.startswith(prefix) and stored not in seen)
    return known + [(stored, stored[len(prefix) :].strip("-") or "Non renseigné") for stored in others]


def _specs(present: set[str]) -> list[_Spec]:
    """The rows of the tables by month and by agency, in the bilan's order (and so the CSV's columns)."""
    specs: list[_Spec] = []

    def stored(indicator: Indicator) -> None:
        specs.append(_Spec(indicator.value, indicator.label, "count", 0, (indicator.value,), column=indicator.label))

    def group(indicator: Indicator, title: str, details: list[tuple[str, str]], column: str, level: int = 1) -> None:
        if title:
            specs.append(_Spec(indicator.value, title, "count", 0, tuple(name for name, _ in details)))
        for name, label in details:
            shown = f"dont {label}" if indicator is Indicator.ORIENTATIONS else label
            specs.append(_Spec(name, shown, "count", level, (name,), column=f"{column} : {label}"))

    def rate(name: str, label: str, numerator: str, denominator: str) -> None:
        specs.append(_Spec(name, label, "rate", 1, (), (numerator, denominator)))

    stored(Indicator.FDL1_RECEIVED)
    group(Indicator.ORIENTATIONS, "", _details(Indicator.ORIENTATIONS, MODALITES_ORIENTATION, present), "Orientations")
    stored(Indicator.FDL2_RECEIVED)
    stored(Indicator.INTEGRATIONS)
    rate("taux_integration", "Taux d'intégration (intégrations / orientations)", "integrations", "fdl1_recues")
    refusals = _details(Indicator.REFUSALS, MOTIFS_REFUS_INTEGRATION, present)
    group(Indicator.REFUSALS, "Intégrations refusées", refusals, "Refus")
    group(Indicator.EXITS, "Sorties", _details(Indicator.EXITS, MOTIFS_SORTIE, present), "Sortie")
    positives = tuple(key(Indicator.EXITS, code) for code in MOTIFS_SORTIE if code in POSITIVE_EXITS)
    specs.append(_Spec("sorties_positives", "Sorties positives", "count", 0, positives))
    rate(
        "taux_sorties_positives",
        "Taux de sorties positives (sorties positives / sorties)",
        "sorties_positives",
        "sorties",
    )
    stored(Indicator.ACKNOWLEDGEMENTS)
    stored(Indicator.EXPORTS)
    rules = _details(Indicator.DESTRUCTIONS, DESTROYING_RULES, present)
    group(Indicator.DESTRUCTIONS, "Dossiers détruits", rules, "Destruction")
    for delay in (Indicator.ANSWER_DELAYS, Indicator.ACKNOWLEDGEMENT_DELAYS):
        bands = _band_keys(delay)
        group(delay, f"{delay.label} (délais mesurés)", bands, delay.label)
        specs.append(
            _Spec(f"{delay.value}:mediane", "Médiane", "median", 1, tuple(k for k, _ in bands), (delay.value,))
        )
    return specs


def _band_keys(indicator: Indicator) -> list[tuple[str, str]]:
    return [(key(indicator, name), BAND_LABELS[name]) for _, name in DELAY_BANDS]


def _count_cell(number: int) -> Cell:
    return Cell(number, french_count(number))


def _rate_cell(numerator: int, denominator: int) -> Cell:
    if denominator == 0:
        return Cell(None, DASH)
    return Cell(numerator / denominator, french_rate(numerator / denominator))


def _median_cell(counts: Mapping[str, int], sources: tuple[str, ...]) -> Cell:
    band = median_band({stored.partition(":")[2]: counts.get(stored, 0) for stored in sources})
    return Cell(None, BAND_LABELS[band] if band else DASH)


def _table(title: str, columns: list[Column], sums: list[Counter[str]], specs: list[_Spec]) -> Table:
    """A table whose column i shows the counts ``sums[i]``."""
    values: dict[str, list[int]] = {}
    rows = []
    for spec in specs:
        if spec.kind == "count":
            values[spec.key] = [sum(counts[stored] for stored in spec.sources) for counts in sums]
            cells = tuple(_count_cell(number) for number in values[spec.key])
        elif spec.kind == "rate":
            numerators, denominators = (values[name] for name in spec.depends_on)
            cells = tuple(_rate_cell(n, d) for n, d in zip(numerators, denominators, strict=True))
        else:
            cells = tuple(_median_cell(counts, spec.sources) for counts in sums)
        rows.append(Row(spec.key, spec.label, spec.kind, spec.level, cells, spec.depends_on))
    return Table(title, tuple(columns), tuple(rows))


def _delays(total: Counter[str]) -> Table:
    """The delays of the whole period: a column per delay, a row per band, their median band."""
    delays = (Indicator.ANSWER_DELAYS, Indicator.ACKNOWLEDGEMENT_DELAYS)
    columns = tuple(Column(delay.value, delay.label) for delay in delays)
    rows = [Row(TOTAL, "Délais mesurés", "count", 0, tuple(_count_cell(_measured(total, d)) for d in delays))]
    for _, band in DELAY_BANDS:
        rows.append(Row(band, BAND_LABELS[band], "count", 1, tuple(_count_cell(total[key(d, band)]) for d in delays)))
    medians = tuple(_median_cell(total, tuple(stored for stored, _ in _band_keys(d))) for d in delays)
    rows.append(Row("mediane", "Médiane", "median", 0, medians, (TOTAL,)))
    return Table("Délais sur la période, par tranche", columns, tuple(rows))


def _measured(counts: Counter[str], delay: Indicator) -> int:
    return sum(counts[stored] for stored, _ in _band_keys(delay))


# --- the bilan -------------------------------------------------------------------------------------


def build_bilan(
    convention: str, first: str, last: str, lines: Iterable[Line], agencies: Mapping[int, tuple[str, str]]
) -> Bilan:
    """The bilan of the convention (its code) from month ``first`` to ``last`` (« AAAA-MM »), from
    the counters ``lines`` and the agencies' (code, name) by id, with every count shown.

    The agencies are the columns of the table by agency and of the CSV, in the order of their code:
    give only those the reader may see (an agency's RGC: its own). An agency counted but missing
    from ``agencies`` still shows, by its id. Lines outside the period are left out."""
    months = months_between(first, last)
    kept = [line for line in lines if line.month in months]
    known = {id_: Agency(id_, code, name) for id_, (code, name) in agencies.items()}
    for line in kept:
        known.setdefault(line.agency_id, Agency(line.agency_id, str(line.agency_id), f"Agence n° {line.agency_id}"))
    ordered = tuple(sorted(known.values(), key=lambda agency: (agency.code, agency.id)))
    present = {stored for line in kept for stored in line.counts}

    cells: dict[tuple[str, int], Counter[str]] = {}
    for line in kept:
        cells.setdefault((line.month, line.agency_id), Counter()).update(line.counts)
    by_month = {month: Counter[str]() for month in months}
    by_agency = {agency.id: Counter[str]() for agency in ordered}
    total: Counter[str] = Counter()
    for (month, agency_id), counts in cells.items():
        by_month[month].update(counts)
        by_agency[agency_id].update(counts)
        total.update(counts)

    specs = _specs(present)
    month_columns = [Column(month, month_label(month, short=True)) for month in months]
    agency_columns = [Column(str(agency.id), agency.label) for agency in ordered]
    counters = tuple(Column(spec.key, spec.column) for spec in specs if spec.column)
    grid = tuple(
        GridLine(month, agency, tuple(_count_cell(cells.get((month, agency.id), Counter())[c.key]) for c in counters))
        for month in months
        for agency in ordered
    )
    return Bilan(
        convention=convention,
        first=first,
        last=last,
        months=months,
        agencies=ordered,
        by_month=_table(
            "Par mois (toutes agences)",
            [*month_columns, Column(TOTAL, "Total")],
            [*by_month.values(), total],
            specs,
        ),
        by_agency=_table(
            "Par agence (toute la période)",
            [*agency_columns, Column(TOTAL, "Total")],
            [*by_agency.values(), total],
            specs,
        ),
        delays=_delays(total),
        counters=counters,
        grid=grid,
    )


# --- the threshold ---------------------------------------------------------------------------------


def _small(cell: Cell, threshold: int) -> bool:
    return isinstance(cell.value, int) and 0 < cell.value < threshold


def _hidden(threshold: int) -> Cell:
    return Cell(None, masked_text(threshold), masked=True)


def _masked_table(table: Table, threshold: int) -> Table:
    """``table`` with its small counts hidden, and the rates and medians computed from them."""
    rows: dict[str, Row] = {}
    for row in table.rows:
        if row.kind == "count":
            cells = tuple(_hidden(threshold) if _small(cell, threshold) else cell for cell in row.cells)
        else:
            sources = [rows[name].cells for name in row.depends_on]
            cells = tuple(
                Cell(None, DASH, masked=True) if any(source[index].masked for source in sources) else cell
                for index, cell in enumerate(row.cells)
            )
        rows[row.key] = replace(row, cells=cells)
    return replace(table, rows=tuple(rows.values()))


def apply_threshold(bilan: Bilan, threshold: int = DEFAULT_THRESHOLD) -> Bilan:
    """``bilan`` with every count from 1 to ``threshold`` - 1 shown « < threshold » (0 and counts
    from the threshold up stay), and every rate or median computed from a hidden count shown « — »;
    a hidden cell keeps no value. A threshold of 0 (or 1) hides nothing, and the bilan says so.
    ``ValueError`` for a negative threshold or a bilan already hidden."""
    if threshold < 0:
        raise ValueError("Le seuil de secret statistique est un entier positif ou nul.")
    if bilan.applied:
        raise ValueError("Le seuil de secret statistique a déjà été appliqué à ce bilan.")
    if threshold <= 1:
        return replace(bilan, threshold=threshold)
    grid = tuple(
        replace(line, cells=tuple(_hidden(threshold) if _small(cell, threshold) else cell for cell in line.cells))
        for line in bilan.grid
    )
    return replace(
        bilan,
        by_month=_masked_table(bilan.by_month, threshold),
        by_agency=_masked_table(bilan.by_agency, threshold),
        delays=_masked_table(bilan.delays, threshold),
        grid=grid,
        threshold=threshold,
    )
