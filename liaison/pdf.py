"""The printable form of a liaison sheet: a PDF laid out like the convention's annexes 2 and 3.

:func:`render_sheet_pdf` takes a sheet in its canonical JSON shape (``schemas.dump_sheet``) and
returns the bytes of a PDF drawn with fpdf2 and its core font (Helvetica, Windows-1252), so
that French accents and « œ » print without embedding a font. Labels come from the schemas'
``metadata["label"]`` and the closed lists from :mod:`schemas.codes`, so the PDF says what the
web form says. Every item of a closed list is printed, the chosen ones ticked, as on paper;
boxes and crosses are drawn, not taken from a glyph the core font lacks.

The PDF holds personal data (and a health checkbox): it is built in memory only and leaves the
service inside an encrypted export. Nothing here logs, and the document's metadata carry no
name. The output is deterministic: the creation date is the sheet's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos
from marshmallow import Schema, fields

from liaison.display import display_phone
from schemas import codes
from schemas.sheets import SHEET_SCHEMAS

__all__ = ["render_sheet_pdf"]

ENCODING = "windows-1252"
FONT = "Helvetica"
MARGIN = 15.0
PAGE_WIDTH = 210.0
WIDTH = PAGE_WIDTH - 2 * MARGIN
GUTTER = 6.0
COLUMN = (WIDTH - GUTTER) / 2
PAD = 2.0
LINE = 4.6
BOX = 3.4
EMPTY = "—"
COLON = "\u00a0:"  # French typography, and the colon never wraps alone onto its own line

Row = tuple[str, str]
Choices = Sequence[tuple[str, bool]]

FDL1_REMINDER = (
    "L'échange de données est limité strictement aux données listées ci-dessous. Si envoi par "
    "mail, la fiche est obligatoirement chiffrée avant l'envoi avec AxCrypt ou 7zip ou autre "
    "logiciel de chiffrement."
)
FDL2_REMINDER = "L'échange de données est limité strictement aux données listées ci-dessous."

# Annexe 2, "INFORMATION AU DEMANDEUR D'EMPLOI CONCERNANT L'ECHANGE DE DONNEES LE CONCERNANT",
# word for word but for the operator's name: Pôle emploi became France Travail on 1 January 2024
# (loi n° 2023-1196 « pour le plein emploi »); the convention, signed before, names its signatory
# as it was then. Its contact addresses are the convention's, unchanged.
NOTICE_TITLE = "Information au demandeur d'emploi concernant l'échange de données le concernant"
NOTICE = (
    "Dans le cadre de la convention de partenariat signée le 1er septembre 2021 entre le PLIE du "
    "Pays d'Aix représenté par son président Monsieur Roger PELLENC et Pôle emploi (devenu France "
    "Travail) Bouches du Rhône et Vaucluse, représentés par son directeur territorial, Messieurs "
    "Jean-Charles BLANC et Michel CIOCCI, un échange de données personnelles est mis en œuvre entre "
    "France Travail et le PLIE afin de renforcer la complémentarité de leurs actions propres à "
    "favoriser l'insertion professionnelle des demandeurs d'emploi concernés. Pour votre "
    "information, les données personnelles portées sur la présente fiche de liaison sont "
    "collectées par France Travail en vue de votre orientation vers Plie dans le cadre de cette "
    "convention de partenariat. Les autorités et les services nationaux et européens chargés du "
    "contrôle de la bonne utilisation du FSE peuvent être destinataires de cette fiche de liaison. "
    "Vos données personnelles listées ci-dessus font donc l'objet d'un traitement de données à "
    "caractère personnel. Elles sont conservées pendant la durée nécessaire à l'exécution de la "
    "convention, aux contrôles FSE (Fonds social européen) et au plus tard dans un délai de 10 "
    "ans à compter de la fin de la convention.",
    "Vous disposez notamment d'un droit d'accès et de rectification en vous adressant par "
    "courrier à France Travail, la déléguée à la protection des données, Direction générale de "
    "France Travail, 1-5 avenue du Docteur Gley, 75 987 Paris Cedex 20, par courriel à "
    "courriers-cnil@pole-emploi.fr ou auprès du délégué à la protection des données du PLIE du "
    "pays d'Aix, à l'adresse suivante par courriel "
    "direction-insertion-emploi.paysdaix@ampmetropole.fr qui s'engagent à répondre à cette "
    "demande dans un délai d'un mois. Par ailleurs, vous disposez du droit d'introduire une "
    "réclamation auprès de la CNIL soit à partir de son site internet www.cnil.fr.",
)

# Annexe 3, words of the form that are not field labels.
MOTIFS_REFUS_TITLE = "Motifs de refus d'intégration des personnes orientées vers le PLIE par France Travail"
MOTIFS_SORTIE_TITLE = "Motifs de sortie"
NO_FINANCIAL_DATA = "Aucune information d'ordre économique et financière ne doit être communiquée"
REMINDER_TITLE = "POUR RAPPEL"
REMINDER = (
    "La transmission de cette fiche de liaison doit obligatoirement être sécurisée.",
    "Elle peut être remise en main propre entre Plie et France Travail ; si elle est envoyée par "
    "mail, elle sera obligatoirement chiffrée avant envoi par mail avec AxCrypt ou 7zip ou autre "
    "logiciel de chiffrement. La clé de déchiffrage sera adressée à France Travail ou au Partenaire "
    "par un autre canal.",
)


# --- values as printed ---------------------------------------------------------------------


def _printable(text: str) -> str:
    """``text`` with any character outside Windows-1252 shown as "?" rather than failing."""
    return text.encode(ENCODING, errors="replace").decode(ENCODING)


def format_date(value: str | None) -> str:
    """An ISO date ("2026-11-20") as printed on the form ("20/11/2026"); a dash when absent."""
    if not value:
        return EMPTY
    return dt.date.fromisoformat(value).strftime("%d/%m/%Y")


def format_phone(value: str | None) -> str:
    """An E.164 French number ("+33442000001") as printed in France ("04 42 00 00 01"); a dash
    when absent (:func:`liaison.phones.display_phone`)."""
    return display_phone(value) if value else EMPTY


def _text(value: str | None) -> str:
    return value if value else EMPTY


def _label_of(code: str | None, labels: Mapping[str, str]) -> str:
    if not code:
        return EMPTY
    return labels.get(code, code.replace("_", " ").capitalize())


def _address_lines(adresse: Mapping[str, Any]) -> str:
    street = " ".join(part for part in (adresse.get("numero_voie"), adresse.get("voie")) if part)
    town = " ".join(part for part in (adresse.get("code_postal"), adresse.get("commune")) if part)
    return "\n".join(line for line in (street, adresse.get("complement"), town) if line)


def _full_name(person: Mapping[str, Any]) -> str:
    return " ".join(part for part in (person.get("nom"), person.get("prenom")) if part) or EMPTY


# --- labels from the schemas ---------------------------------------------------------------


def _nested(schema: Schema, block: str) -> Schema:
    """The schema of a block (a ``Nested`` field) of ``schema``."""
    field = schema.fields[block]
    nested = field.schema if isinstance(field, fields.Nested) else None
    if not isinstance(nested, Schema):
        raise TypeError(f"{block} n'est pas un groupe de champs")
    return nested


class _Labels:
    """The ``metadata["label"]`` of a sheet schema's fields, reached by dotted path."""

    def __init__(self, kind: str) -> None:
        self._schema: Schema = SHEET_SCHEMAS[kind]()

    def __call__(self, path: str) -> str:
        schema = self._schema
        *blocks, name = path.split(".")
        for block in blocks:
            schema = _nested(schema, block)
        return str(schema.fields[name].metadata["label"])

    def names(self, block: str) -> list[str]:
        """The field names of a block, in the schema's (the form's) order."""
        return list(_nested(self._schema, block).fields)

    def caps(self, path: str) -> str:
        """The label in capitals as on annexe 2, except "@mail" which the form keeps as is."""
        label = self(path)
        return label if label.startswith("@") else label.upper()


# --- the page ------------------------------------------------------------------------------


class _Form(FPDF):
    """An A4 page with the sheet's kind and the page number in the footer."""

    def __init__(self, footer: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._footer = footer
        self.core_fonts_encoding = ENCODING
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 3)
        self.set_draw_color(0)
        self.set_line_width(0.25)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(100)
        self.cell(0, 4, _printable(f"{self._footer} — page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0)


def _lines(pdf: FPDF, width: float, text: str) -> int:
    result = pdf.multi_cell(width, LINE, _printable(text), dry_run=True, output=MethodReturnValue.LINES)
    return max(1, len(result)) if isinstance(result, list) else 1


def _ensure_space(pdf: FPDF, height: float) -> None:
    """Start a new page unless ``height`` millimetres still fit on this one."""
    if pdf.will_page_break(height):
        pdf.add_page()


def _write(pdf: FPDF, x: float, y: float, width: float, text: str, style: str = "", size: float = 9) -> float:
    """``text`` wrapped in a column at (x, y); returns the y below it."""
    pdf.set_font(FONT, style, size)
    pdf.set_xy(x, y)
    pdf.multi_cell(width, LINE, _printable(text), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    return pdf.get_y()


def _checkbox(pdf: FPDF, x: float, y: float, checked: bool) -> None:
    """A square box at (x, y), crossed when ``checked``."""
    pdf.rect(x, y, BOX, BOX)
    if checked:
        inset = 0.6
        pdf.set_line_width(0.4)
        pdf.line(x + inset, y + inset, x + BOX - inset, y + BOX - inset)
        pdf.line(x + inset, y + BOX - inset, x + BOX - inset, y + inset)
        pdf.set_line_width(0.25)


def _box_y(y: float) -> float:
    return y + (LINE - BOX) / 2


# --- building blocks -----------------------------------------------------------------------


def _title(pdf: FPDF, title: str, sender: str, recipient: str) -> None:
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(WIDTH, 7, _printable(title), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(WIDTH, 6, _printable(f"{sender}  vers  {recipient}"), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _date_and_reminder(pdf: FPDF, date_fiche: str, reminder: str) -> None:
    pdf.set_font(FONT, "B", 10)
    pdf.cell(WIDTH, 6, _printable(f"Date{COLON} {format_date(date_fiche)}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "I", 8.5)
    pdf.multi_cell(WIDTH, 4.2, _printable(reminder), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _heading(pdf: FPDF, text: str, keep: float = 12, note: str = "") -> None:
    """A grey band with the section's name in capitals (and a ``note`` as written), kept on the
    page with ``keep`` mm below it."""
    pdf.ln(2)
    _ensure_space(pdf, 7 + keep)
    pdf.set_font(FONT, "B", 9.5)
    pdf.set_fill_color(222)
    top = pdf.get_y()
    pdf.rect(MARGIN, top, WIDTH, 6, style="DF")
    pdf.set_xy(MARGIN, top)
    title = _printable(text.upper())
    pdf.cell(pdf.get_string_width(title) + 2 * pdf.c_margin, 6, title)
    if note:
        pdf.set_font(FONT, "", 8.5)
        pdf.cell(0, 6, _printable(note))
    pdf.set_xy(MARGIN, top + 7.5)


def _label_width(pdf: FPDF, label: str, size: float = 9) -> float:
    """The width a one-line "label :" needs in a cell, margins included."""
    pdf.set_font(FONT, "B", size)
    return pdf.get_string_width(_printable(label + COLON)) + 2 * pdf.c_margin + 0.5


def _rows_height(pdf: FPDF, rows: Sequence[Row], label_width: float, value_width: float) -> float:
    height = 0.0
    for label, value in rows:
        pdf.set_font(FONT, "B", 8)
        label_lines = _lines(pdf, label_width, label + COLON)
        pdf.set_font(FONT, "", 9)
        height += max(label_lines, _lines(pdf, value_width, value)) * LINE + 0.8
    return height


def _draw_rows(pdf: FPDF, x: float, y: float, rows: Sequence[Row], label_width: float, value_width: float) -> float:
    """ "Label :" and value side by side, one pair a row; returns the y below the last row."""
    for label, value in rows:
        below_label = _write(pdf, x, y, label_width, label + COLON, "B", 8)
        below_value = _write(pdf, x + label_width, y, value_width, value)
        y = max(below_label, below_value) + 0.8
    return y


def _panels(pdf: FPDF, panels: Sequence[tuple[str, Sequence[Row]]], label_width: float) -> None:
    """Two framed panels side by side, each a title and its rows (the two agents)."""
    value_width = COLUMN - 2 * PAD - label_width
    height = max(_rows_height(pdf, rows, label_width, value_width) for _, rows in panels) + LINE + 2 * PAD + 1
    _ensure_space(pdf, height)
    top = pdf.get_y()
    for index, (title, rows) in enumerate(panels):
        x = MARGIN + index * (COLUMN + GUTTER)
        pdf.rect(x, top, COLUMN, height)
        below_title = _write(pdf, x + PAD, top + PAD, COLUMN - 2 * PAD, title + COLON, "BU", 9.5) + 1
        _draw_rows(pdf, x + PAD, below_title, rows, label_width, value_width)
    pdf.set_xy(MARGIN, top + height + 1)


def _framed_grid(
    pdf: FPDF, columns: Sequence[tuple[float, Sequence[Row]]], wide_rows: Sequence[Row], wide_label: float
) -> None:
    """One frame holding two columns of rows, each with its label width, then full-width rows."""
    widths = [(label, COLUMN - PAD - label) for label, _ in columns]
    wide_value = WIDTH - 2 * PAD - wide_label
    grid = max(_rows_height(pdf, rows, *width) for width, (_, rows) in zip(widths, columns, strict=True))
    wide = _rows_height(pdf, wide_rows, wide_label, wide_value)
    height = grid + wide + 2 * PAD + 1.5
    _ensure_space(pdf, height)
    top = pdf.get_y()
    pdf.rect(MARGIN, top, WIDTH, height)
    for index, (width, (_, rows)) in enumerate(zip(widths, columns, strict=True)):
        _draw_rows(pdf, MARGIN + PAD + index * (COLUMN + GUTTER), top + PAD, rows, *width)
    separator = top + PAD + grid + 0.5
    pdf.set_draw_color(170)
    pdf.line(MARGIN + PAD, separator, MARGIN + WIDTH - PAD, separator)
    pdf.set_draw_color(0)
    _draw_rows(pdf, MARGIN + PAD, separator + 1, wide_rows, wide_label, wide_value)
    pdf.set_xy(MARGIN, top + height + 1)


def _line(pdf: FPDF, label: str, value: str) -> None:
    """ "Label : value" on the page's width."""
    label_width = _label_width(pdf, label)
    _ensure_space(pdf, LINE + 1)
    y = pdf.get_y()
    _write(pdf, MARGIN, y, label_width, label + COLON, "B", 9)
    below = _write(pdf, MARGIN + label_width, y, WIDTH - label_width, value)
    pdf.set_xy(MARGIN, below + 0.8)


def _inline_choices(pdf: FPDF, x: float, y: float, right: float, items: Choices) -> float:
    """Boxes with their labels on a line from x, wrapping before ``right``; returns the y below."""
    pdf.set_font(FONT, "", 9)
    start = x
    for label, checked in items:
        text = _printable(label)
        width = BOX + 1.5 + pdf.get_string_width(text) + 6
        if x + width > right and x > start:
            x, y = start, y + LINE + 1
        _checkbox(pdf, x, _box_y(y), checked)
        pdf.set_xy(x + BOX + 1.5, y)
        pdf.cell(pdf.get_string_width(text) + 1, LINE, text)
        x += width
    return y + LINE


def _choices_line(pdf: FPDF, label: str, items: Choices) -> None:
    """ "Label :" then every option as a box, the chosen ones crossed."""
    label_width = _label_width(pdf, label) + 1
    _ensure_space(pdf, 2 * LINE + 1)
    y = pdf.get_y()
    _write(pdf, MARGIN, y, label_width, label + COLON, "B", 9)
    below = _inline_choices(pdf, MARGIN + label_width, y, MARGIN + WIDTH, items)
    pdf.set_xy(MARGIN, below + 1)


def _checkbox_grid(pdf: FPDF, items: Choices, columns: int = 2) -> None:
    """Every option of a list as a box and its label, in columns, the chosen ones crossed."""
    column = WIDTH / columns
    text_width = column - BOX - 4
    pdf.set_font(FONT, "", 9)
    heights = [_lines(pdf, text_width, label) * LINE + 1.2 for label, _ in items]
    rows = [heights[i : i + columns] for i in range(0, len(items), columns)]
    _ensure_space(pdf, sum(max(row) for row in rows))
    y = pdf.get_y()
    for start in range(0, len(items), columns):
        for offset, (label, checked) in enumerate(items[start : start + columns]):
            x = MARGIN + offset * column
            _checkbox(pdf, x + 1, _box_y(y), checked)
            _write(pdf, x + BOX + 3, y, text_width, label)
        y += max(heights[start : start + columns])
    pdf.set_xy(MARGIN, y)


def _checklist(pdf: FPDF, title: str, items: Choices, columns: int = 2) -> None:
    """A titled list of every option, kept on one page, the chosen ones crossed."""
    pdf.ln(1)
    rows = -(-len(items) // columns)
    _ensure_space(pdf, LINE + 1 + rows * (LINE + 1.2))
    below = _write(pdf, MARGIN, pdf.get_y(), WIDTH, title, "BU", 9)
    pdf.set_xy(MARGIN, below + 1)
    _checkbox_grid(pdf, items, columns)


def _options(labels: Mapping[str, str], chosen: Sequence[str | None]) -> list[tuple[str, bool]]:
    return [(label, code in chosen) for code, label in labels.items()]


def _yes_no(value: bool | None) -> list[tuple[str, bool]]:
    return [("Oui", value is True), ("Non", value is False)]


# --- the blocks of the sheets --------------------------------------------------------------


def _agent_rows(agent: Mapping[str, Any], labels: _Labels, fonctions: Mapping[str, str]) -> list[Row]:
    return [
        (labels.caps("agent_plie.nom") + " et " + labels.caps("agent_plie.prenom"), _full_name(agent)),
        (labels.caps("agent_plie.fonction"), _label_of(agent.get("fonction"), fonctions)),
        (labels.caps("agent_plie.telephone"), format_phone(agent.get("telephone"))),
        (labels.caps("agent_plie.email"), _text(agent.get("email"))),
    ]


def _agents(
    pdf: FPDF, sheet: Mapping[str, Any], order: Sequence[str], labels: _Labels, fonctions: Mapping[str, str]
) -> None:
    panels = [(labels.caps(block), _agent_rows(sheet.get(block) or {}, labels, fonctions)) for block in order]
    _panels(pdf, panels, label_width=30)


def _demandeur(pdf: FPDF, sheet: Mapping[str, Any], labels: _Labels) -> None:
    _heading(pdf, labels("demandeur"), keep=40)
    person: Mapping[str, Any] = sheet.get("demandeur") or {}
    left = [
        (labels.caps("demandeur.nom"), _text(person.get("nom"))),
        (labels.caps("demandeur.prenom"), _text(person.get("prenom"))),
        (labels.caps("demandeur.date_naissance"), format_date(person.get("date_naissance"))),
        (labels.caps("demandeur.adresse"), _address_lines(person.get("adresse") or {}) or EMPTY),
    ]
    right = [
        (labels.caps("demandeur.telephone"), format_phone(person.get("telephone"))),
        (labels.caps("demandeur.identifiant_pole_emploi"), _text(person.get("identifiant_pole_emploi"))),
        (labels.caps("demandeur.identifiant_caf"), _text(person.get("identifiant_caf"))),
    ]
    consent = "Oui" if person.get("consentement_dematerialise") else "Non"
    wide = [
        (labels("demandeur.email"), _text(person.get("email"))),
        (labels.caps("demandeur.consentement_dematerialise"), consent),
    ]
    _framed_grid(pdf, [(36, left), (46, right)], wide, wide_label=82)


def _orientation(pdf: FPDF, orientation: Mapping[str, Any], labels: _Labels, prefix: str) -> None:
    _line(pdf, labels(f"{prefix}.date_orientation"), format_date(orientation.get("date_orientation")))
    modalites = _options(codes.MODALITES_ORIENTATION, [orientation.get("modalite_orientation")])
    _choices_line(pdf, labels(f"{prefix}.modalite_orientation"), modalites)


def _flags(block: Mapping[str, Any], names: Sequence[str], labels: _Labels, prefix: str) -> list[tuple[str, bool]]:
    return [(labels(f"{prefix}.{name}"), block.get(name) is True) for name in names]


def _fdl1_body(pdf: FPDF, sheet: Mapping[str, Any], labels: _Labels) -> None:
    _heading(pdf, labels("orientation"))
    _orientation(pdf, sheet.get("orientation") or {}, labels, "orientation")

    _heading(pdf, labels("vie_professionnelle"))
    vie_pro = sheet.get("vie_professionnelle") or {}
    flags = _flags(vie_pro, ("brsa_minima_sociaux", "rqth", "deld"), labels, "vie_professionnelle")
    y = _inline_choices(pdf, MARGIN, pdf.get_y(), MARGIN + WIDTH, flags)
    pdf.set_xy(MARGIN, y + 1)

    _heading(pdf, labels("vie_personnelle"))
    vie_perso = sheet.get("vie_personnelle") or {}
    situations = _options(codes.SITUATIONS_FAMILIALES, [vie_perso.get("situation_familiale")])
    _choices_line(pdf, labels("vie_personnelle.situation_familiale"), situations)
    enfants = vie_perso.get("nombre_enfants_a_charge")
    _line(pdf, labels("vie_personnelle.nombre_enfants_a_charge"), EMPTY if enfants is None else str(enfants))

    _heading(pdf, labels("freins_peripheriques"), keep=30, note="(case à cocher)")
    freins_block = sheet.get("freins_peripheriques") or {}
    freins = _flags(freins_block, labels.names("freins_peripheriques"), labels, "freins_peripheriques")
    _checkbox_grid(pdf, freins)

    _information(pdf, sheet.get("information_demandeur") or {}, labels)


def _information(pdf: FPDF, information: Mapping[str, Any], labels: _Labels) -> None:
    _heading(pdf, NOTICE_TITLE, keep=40)
    for paragraph in NOTICE:
        pdf.set_font(FONT, "", 7.5)
        pdf.multi_cell(WIDTH, 3.5, _printable(paragraph), align="J", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.5)
    pdf.ln(1)
    _checkbox_grid(
        pdf,
        [(labels("information_demandeur.information_remise"), information.get("information_remise") is True)],
        columns=1,
    )
    pdf.ln(1)
    place = _text(information.get("fait_a"))
    _line(pdf, labels("information_demandeur.fait_a"), f"{place}, le {format_date(information.get('fait_le'))}")


def _information_integration(pdf: FPDF, sheet: Mapping[str, Any], labels: _Labels) -> None:
    choices_width = 36.0
    _ensure_space(pdf, 3 * LINE)
    y = pdf.get_y()
    below = _write(pdf, MARGIN, y, WIDTH - choices_width, labels("information_demandeur_integration") + COLON, "B", 9)
    _inline_choices(
        pdf,
        MARGIN + WIDTH - choices_width + 2,
        y,
        MARGIN + WIDTH,
        _yes_no(sheet.get("information_demandeur_integration")),
    )
    pdf.set_xy(MARGIN, below + 1)


def _fdl2_body(pdf: FPDF, sheet: Mapping[str, Any], labels: _Labels) -> None:
    _heading(pdf, labels("orientation"))
    _orientation(pdf, sheet.get("orientation") or {}, labels, "orientation")

    parcours: Mapping[str, Any] = sheet.get("parcours") or {}
    _heading(pdf, labels("parcours"))
    for name in ("date_integration", "date_fin_parcours", "date_sortie"):
        _line(pdf, labels(f"parcours.{name}"), format_date(parcours.get(name)))

    refus = _options(codes.MOTIFS_REFUS_INTEGRATION, [parcours.get("motif_refus_integration")])
    _checklist(pdf, MOTIFS_REFUS_TITLE, refus)
    etapes = _options(codes.ETAPES_PARCOURS, list(parcours.get("etapes_parcours") or ()))
    _checklist(pdf, labels("parcours.etapes_parcours"), etapes, columns=3)
    sorties = _options(codes.MOTIFS_SORTIE, [parcours.get("motif_sortie")])
    _checklist(pdf, MOTIFS_SORTIE_TITLE, sorties)

    pdf.ln(3)
    _ensure_space(pdf, 40)
    pdf.set_font(FONT, "B", 9.5)
    pdf.multi_cell(WIDTH, 5, _printable(NO_FINANCIAL_DATA), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    _reminder_box(pdf)


def _reminder_box(pdf: FPDF) -> None:
    """The framed "POUR RAPPEL" of annexe 3."""
    inner = WIDTH - 2 * PAD
    pdf.set_font(FONT, "", 8.5)
    height = sum(_lines(pdf, inner - 4, text) for text in REMINDER) * LINE + LINE + 2 * PAD + 2
    _ensure_space(pdf, height)
    top = pdf.get_y()
    pdf.set_line_width(0.5)
    pdf.rect(MARGIN, top, WIDTH, height)
    pdf.set_line_width(0.25)
    y = _write(pdf, MARGIN + PAD, top + PAD, inner, REMINDER_TITLE, "B", 9.5) + 1
    y = _write(pdf, MARGIN + PAD, y, inner, REMINDER[0], "B", 8.5)
    _write(pdf, MARGIN + PAD, y, 4, "-", "", 8.5)
    _write(pdf, MARGIN + PAD + 4, y, inner - 4, REMINDER[1], "", 8.5)
    pdf.set_xy(MARGIN, top + height + 1)


# --- the two sheets ------------------------------------------------------------------------


def _render_fdl1(
    pdf: FPDF, sheet: Mapping[str, Any], sender: str, recipient: str, fonctions: Mapping[str, str]
) -> None:
    labels = _Labels("FDL1")
    _title(pdf, "FICHE DE LIAISON ORIENTATION France Travail vers PLIE", sender, recipient)
    _date_and_reminder(pdf, sheet["date_fiche"], FDL1_REMINDER)
    _agents(pdf, sheet, ("agent_pole_emploi", "agent_plie"), labels, fonctions)
    _demandeur(pdf, sheet, labels)
    _fdl1_body(pdf, sheet, labels)


def _render_fdl2(
    pdf: FPDF, sheet: Mapping[str, Any], sender: str, recipient: str, fonctions: Mapping[str, str]
) -> None:
    labels = _Labels("FDL2")
    _title(pdf, "FICHE DE LIAISON PLIE vers France Travail", sender, recipient)
    _date_and_reminder(pdf, sheet["date_fiche"], FDL2_REMINDER)
    _information_integration(pdf, sheet, labels)
    pdf.ln(2)
    _agents(pdf, sheet, ("agent_plie", "agent_pole_emploi"), labels, fonctions)
    _demandeur(pdf, sheet, labels)
    _fdl2_body(pdf, sheet, labels)


_RENDERERS: Mapping[str, Callable[[FPDF, Mapping[str, Any], str, str, Mapping[str, str]], None]] = {
    "FDL1": _render_fdl1,
    "FDL2": _render_fdl2,
}


def render_sheet_pdf(
    kind: str,
    sheet: Mapping[str, Any],
    sender: str,
    recipient: str,
    *,
    fonctions: Mapping[str, str] | None = None,
) -> bytes:
    """The PDF of a sheet of ``kind`` ("FDL1" or "FDL2") in canonical JSON, from ``sender`` to
    ``recipient`` (organisation display names), laid out like the convention's form.

    ``fonctions`` is the installation's list of agent functions (defaults to
    :data:`schemas.codes.FONCTIONS`); an unknown code prints as itself. Raises ``ValueError``
    for an unknown kind.
    """
    if kind not in _RENDERERS:
        raise ValueError(f"Type de fiche inconnu : {kind!r}")
    pdf = _Form(f"{codes.KINDS[kind]} — convention de partenariat PLIE / France Travail")
    pdf.set_creation_date(dt.datetime.combine(dt.date.fromisoformat(sheet["date_fiche"]), dt.time(), dt.UTC))
    pdf.set_title(_printable(codes.KINDS[kind]))
    pdf.set_lang("fr-FR")
    pdf.add_page()
    _RENDERERS[kind](pdf, sheet, sender, recipient, fonctions if fonctions is not None else codes.FONCTIONS)
    return bytes(pdf.output())
