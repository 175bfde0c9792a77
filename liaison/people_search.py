"""How a person is searched for: the words of a sheet's job seeker, and of a query, normalised.

Pure rules, no keys and no database: « Lefèvre », « LEFEVRE » and « lefevre » are one word,
« Anne-Marie » is two (« anne », « marie »), and the France Travail identifier is a word of its
own. :mod:`liaison.services.blind_indexes` hashes these words with the installation's index key;
the words themselves are never stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

MAX_QUERY_LENGTH = 100
MAX_QUERY_WORDS = 5
_SEPARATORS = re.compile(r"[^0-9a-z]+")


class QueryInvalid(ValueError):
    """A search the service does not run; the message says why, in French."""


def words_of(text: str) -> list[str]:
    """``text`` without case, accents or punctuation, as words: « L'Hôpital-Dubois » →
    ``["l", "hopital", "dubois"]``. Ligatures are spelt out (« Œ » → « oe »)."""
    spelt = unicodedata.normalize(
        "NFKD", text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    )
    bare = "".join(char for char in spelt if not unicodedata.combining(char)).casefold()
    return [word for word in _SEPARATORS.split(bare) if word]


def person_words(demandeur: Mapping[str, Any]) -> set[str]:
    """The words a job seeker is found by: their name's, their first name's, their identifier."""
    found: set[str] = set()
    for field in ("nom", "prenom", "identifiant_pole_emploi"):
        found.update(words_of(str(demandeur.get(field) or "")))
    return found


def query_words(query: str) -> list[str]:
    """The words of a search, each of which a sheet must hold; :class:`QueryInvalid` if too long."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryInvalid(f"La recherche compte au plus {MAX_QUERY_LENGTH} caractères.")
    words = list(dict.fromkeys(words_of(query)))
    if len(words) > MAX_QUERY_WORDS:
        raise QueryInvalid(f"La recherche compte au plus {MAX_QUERY_WORDS} mots.")
    return words
