"""The short patterned strings a liaison sheet may hold, as pure functions.

Each ``normalise_*`` function takes what a person typed and returns the canonical value, or
raises :class:`PatternError` with a French sentence that names the rule. The convention forbids
any field that could carry prose ("aucune rubrique permettant du texte libre"), so every rule
here is an allow-list of characters, a length bound and a shape, never a deny-list.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "PatternError",
    "clean_text",
    "normalise_address_line",
    "normalise_commune",
    "normalise_email",
    "normalise_identifier",
    "normalise_name",
    "normalise_numero_voie",
    "normalise_phone",
    "normalise_postal_code",
]


class PatternError(ValueError):
    """A value that does not fit its pattern; the message is for a person, in French."""


# Latin letters with the accents of French and its neighbours, all present in Windows-1252 so
# that every name prints on the PDF form; no digits, no other script (no homoglyphs).
LETTER = "A-Za-zÀ-ÖØ-öø-ÿŒœŸ"
_APOSTROPHES = {"\u2019": "'", "\u02bc": "'"}

NAME_MAX = 50
NAME_MAX_PARTS = 5
_NAME = re.compile(rf"[{LETTER}]+(?:[ \-'][{LETTER}]+)*")
_NAME_CHAR = re.compile(rf"[{LETTER} \-']")
_NAME_RULE = (
    "Lettres latines uniquement (accents admis), séparées par une espace, un trait d'union ou "
    "une apostrophe ; ni chiffre ni ponctuation."
)

ADDRESS_LINE_MAX = 38
ADDRESS_MAX_WORDS = 8
_ADDRESS_LINE = re.compile(rf"[{LETTER}0-9]+(?:(?:[ \-']|, |\. |\.|,)[{LETTER}0-9]+)*\.?")
_ADDRESS_CHAR = re.compile(rf"[{LETTER}0-9 \-',.]")
_ADDRESS_RULE = (
    "Lettres, chiffres, espace, trait d'union, apostrophe, virgule et point uniquement, sans ponctuation répétée."
)
_COMMUNE = re.compile(rf"[{LETTER}]+(?:[ \-'][{LETTER}0-9]+)*")
_COMMUNE_CHAR = re.compile(rf"[{LETTER}0-9 \-']")
_COMMUNE_RULE = (
    "Nom de commune : lettres (accents admis), espace, trait d'union ou apostrophe ; "
    "un arrondissement peut suivre en chiffres."
)
NUMERO_VOIE_MAX = 14  # the longest: "1234 quinquies"
# re.ASCII: without it, IGNORECASE takes "ı" (dotless i) and "İ" for an i, "ſ" (long s) for an s.
_NUMERO_VOIE = re.compile(r"([0-9]{1,4})(?: ?(BIS|TER|QUATER|QUINQUIES|[A-Z]))?", re.IGNORECASE | re.ASCII)
_POSTAL_CODE = re.compile(r"[0-9]{5}")
DEPARTEMENTS = range(1, 99)  # a postal code's first two digits: 01 to 98 (97 and 98: outre-mer, Monaco)
_PHONE_SEPARATORS = re.compile(r"[ .\-]")
_FRENCH_PHONE = re.compile(r"(?:0|\+33|0033)([1-9][0-9]{8})")
EMAIL_MAX = 254
_EMAIL = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)


def clean_text(value: str) -> str:
    """Compose accents (NFC), unify apostrophes and refuse invisible or control characters.

    Spaces at either end are dropped; a tab, a newline (U+2028 and U+2029 included) or any other
    control, format (zero-width, bidirectional override) or private-use character is refused,
    never silently removed.
    """
    value = unicodedata.normalize("NFC", value)
    for typographic, plain in _APOSTROPHES.items():
        value = value.replace(typographic, plain)
    if not value.isprintable():  # Python's printable: no character of a category refused below
        for char in value:
            category = unicodedata.category(char)
            if category.startswith("C") or category in ("Zl", "Zp"):
                raise PatternError(
                    f"Caractère interdit (U+{ord(char):04X}) : les caractères de contrôle ou "
                    "invisibles ne sont pas acceptés."
                )
            if category == "Zs" and char != " ":
                raise PatternError(f"Espace spéciale interdite (U+{ord(char):04X}) : utilisez une espace simple.")
    return value.strip()  # only plain spaces are left to strip: every other space is refused above


def _shaped(value: str, shape: re.Pattern[str], allowed: re.Pattern[str], rule: str) -> None:
    """Refuse ``value`` unless it has ``shape``, naming the first character that ``allowed`` does not
    match, if any, with its code point: a homoglyph (Cyrillic « а », Greek « ο », fullwidth or
    mathematical letters) looks like a Latin letter on screen, and only the code point tells the
    person what is wrong."""
    if shape.fullmatch(value):
        return
    for char in value:
        if not allowed.fullmatch(char):
            raise PatternError(f"Caractère non autorisé « {char} » (U+{ord(char):04X}). {rule}")
    raise PatternError(rule)


def _bounded(value: str, maximum: int) -> None:
    if not value:
        raise PatternError("Ce champ ne peut pas être vide.")
    if len(value) > maximum:
        raise PatternError(f"{maximum} caractères au plus ({len(value)} saisis).")


def normalise_name(value: str) -> str:
    """A surname or first name: letters, single spaces, hyphens, apostrophes; 1 to 50 chars."""
    value = clean_text(value)
    _bounded(value, NAME_MAX)
    _shaped(value, _NAME, _NAME_CHAR, _NAME_RULE)
    if len(re.findall(r"[ \-']", value)) >= NAME_MAX_PARTS:
        raise PatternError(f"Un nom compte au plus {NAME_MAX_PARTS} parties.")
    return value


def normalise_address_line(value: str) -> str:
    """One postal line (AFNOR NF Z10-011): at most 38 characters, letters, digits, space,
    hyphen, apostrophe, comma, period."""
    value = re.sub(r" {2,}", " ", clean_text(value))
    _bounded(value, ADDRESS_LINE_MAX)
    _shaped(value, _ADDRESS_LINE, _ADDRESS_CHAR, _ADDRESS_RULE)
    if not re.search(f"[{LETTER}]", value):
        raise PatternError("Une ligne d'adresse contient au moins une lettre.")
    if len(value.split(" ")) > ADDRESS_MAX_WORDS:
        raise PatternError(f"Une ligne d'adresse compte au plus {ADDRESS_MAX_WORDS} mots.")
    return value


def normalise_commune(value: str) -> str:
    """A commune name, as on a postal line: starts with a letter, at most 38 characters."""
    value = clean_text(value)
    _bounded(value, ADDRESS_LINE_MAX)
    _shaped(value, _COMMUNE, _COMMUNE_CHAR, _COMMUNE_RULE)
    if len(value.split(" ")) > ADDRESS_MAX_WORDS:
        raise PatternError(f"Un nom de commune compte au plus {ADDRESS_MAX_WORDS} mots.")
    return value


def normalise_numero_voie(value: str) -> str:
    """A street number with its optional index: "12", "12 bis", "3 ter", "7B"."""
    value = clean_text(value)
    _bounded(value, NUMERO_VOIE_MAX)
    match = _NUMERO_VOIE.fullmatch(value)
    if not match:
        raise PatternError(
            "Numéro de voie : 1 à 4 chiffres, suivis au besoin de bis, ter, quater, quinquies ou d'une lettre."
        )
    number, index = match.groups()
    if not index:
        return number
    index = index.lower()
    return f"{number}{index.upper()}" if len(index) == 1 else f"{number} {index}"


def normalise_postal_code(value: str) -> str:
    """A French postal code: five digits, of an existing département range."""
    value = clean_text(value).replace(" ", "")
    if not _POSTAL_CODE.fullmatch(value):
        raise PatternError("Code postal : cinq chiffres (par exemple 13100).")
    if int(value[:2]) not in DEPARTEMENTS:
        raise PatternError(
            f"Code postal inconnu : « {value[:2]} » ne correspond à aucun département "
            f"({DEPARTEMENTS[0]:02} à {DEPARTEMENTS[-1]:02})."
        )
    return value


def normalise_phone(value: str) -> str:
    """A French telephone number, returned in E.164 ("+33442000001")."""
    compact = _PHONE_SEPARATORS.sub("", clean_text(value))
    match = _FRENCH_PHONE.fullmatch(compact)
    if not match:
        raise PatternError(
            "Numéro de téléphone français : 10 chiffres commençant par 0 (04 42 00 00 01) "
            "ou au format international +33."
        )
    return "+33" + match.group(1)


def normalise_email(value: str) -> str:
    """An email address: ASCII only, 254 characters at most, the domain in lower case."""
    value = clean_text(value)
    _bounded(value, EMAIL_MAX)
    match = _EMAIL.fullmatch(value)
    if not value.isascii() or not match:
        raise PatternError("Adresse électronique invalide (caractères ASCII, de la forme nom@domaine.fr).")
    local, domain = match.groups()
    if len(local) > 64:
        raise PatternError("La partie avant « @ » compte au plus 64 caractères.")
    return f"{local}@{domain.lower()}"


def normalise_identifier(value: str, pattern: re.Pattern[str], description: str) -> str:
    """An administrative identifier: upper case, spaces removed, then the configured pattern."""
    compact = clean_text(value).replace(" ", "").upper()
    if not pattern.fullmatch(compact):
        raise PatternError(f"Format attendu : {description}.")
    return compact
