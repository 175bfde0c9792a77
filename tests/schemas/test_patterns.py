"""The short patterned strings of a liaison sheet (:mod:`schemas.patterns`), bound by bound.

liaison-sheets.md: "aucune rubrique permettant du texte libre", so a name, an address line, a
commune, a street number, a postal code, a telephone number and an email address are each an
allow-list of characters, a length bound and a shape. Every table below holds, for each bound,
the value at the bound and one past it; for each character class, the first and last character
of each range in and the characters just outside each end out; for each alternative, one value
that only it lets through. Messages are compared whole: they are what the person reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from schemas.patterns import (
    PatternError,
    clean_text,
    normalise_address_line,
    normalise_commune,
    normalise_email,
    normalise_identifier,
    normalise_name,
    normalise_numero_voie,
    normalise_phone,
    normalise_postal_code,
)

Normalise = Callable[[str], str]

EMPTY = "Ce champ ne peut pas être vide."
NAME_RULE = (
    "Lettres latines uniquement (accents admis), séparées par une espace, un trait d'union ou "
    "une apostrophe ; ni chiffre ni ponctuation."
)
NAME_PARTS = "Un nom compte au plus 5 parties."
ADDRESS_RULE = (
    "Lettres, chiffres, espace, trait d'union, apostrophe, virgule et point uniquement, sans ponctuation répétée."
)
ADDRESS_LETTER = "Une ligne d'adresse contient au moins une lettre."
ADDRESS_WORDS = "Une ligne d'adresse compte au plus 8 mots."
COMMUNE_RULE = (
    "Nom de commune : lettres (accents admis), espace, trait d'union ou apostrophe ; "
    "un arrondissement peut suivre en chiffres."
)
COMMUNE_WORDS = "Un nom de commune compte au plus 8 mots."
NUMERO_VOIE = "Numéro de voie : 1 à 4 chiffres, suivis au besoin de bis, ter, quater, quinquies ou d'une lettre."
POSTAL_SHAPE = "Code postal : cinq chiffres (par exemple 13100)."
PHONE = "Numéro de téléphone français : 10 chiffres commençant par 0 (04 42 00 00 01) ou au format international +33."
EMAIL = "Adresse électronique invalide (caractères ASCII, de la forme nom@domaine.fr)."
EMAIL_LOCAL = "La partie avant « @ » compte au plus 64 caractères."


def too_long(maximum: int, typed: int) -> str:
    return f"{maximum} caractères au plus ({typed} saisis)."


def not_allowed(char: str, rule: str) -> str:
    """The sentence naming the first character outside a field's allow-list, with its code point."""
    return f"Caractère non autorisé « {char} » (U+{ord(char):04X}). {rule}"


def control(code_point: str) -> str:
    return f"Caractère interdit (U+{code_point}) : les caractères de contrôle ou invisibles ne sont pas acceptés."


def special_space(code_point: str) -> str:
    return f"Espace spéciale interdite (U+{code_point}) : utilisez une espace simple."


def postal_unknown(departement: str) -> str:
    return f"Code postal inconnu : « {departement} » ne correspond à aucun département (01 à 98)."


def refused(normalise: Normalise, value: str, message: str) -> None:
    with pytest.raises(PatternError) as raised:
        normalise(value)
    assert str(raised.value) == message


# --- clean_text: what every field goes through first --------------------------------------------


class TestCleanText:
    """Accents composed, typographic apostrophes made plain, spaces at the ends dropped; a
    control, invisible or special-space character is refused, never silently removed."""

    @pytest.mark.parametrize(
        ("value", "canonical"),
        [
            pytest.param("  Anne  ", "Anne", id="spaces-at-both-ends-dropped"),
            pytest.param("Anne Marie", "Anne Marie", id="inner-space-kept"),
            pytest.param("Le\u0301a", "Léa", id="decomposed-accent-composed-nfc"),
            pytest.param("O\u2019Brien", "O'Brien", id="right-single-quotation-mark-u2019-made-plain"),
            pytest.param("N\u02bcdiaye", "N'diaye", id="modifier-letter-apostrophe-u02bc-made-plain"),
            pytest.param("O\u2018Brien", "O\u2018Brien", id="left-single-quotation-mark-u2018-not-an-apostrophe-kept"),
            pytest.param("", "", id="empty-stays-empty"),
        ],
    )
    def test_kept_and_canonical(self, value: str, canonical: str) -> None:
        assert clean_text(value) == canonical

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param("\tAnne", control("0009"), id="Cc-tab-refused-not-stripped"),
            pytest.param("Anne\n", control("000A"), id="Cc-newline-refused-not-stripped"),
            pytest.param("A\x00", control("0000"), id="Cc-nul"),
            pytest.param("A\x7f", control("007F"), id="Cc-delete"),
            pytest.param("A\x85", control("0085"), id="Cc-next-line"),
            pytest.param("A\u00ad", control("00AD"), id="Cf-soft-hyphen"),
            pytest.param("A\u200b", control("200B"), id="Cf-zero-width-space"),
            pytest.param("A\u202e", control("202E"), id="Cf-right-to-left-override"),
            pytest.param("\ufeffA", control("FEFF"), id="Cf-byte-order-mark"),
            pytest.param("A\U000e0001", control("E0001"), id="Cf-language-tag"),
            pytest.param("A\ue000", control("E000"), id="Co-private-use"),
            pytest.param("A\ud800", control("D800"), id="Cs-lone-surrogate"),
            pytest.param("A\u0378", control("0378"), id="Cn-unassigned"),
            pytest.param("A\uffff", control("FFFF"), id="Cn-noncharacter"),
            pytest.param("A\u2028B", control("2028"), id="Zl-line-separator"),
            pytest.param("A\u2029B", control("2029"), id="Zp-paragraph-separator"),
            pytest.param("A\u00a0B", special_space("00A0"), id="Zs-no-break-space"),
            pytest.param("A\u202fB", special_space("202F"), id="Zs-narrow-no-break-space"),
            pytest.param("A\u2009B", special_space("2009"), id="Zs-thin-space"),
            pytest.param("A\u3000B", special_space("3000"), id="Zs-ideographic-space"),
            pytest.param("\u00a0A", special_space("00A0"), id="Zs-no-break-space-at-an-end-refused-not-stripped"),
        ],
    )
    def test_refused(self, value: str, message: str) -> None:
        refused(clean_text, value, message)


# --- names (nom, prenom) ---------------------------------------------------------------------


class TestName:
    """Agent and demandeur nom/prenom: "letters (accents allowed), space, hyphen, apostrophe;
    1–50 chars", at most 5 parts, a single separator between letters."""

    @pytest.mark.parametrize(
        ("value", "canonical"),
        [
            pytest.param("A", "A", id="one-letter-lower-bound-and-first-of-A-Z"),
            pytest.param("Z", "Z", id="last-of-A-Z"),
            pytest.param("a", "a", id="first-of-a-z"),
            pytest.param("z", "z", id="last-of-a-z"),
            pytest.param("À", "À", id="first-of-À-Ö-u00c0"),
            pytest.param("Ö", "Ö", id="last-of-À-Ö-u00d6"),
            pytest.param("Ø", "Ø", id="first-of-Ø-ö-u00d8"),
            pytest.param("ö", "ö", id="last-of-Ø-ö-u00f6"),
            pytest.param("ø", "ø", id="first-of-ø-ÿ-u00f8"),
            pytest.param("ÿ", "ÿ", id="last-of-ø-ÿ-u00ff"),
            pytest.param("Œ", "Œ", id="oe-ligature-capital-u0152"),
            pytest.param("œ", "œ", id="oe-ligature-small-u0153"),
            pytest.param("Ÿ", "Ÿ", id="y-diaeresis-capital-u0178"),
            pytest.param("Lefèvre", "Lefèvre", id="accented"),
            pytest.param("Le Gall", "Le Gall", id="space-separator"),
            pytest.param("Jean-Pierre", "Jean-Pierre", id="hyphen-separator"),
            pytest.param("d'Artagnan", "d'Artagnan", id="apostrophe-separator"),
            pytest.param("O\u2019Brien", "O'Brien", id="typographic-apostrophe-made-plain"),
            pytest.param("  Durand ", "Durand", id="outer-spaces-dropped"),
            pytest.param("Jean Pierre Marie Louis Paul", "Jean Pierre Marie Louis Paul", id="five-parts"),
            pytest.param("Marie-Anne d'Arc", "Marie-Anne d'Arc", id="four-parts-each-separator-counts"),
            pytest.param("A" * 50, "A" * 50, id="50-chars"),
        ],
    )
    def test_accepted(self, value: str, canonical: str) -> None:
        assert normalise_name(value) == canonical

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param("", EMPTY, id="empty"),
            pytest.param("   ", EMPTY, id="spaces-only"),
            pytest.param("A" * 51, too_long(50, 51), id="51-chars"),
            pytest.param("@", not_allowed("@", NAME_RULE), id="just-below-A-u0040"),
            pytest.param("[", not_allowed("[", NAME_RULE), id="just-above-Z-u005b"),
            pytest.param("`", not_allowed("`", NAME_RULE), id="just-below-a-u0060"),
            pytest.param("{", not_allowed("{", NAME_RULE), id="just-above-z-u007b"),
            pytest.param("¿", not_allowed("¿", NAME_RULE), id="just-below-À-u00bf"),
            pytest.param("×", not_allowed("×", NAME_RULE), id="multiplication-sign-between-Ö-and-Ø-u00d7"),
            pytest.param("÷", not_allowed("÷", NAME_RULE), id="division-sign-between-ö-and-ø-u00f7"),
            pytest.param("Ā", not_allowed("Ā", NAME_RULE), id="just-above-ÿ-u0100"),
            pytest.param("ő", not_allowed("ő", NAME_RULE), id="just-below-Œ-u0151"),
            pytest.param("Ŕ", not_allowed("Ŕ", NAME_RULE), id="just-above-œ-u0154"),
            pytest.param("ŷ", not_allowed("ŷ", NAME_RULE), id="just-below-Ÿ-u0177"),
            pytest.param("Ź", not_allowed("Ź", NAME_RULE), id="just-above-Ÿ-u0179"),
            pytest.param("Louis14", not_allowed("1", NAME_RULE), id="digit"),
            pytest.param("Je_an", not_allowed("_", NAME_RULE), id="underscore-in-the-first-word"),
            pytest.param("Jean_Pierre", not_allowed("_", NAME_RULE), id="underscore-as-a-separator"),
            pytest.param("Jean Pier_re", not_allowed("_", NAME_RULE), id="underscore-in-a-later-word"),
            pytest.param("Durand.", not_allowed(".", NAME_RULE), id="period"),
            pytest.param("Durand, Paul", not_allowed(",", NAME_RULE), id="comma"),
            pytest.param("M\u0430rtin", not_allowed("\u0430", NAME_RULE), id="cyrillic-a-homoglyph"),
            pytest.param("O\u2018Brien", not_allowed("\u2018", NAME_RULE), id="left-quotation-mark-is-no-apostrophe"),
            pytest.param("Jean--Pierre", NAME_RULE, id="doubled-hyphen"),
            pytest.param("Jean  Pierre", NAME_RULE, id="doubled-space-not-collapsed"),
            pytest.param("d''Artagnan", NAME_RULE, id="doubled-apostrophe"),
            pytest.param("Jean-", NAME_RULE, id="trailing-hyphen"),
            pytest.param("-Jean", NAME_RULE, id="leading-hyphen"),
            pytest.param("d'", NAME_RULE, id="trailing-apostrophe"),
            pytest.param("'Artagnan", NAME_RULE, id="leading-apostrophe"),
            pytest.param("Jean -Pierre", NAME_RULE, id="space-then-hyphen"),
            pytest.param("A B C D E F", NAME_PARTS, id="six-parts"),
            pytest.param("A-B-C-D-E-F", NAME_PARTS, id="six-parts-by-hyphens"),
            pytest.param("A'B'C'D'E'F", NAME_PARTS, id="six-parts-by-apostrophes"),
            pytest.param("Marie-Anne d'Arc de Lys", NAME_PARTS, id="six-parts-counting-hyphen-and-apostrophe"),
        ],
    )
    def test_refused(self, value: str, message: str) -> None:
        refused(normalise_name, value, message)


# --- address lines (voie, complement) --------------------------------------------------------


class TestAddressLine:
    """An AFNOR NF Z10-011 postal line: at most 38 characters and 8 words, "letters, digits,
    space, hyphen, apostrophe, comma, period only", one separator between words, at least one
    letter; runs of spaces are made single."""

    @pytest.mark.parametrize(
        ("value", "canonical"),
        [
            pytest.param("Rue des Écoles", "Rue des Écoles", id="space"),
            pytest.param("Saint-Jean", "Saint-Jean", id="hyphen"),
            pytest.param("L'Arc", "L'Arc", id="apostrophe"),
            pytest.param("L\u2019Arc", "L'Arc", id="typographic-apostrophe-made-plain"),
            pytest.param("Les Pins, bât B", "Les Pins, bât B", id="comma-space"),
            pytest.param("Bât. B", "Bât. B", id="period-space"),
            pytest.param("Z.A", "Z.A", id="period-between"),
            pytest.param("Lots A,B", "Lots A,B", id="comma-between"),
            pytest.param("Rue du Lt", "Rue du Lt", id="no-trailing-period"),
            pytest.param("Rue du Lt.", "Rue du Lt.", id="trailing-period"),
            pytest.param("Z.I. Les Milles", "Z.I. Les Milles", id="period-then-period-space"),
            pytest.param("Résidence 2000", "Résidence 2000", id="digit-0-last-word"),
            pytest.param("9 Allée B", "9 Allée B", id="digit-9-first-word"),
            pytest.param("10 Rue B", "10 Rue B", id="digit-0-first-word"),
            pytest.param("Bât 9", "Bât 9", id="digit-9-last-word"),
            pytest.param("B", "B", id="one-letter"),
            pytest.param("Rue  des   Écoles", "Rue des Écoles", id="runs-of-spaces-made-single"),
            pytest.param(" Rue des Écoles ", "Rue des Écoles", id="outer-spaces-dropped"),
            pytest.param("Œ ÿ à Ö", "Œ ÿ à Ö", id="letters-of-names"),
            pytest.param("A" * 38, "A" * 38, id="38-chars"),
            pytest.param("A" * 19 + "  " + "A" * 18, "A" * 19 + " " + "A" * 18, id="38-chars-once-spaces-made-single"),
            pytest.param("1 2 3 4 5 6 7 B", "1 2 3 4 5 6 7 B", id="eight-words"),
            pytest.param(
                "Rue  de la  Paix de la Ville Lys",
                "Rue de la Paix de la Ville Lys",
                id="eight-words-once-spaces-made-single",
            ),
        ],
    )
    def test_accepted(self, value: str, canonical: str) -> None:
        assert normalise_address_line(value) == canonical

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param("", EMPTY, id="empty"),
            pytest.param("A" * 39, too_long(38, 39), id="39-chars"),
            pytest.param("Rue/B", not_allowed("/", ADDRESS_RULE), id="just-below-0-u002f"),
            pytest.param("Rue:B", not_allowed(":", ADDRESS_RULE), id="just-above-9-u003a"),
            pytest.param("Rue 1/2", not_allowed("/", ADDRESS_RULE), id="just-below-0-in-a-later-word"),
            pytest.param("Rue 1:2", not_allowed(":", ADDRESS_RULE), id="just-above-9-in-a-later-word"),
            pytest.param("Ru_e", not_allowed("_", ADDRESS_RULE), id="underscore-in-the-first-word"),
            pytest.param("Rue_Paix", not_allowed("_", ADDRESS_RULE), id="underscore-as-a-separator"),
            pytest.param("Rue Pa_ix", not_allowed("_", ADDRESS_RULE), id="underscore-in-a-later-word"),
            pytest.param("109 Rue--Paix", ADDRESS_RULE, id="digits-0-1-9-allowed-the-shape-refused"),
            pytest.param("Bât @", not_allowed("@", ADDRESS_RULE), id="just-below-A"),
            pytest.param("Bât ¿", not_allowed("¿", ADDRESS_RULE), id="just-below-À"),
            pytest.param("Rue n°3", not_allowed("°", ADDRESS_RULE), id="degree-sign"),
            pytest.param("Rue des Écoles ! Chien", not_allowed("!", ADDRESS_RULE), id="exclamation-mark"),
            pytest.param("Rue; B", not_allowed(";", ADDRESS_RULE), id="semicolon"),
            pytest.param("Rue (B)", not_allowed("(", ADDRESS_RULE), id="parenthesis"),
            pytest.param("Rue des\u00a0Écoles", special_space("00A0"), id="no-break-space"),
            pytest.param("Rue--Paix", ADDRESS_RULE, id="doubled-hyphen"),
            pytest.param("L''Arc", ADDRESS_RULE, id="doubled-apostrophe"),
            pytest.param("Rue,,Paix", ADDRESS_RULE, id="doubled-comma"),
            pytest.param("Rue..Paix", ADDRESS_RULE, id="doubled-period"),
            pytest.param("Rue du Lt..", ADDRESS_RULE, id="doubled-trailing-period"),
            pytest.param("Rue ,Paix", ADDRESS_RULE, id="space-then-comma"),
            pytest.param("Bât A ,porte 3", ADDRESS_RULE, id="space-then-comma-after-a-second-word"),
            pytest.param("Rue B .", ADDRESS_RULE, id="space-then-trailing-period"),
            pytest.param("Rue .Paix", ADDRESS_RULE, id="space-then-period"),
            pytest.param("Rue -Paix", ADDRESS_RULE, id="space-then-hyphen"),
            pytest.param("Rue,", ADDRESS_RULE, id="trailing-comma"),
            pytest.param("Rue-", ADDRESS_RULE, id="trailing-hyphen"),
            pytest.param("Rue'", ADDRESS_RULE, id="trailing-apostrophe"),
            pytest.param("-Rue", ADDRESS_RULE, id="leading-hyphen"),
            pytest.param("'Rue", ADDRESS_RULE, id="leading-apostrophe"),
            pytest.param(",Rue", ADDRESS_RULE, id="leading-comma"),
            pytest.param(".Rue", ADDRESS_RULE, id="leading-period"),
            pytest.param(".", ADDRESS_RULE, id="period-alone"),
            pytest.param("12", ADDRESS_LETTER, id="digits-only"),
            pytest.param("12-14", ADDRESS_LETTER, id="digits-and-hyphen-only"),
            pytest.param("1 2 3 4 5 6 7 8 B", ADDRESS_WORDS, id="nine-words"),
            pytest.param("Chez sa mère car il a tout perdu là", ADDRESS_WORDS, id="nine-words-of-prose"),
        ],
    )
    def test_refused(self, value: str, message: str) -> None:
        refused(normalise_address_line, value, message)


# --- commune (adresse.commune, information_demandeur.fait_a) ---------------------------------


class TestCommune:
    """A commune as on a postal line: at most 38 characters and 8 words, starting with a letter;
    words of letters joined by a space, a hyphen or an apostrophe, an arrondissement in digits
    may follow; neither comma nor period."""

    @pytest.mark.parametrize(
        ("value", "canonical"),
        [
            pytest.param("Y", "Y", id="one-letter"),
            pytest.param("Aix-en-Provence", "Aix-en-Provence", id="hyphen"),
            pytest.param("Le Tholonet", "Le Tholonet", id="space"),
            pytest.param("L'Isle-sur-la-Sorgue", "L'Isle-sur-la-Sorgue", id="apostrophe"),
            pytest.param("L\u2019Isle-sur-la-Sorgue", "L'Isle-sur-la-Sorgue", id="typographic-apostrophe-made-plain"),
            pytest.param("Paris 20", "Paris 20", id="arrondissement-digit-0"),
            pytest.param("Lyon 9", "Lyon 9", id="arrondissement-digit-9"),
            pytest.param("Marseille 8e", "Marseille 8e", id="arrondissement-ordinal"),
            pytest.param("Œuilly", "Œuilly", id="oe-ligature"),
            pytest.param(" Aix ", "Aix", id="outer-spaces-dropped"),
            pytest.param("C" * 38, "C" * 38, id="38-chars"),
            pytest.param("A B C D E F G H", "A B C D E F G H", id="eight-words"),
        ],
    )
    def test_accepted(self, value: str, canonical: str) -> None:
        assert normalise_commune(value) == canonical

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param("", EMPTY, id="empty"),
            pytest.param("C" * 39, too_long(38, 39), id="39-chars"),
            pytest.param("Lyon/9", not_allowed("/", COMMUNE_RULE), id="just-below-0-u002f"),
            pytest.param("Lyon:9", not_allowed(":", COMMUNE_RULE), id="just-above-9-u003a"),
            pytest.param("Lyon 1/", not_allowed("/", COMMUNE_RULE), id="just-below-0-in-a-later-word"),
            pytest.param("Lyon 1:", not_allowed(":", COMMUNE_RULE), id="just-above-9-in-a-later-word"),
            pytest.param("Ai_x", not_allowed("_", COMMUNE_RULE), id="underscore-in-the-first-word"),
            pytest.param("Aix_en", not_allowed("_", COMMUNE_RULE), id="underscore-as-a-separator"),
            pytest.param("Aix en_P", not_allowed("_", COMMUNE_RULE), id="underscore-in-a-later-word"),
            pytest.param("Marseille--109", COMMUNE_RULE, id="digits-0-1-9-allowed-the-shape-refused"),
            pytest.param("Aix@", not_allowed("@", COMMUNE_RULE), id="just-below-A"),
            pytest.param("Aix×", not_allowed("×", COMMUNE_RULE), id="between-Ö-and-Ø"),
            pytest.param("St. Tropez", not_allowed(".", COMMUNE_RULE), id="period"),
            pytest.param("Aix-en-Provence, hébergé", not_allowed(",", COMMUNE_RULE), id="comma"),
            pytest.param("\u0410ix", not_allowed("\u0410", COMMUNE_RULE), id="cyrillic-a-homoglyph"),
            pytest.param("13100 Aix", COMMUNE_RULE, id="postal-code-first"),
            pytest.param("8e Marseille", COMMUNE_RULE, id="digit-first"),
            pytest.param("Saint--Rémy", COMMUNE_RULE, id="doubled-hyphen"),
            pytest.param("Aix  en", COMMUNE_RULE, id="doubled-space-not-collapsed"),
            pytest.param("L''Isle", COMMUNE_RULE, id="doubled-apostrophe"),
            pytest.param("Aix-", COMMUNE_RULE, id="trailing-hyphen"),
            pytest.param("-Aix", COMMUNE_RULE, id="leading-hyphen"),
            pytest.param("'Aix", COMMUNE_RULE, id="leading-apostrophe"),
            pytest.param("A B C D E F G H I", COMMUNE_WORDS, id="nine-words"),
        ],
    )
    def test_refused(self, value: str, message: str) -> None:
        refused(normalise_commune, value, message)


# --- numero_voie -----------------------------------------------------------------------------


class TestNumeroVoie:
    """adresse.numero_voie (e.g. "12", "12 bis"): 1 to 4 digits, then at most one index, bis,
    ter, quater, quinquies or one letter, in any case, with or without a space; the word in lower
    case after one space, the letter in upper case against the number."""

    @pytest.mark.parametrize(
        ("value", "canonical"),
        [
            pytest.param("1", "1", id="one-digit"),
            pytest.param("1234", "1234", id="four-digits"),
            pytest.param("0", "0", id="digit-0"),
            pytest.param("9", "9", id="digit-9"),
            pytest.param("0012", "0012", id="leading-zeros-kept"),
            pytest.param("12 bis", "12 bis", id="bis"),
            pytest.param("12bis", "12 bis", id="bis-without-space"),
            pytest.param("12 BIS", "12 bis", id="bis-upper-case"),
            pytest.param("12 Bis", "12 bis", id="bis-mixed-case"),
            pytest.param("3 ter", "3 ter", id="ter"),
            pytest.param("3TER", "3 ter", id="ter-upper-without-space"),
            pytest.param("3 quater", "3 quater", id="quater"),
            pytest.param("3 quinquies", "3 quinquies", id="quinquies"),
            pytest.param("1234 quinquies", "1234 quinquies", id="14-chars-the-longest"),
            pytest.param("7B", "7B", id="letter"),
            pytest.param("7 b", "7B", id="letter-lower-with-space"),
            pytest.param("7a", "7A", id="first-of-a-z"),
            pytest.param("7 Z", "7Z", id="last-of-A-Z"),
            pytest.param(" 12 bis ", "12 bis", id="outer-spaces-dropped"),
            pytest.param("7\u212a", "7K", id="kelvin-sign-is-k-once-composed-nfc"),
        ],
    )
    def test_accepted(self, value: str, canonical: str) -> None:
        assert normalise_numero_voie(value) == canonical

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param("", EMPTY, id="empty"),
            pytest.param("12345 quinquies", too_long(14, 15), id="15-chars"),
            pytest.param("12345", NUMERO_VOIE, id="five-digits"),
            pytest.param("12_", NUMERO_VOIE, id="underscore-as-a-digit-or-an-index"),
            pytest.param("bis", NUMERO_VOIE, id="index-without-number"),
            pytest.param("B", NUMERO_VOIE, id="letter-without-number"),
            pytest.param("12 bis ter", NUMERO_VOIE, id="two-indexes"),
            pytest.param("12  bis", NUMERO_VOIE, id="two-spaces"),
            pytest.param("12-bis", NUMERO_VOIE, id="hyphen"),
            pytest.param("12 bi", NUMERO_VOIE, id="near-miss-bis"),
            pytest.param("12 quinquiès", NUMERO_VOIE, id="accented-index"),
            pytest.param("7AB", NUMERO_VOIE, id="two-letters"),
            pytest.param("7@", NUMERO_VOIE, id="just-below-A"),
            pytest.param("7[", NUMERO_VOIE, id="just-above-Z"),
            pytest.param("7`", NUMERO_VOIE, id="just-below-a"),
            pytest.param("7{", NUMERO_VOIE, id="just-above-z"),
            pytest.param("7É", NUMERO_VOIE, id="accented-letter"),
            pytest.param("12 bıs", NUMERO_VOIE, id="dotless-i-folds-to-i-without-re-ascii"),
            pytest.param("12 BİS", NUMERO_VOIE, id="dotted-capital-i-folds-to-i-without-re-ascii"),
            pytest.param("7ſ", NUMERO_VOIE, id="long-s-folds-to-s-without-re-ascii"),
            pytest.param("/", NUMERO_VOIE, id="just-below-0"),
            pytest.param(":", NUMERO_VOIE, id="just-above-9"),
            pytest.param("١٢", NUMERO_VOIE, id="arabic-indic-digits"),
            pytest.param("12, rue", NUMERO_VOIE, id="street-after-number"),
        ],
    )
    def test_refused(self, value: str, message: str) -> None:
        refused(normalise_numero_voie, value, message)


# --- code_postal -----------------------------------------------------------------------------


class TestPostalCode:
    """adresse.code_postal: five ASCII digits (spaces typed between them dropped) whose first
    two name a département range, 01 to 98."""

    @pytest.mark.parametrize(
        ("value", "canonical"),
        [
            pytest.param("13100", "13100", id="aix"),
            pytest.param("13 100", "13100", id="space-dropped"),
            pytest.param("1 3 1 0 0", "13100", id="every-space-dropped"),
            pytest.param(" 13100 ", "13100", id="outer-spaces-dropped"),
            pytest.param("01000", "01000", id="departement-01"),
            pytest.param("09000", "09000", id="departement-09"),
            pytest.param("10000", "10000", id="departement-10"),
            pytest.param("19000", "19000", id="departement-19"),
            pytest.param("20000", "20000", id="corse-20"),
            pytest.param("80000", "80000", id="departement-80"),
            pytest.param("89000", "89000", id="departement-89"),
            pytest.param("90000", "90000", id="departement-90"),
            pytest.param("97400", "97400", id="outre-mer-97"),
            pytest.param("98000", "98000", id="departement-98"),
            pytest.param("13999", "13999", id="digit-9-in-every-place"),
        ],
    )
    def test_accepted(self, value: str, canonical: str) -> None:
        assert normalise_postal_code(value) == canonical

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param("", POSTAL_SHAPE, id="empty"),
            pytest.param("1310", POSTAL_SHAPE, id="four-digits"),
            pytest.param("131000", POSTAL_SHAPE, id="six-digits"),
            pytest.param("13-100", POSTAL_SHAPE, id="hyphen"),
            pytest.param("1310/", POSTAL_SHAPE, id="just-below-0"),
            pytest.param("1310:", POSTAL_SHAPE, id="just-above-9"),
            pytest.param("2A000", POSTAL_SHAPE, id="letter"),
            pytest.param("13_00", POSTAL_SHAPE, id="underscore-int-takes"),
            pytest.param("١٣١٠٠", POSTAL_SHAPE, id="arabic-indic-digits"),
            pytest.param("13\u00a0100", special_space("00A0"), id="no-break-space"),
            pytest.param("00100", postal_unknown("00"), id="departement-00"),
            pytest.param("99000", postal_unknown("99"), id="departement-99"),
        ],
    )
    def test_refused(self, value: str, message: str) -> None:
        refused(normalise_postal_code, value, message)


# --- telephone -------------------------------------------------------------------------------


class TestPhone:
    """agent and demandeur telephone: "French number, stored in E.164 (+33…)"; typed as ten
    digits starting with 0, or after +33 or 0033, spaces, periods and hyphens dropped."""

    @pytest.mark.parametrize(
        ("value", "canonical"),
        [
            pytest.param("0442000001", "+33442000001", id="national"),
            pytest.param("04 42 00 00 01", "+33442000001", id="space-separated"),
            pytest.param("04.42.00.00.01", "+33442000001", id="period-separated"),
            pytest.param("04-42-00-00-01", "+33442000001", id="hyphen-separated"),
            pytest.param("04 42.00-00 01", "+33442000001", id="mixed-separators"),
            pytest.param("+33442000001", "+33442000001", id="e164"),
            pytest.param("+33 4 42 00 00 01", "+33442000001", id="international-spaced"),
            pytest.param("0033 4 42 00 00 01", "+33442000001", id="international-0033"),
            pytest.param("01 23 45 67 89", "+33123456789", id="first-digit-1"),
            pytest.param("09 87 65 43 21", "+33987654321", id="first-digit-9"),
            pytest.param("06 99 99 99 90", "+33699999990", id="digits-9-and-0"),
        ],
    )
    def test_accepted(self, value: str, canonical: str) -> None:
        assert normalise_phone(value) == canonical

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param("", PHONE, id="empty"),
            pytest.param("00 12 34 56 78", PHONE, id="first-digit-0"),
            pytest.param("+33 04 42 00 00 01", PHONE, id="international-with-the-national-0"),
            pytest.param("04 42 00 00 0", PHONE, id="eight-trailing-digits"),
            pytest.param("04 42 00 00 011", PHONE, id="ten-trailing-digits"),
            pytest.param("4 42 00 00 01", PHONE, id="no-prefix"),
            pytest.param("33 4 42 00 00 01", PHONE, id="33-without-plus"),
            pytest.param("+44 20 7946 0000", PHONE, id="foreign"),
            pytest.param("04/42/00/00/01", PHONE, id="slash-separator"),
            pytest.param("04_42_00_00_01", PHONE, id="underscore-separator"),
            pytest.param("04,42,00,00,01", PHONE, id="comma-separator"),
            pytest.param("+33 (0)4 42 00 00 01", PHONE, id="parentheses-around-the-national-0"),
            pytest.param("(04) 42 00 00 01", PHONE, id="parentheses-separator"),
            pytest.param("04:42:00:00:01", PHONE, id="colon-separator"),
            pytest.param("0/42000001", PHONE, id="first-digit-just-below-0"),
            pytest.param("0:42000001", PHONE, id="first-digit-just-above-9"),
            pytest.param("0_42000001", PHONE, id="first-digit-an-underscore-int-takes"),
            pytest.param("044200000_", PHONE, id="digit-an-underscore-int-takes"),
            pytest.param("044200000/", PHONE, id="digit-just-below-0"),
            pytest.param("044200000:", PHONE, id="digit-just-above-9"),
            pytest.param("٠٤٤٢٠٠٠٠٠١", PHONE, id="arabic-indic-digits"),
            pytest.param("04\u00a042 00 00 01", special_space("00A0"), id="no-break-space"),
        ],
    )
    def test_refused(self, value: str, message: str) -> None:
        refused(normalise_phone, value, message)


# --- email -----------------------------------------------------------------------------------

LOCAL_SPECIALS = "!#$%&'*+/=?^_`{|}~-"


def _email_rows_in() -> list[object]:
    rows: list[object] = [
        pytest.param(f"a{char}b@example.org", f"a{char}b@example.org", id=f"local-{char}") for char in LOCAL_SPECIALS
    ]
    rows += [pytest.param(f"{char}@example.org", f"{char}@example.org", id=f"local-{char}") for char in "AZaz09"]
    rows += [
        pytest.param(f"a.{char}@example.org", f"a.{char}@example.org", id=f"local-after-dot-{char}")
        for char in LOCAL_SPECIALS + "AZaz09"
    ]
    rows += [pytest.param(f"a@{char}x.org", f"a@{char.lower()}x.org", id=f"label-first-{char}") for char in "AZaz09"]
    rows += [pytest.param(f"a@x{char}y.org", f"a@x{char.lower()}y.org", id=f"label-inner-{char}") for char in "AZaz09-"]
    rows += [pytest.param(f"a@x{char}.org", f"a@x{char.lower()}.org", id=f"label-last-{char}") for char in "AZaz09"]
    rows += [pytest.param(f"a@x.o{char}", f"a@x.o{char.lower()}", id=f"tld-{char}") for char in "AZaz"]
    return rows


def _email_rows_out() -> list[object]:
    rows: list[object] = [pytest.param(f"a{char}b@example.org", EMAIL, id=f"local-{char}") for char in '"(),:;<>@[\\] ']
    rows += [pytest.param(f"a.b{char}c@example.org", EMAIL, id=f"local-after-dot-{char}") for char in '"(),:;<>@[\\] ']
    rows += [pytest.param(f"a@{char}x.org", EMAIL, id=f"label-first-{char}") for char in "@[`{/:-_"]
    rows += [pytest.param(f"a@x{char}y.org", EMAIL, id=f"label-inner-{char}") for char in "@[`{/:_"]
    rows += [pytest.param(f"a@x{char}.org", EMAIL, id=f"label-last-{char}") for char in "@[`{/:-_"]
    rows += [pytest.param(f"a@x.o{char}", EMAIL, id=f"tld-{char}") for char in "@[`{09-_"]
    return rows


class TestEmail:
    """agent and demandeur email: "valid address, 254 chars max", ASCII (RFC 5322 dot-atom
    before « @ », at most 64 characters; host names of labels of 1 to 63 characters, a final
    label of 2 to 63 letters); the domain is returned in lower case, the local part as typed."""

    @pytest.mark.parametrize(
        ("value", "canonical"),
        [
            pytest.param("anne-marie.lefevre@example.org", "anne-marie.lefevre@example.org", id="usual"),
            pytest.param("Anne.Lefevre@Example.ORG", "Anne.Lefevre@example.org", id="domain-lowered-local-kept"),
            pytest.param(" a@example.org ", "a@example.org", id="outer-spaces-dropped"),
            pytest.param("a.b.c@example.org", "a.b.c@example.org", id="dots-between-atoms"),
            pytest.param("a@b.fr", "a@b.fr", id="one-char-label-two-letter-tld"),
            pytest.param("a@mail.agence.example.fr", "a@mail.agence.example.fr", id="several-labels"),
            pytest.param("a@xn--exmple-cua.org", "a@xn--exmple-cua.org", id="punycode-label"),
            pytest.param("a@1x.org", "a@1x.org", id="label-starting-with-digit"),
            pytest.param("a" * 64 + "@example.org", "a" * 64 + "@example.org", id="local-64-chars"),
            pytest.param("a@" + "b" * 63 + ".org", "a@" + "b" * 63 + ".org", id="label-63-chars"),
            pytest.param("a@x." + "o" * 63, "a@x." + "o" * 63, id="tld-63-letters"),
            pytest.param(
                "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".org",
                "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".org",
                id="254-chars",
            ),
            *_email_rows_in(),
        ],
    )
    def test_accepted(self, value: str, canonical: str) -> None:
        assert normalise_email(value) == canonical

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param("", EMPTY, id="empty"),
            pytest.param(
                "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".org", too_long(254, 255), id="255-chars"
            ),
            pytest.param("a" * 65 + "@example.org", EMAIL_LOCAL, id="local-65-chars"),
            pytest.param("a" * 32 + "." + "b" * 32 + "@example.org", EMAIL_LOCAL, id="local-65-chars-dots-counted"),
            pytest.param("a@" + "b" * 64 + ".org", EMAIL, id="label-64-chars"),
            pytest.param("a@x." + "o" * 64, EMAIL, id="tld-64-letters"),
            pytest.param("a@example.c", EMAIL, id="tld-one-letter"),
            pytest.param("a@example", EMAIL, id="no-tld"),
            pytest.param("a@localhost", EMAIL, id="single-label"),
            pytest.param("a@127.0.0.1", EMAIL, id="ip-address"),
            pytest.param("a@[127.0.0.1]", EMAIL, id="address-literal"),
            pytest.param("a@example..org", EMAIL, id="empty-label"),
            pytest.param("a@.example.org", EMAIL, id="leading-dot-in-domain"),
            pytest.param("a@example.org.", EMAIL, id="trailing-dot-in-domain"),
            pytest.param("anne@-example.org", EMAIL, id="label-starting-with-hyphen"),
            pytest.param("anne@example-.org", EMAIL, id="label-ending-with-hyphen"),
            pytest.param("anne.@example.org", EMAIL, id="local-trailing-dot"),
            pytest.param(".anne@example.org", EMAIL, id="local-leading-dot"),
            pytest.param("anne..marie@example.org", EMAIL, id="local-doubled-dot"),
            pytest.param("@example.org", EMAIL, id="no-local-part"),
            pytest.param("anne@", EMAIL, id="no-domain"),
            pytest.param("anne.example.org", EMAIL, id="no-at-sign"),
            pytest.param('"anne marie"@example.org', EMAIL, id="quoted-local-part"),
            pytest.param("anne marie@example.org", EMAIL, id="inner-space"),
            pytest.param("anné@example.org", EMAIL, id="non-ascii-local-part"),
            pytest.param("anne@exämple.org", EMAIL, id="non-ascii-domain"),
            pytest.param("anne@ex\u0430mple.org", EMAIL, id="cyrillic-a-homoglyph"),
            pytest.param("a@example.org\nBcc: b@example.org", control("000A"), id="header-injection"),
            *_email_rows_out(),
        ],
    )
    def test_refused(self, value: str, message: str) -> None:
        refused(normalise_email, value, message)


# --- identifiers -----------------------------------------------------------------------------

IDENTIFIANT_POLE_EMPLOI = re.compile(r"[0-9]{7}[0-9A-Z]")


class TestIdentifier:
    """identifiant_pole_emploi and identifiant_caf: "normalised (upper case, no spaces)", then
    the configured pattern; the message names the expected format."""

    @pytest.mark.parametrize(
        ("value", "canonical"),
        [
            pytest.param("1234567A", "1234567A", id="as-stored"),
            pytest.param("1234567a", "1234567A", id="upper-cased"),
            pytest.param(" 123 45 67 a ", "1234567A", id="spaces-dropped"),
        ],
    )
    def test_accepted(self, value: str, canonical: str) -> None:
        assert normalise_identifier(value, IDENTIFIANT_POLE_EMPLOI, "7 chiffres et 1 chiffre ou lettre") == canonical

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param("1234567", "Format attendu : 7 chiffres et 1 chiffre ou lettre.", id="too-short"),
            pytest.param(
                "1234567-A", "Format attendu : 7 chiffres et 1 chiffre ou lettre.", id="hyphen-kept-and-refused"
            ),
            pytest.param("1234567\u00a0A", special_space("00A0"), id="no-break-space"),
        ],
    )
    def test_refused(self, value: str, message: str) -> None:
        refused(
            lambda text: normalise_identifier(text, IDENTIFIANT_POLE_EMPLOI, "7 chiffres et 1 chiffre ou lettre"),
            value,
            message,
        )
