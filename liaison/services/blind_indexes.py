"""Blind indexes: keyed hashes (HMAC-SHA256 under the installation's index key) that find a
sheet by its job seeker's words, or by its whole content, without storing either.

Someone who reads the database sees which sheets share a word, not the word; without the index
key (wrapped under the master key) no guess can be checked. Searches are always filtered by the
caller's organisation too: a hash never finds another structure's sheet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from liaison import crypto
from liaison.people_search import person_words


def word_terms(index_key: bytes, words: Iterable[str]) -> list[str]:
    """The blind index of each word (already normalised by :mod:`liaison.people_search`)."""
    return [crypto.keyed_index(index_key, f"mot|{word}") for word in words]


def person_terms(index_key: bytes, content: Mapping[str, Any]) -> list[str]:
    """The blind indexes a sheet is found by: the words of its job seeker."""
    return sorted(set(word_terms(index_key, person_words(content.get("demandeur") or {}))))


def content_index(index_key: bytes, kind: str, content: Mapping[str, Any]) -> str:
    """One hash of the sheet's kind and canonical content: the same sheet, stored twice, has the
    same index whatever the order of its fields."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return crypto.keyed_index(index_key, f"contenu|{kind}|{canonical}")
