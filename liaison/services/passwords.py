"""How strong a password must be: a pure judgement, in French.

A password has at least :data:`MIN_LENGTH` characters and is judged by zxcvbn (Dropbox's
estimator of the guesses an attacker needs, with its dictionaries of common passwords, names and
words, keyboard patterns, repeats, sequences and dates), with the account's own words (login,
email, structure) as *user inputs*: a password built on them is guessed first. zxcvbn's score runs
from 0 to 4; :data:`MIN_SCORE` (3: at least 10^8 guesses) is required.

zxcvbn's own feedback is English: the reason given here is our own sentence, chosen from the
pattern zxcvbn found to be the weakest part of the password. No message ever quotes the password.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3  # zxcvbn: 3 is "safely unguessable" (>= 10^8 guesses), 4 "very unguessable"
JUDGED_LENGTH = 72  # zxcvbn refuses longer inputs: the first 72 characters are judged
# Words an attacker of this service tries first, whoever the account is.
SERVICE_WORDS = ("liaison", "plie", "france travail", "francetravail", "pole emploi", "poleemploi", "opus")

TOO_SHORT = f"Le mot de passe compte au moins {MIN_LENGTH} caractères."
TOO_LONG = f"Le mot de passe compte au plus {MAX_LENGTH} caractères."
IS_LOGIN = "Le mot de passe ne peut pas être votre identifiant."
NOT_PRINTABLE = "Le mot de passe ne contient ni retour à la ligne, ni tabulation, ni caractère de contrôle."
ADVICE = "Choisissez par exemple quatre mots sans lien entre eux, séparés par des espaces."
WEAK = "Mot de passe trop facile à deviner : {reason} " + ADVICE
REASONS = {
    "identity": "il reprend votre identifiant, votre adresse électronique ou le nom de votre structure.",
    "repeat": "il répète un même caractère ou un même motif (comme « aaaa » ou « abcabc »).",
    "sequence": "il suit une suite prévisible (comme « 1234 » ou « abcd »).",
    "spatial": "il suit une rangée ou un dessin du clavier (comme « azerty »).",
    "common": "il figure parmi les mots de passe les plus répandus, ou en est une variante proche.",
    "date": "il repose sur une date ou une année.",
    "word": "il repose sur un mot ou un nom courant.",
    "other": "il est trop simple pour résister à une attaque.",
}
_WORD = re.compile(r"[^\W_]{3,}")
# zxcvbn keeps the user inputs of a call in a module-level dictionary: one call at a time.
_ZXCVBN_LOCK = threading.Lock()


def account_words(login: str, email: str | None, organisation_name: str, organisation_code: str) -> list[str]:
    """The words of an account an attacker tries first: the login, the email, the structure's name
    and code, each whole and in its parts, and the service's own words."""
    whole = [login, organisation_name, organisation_code, *([email, email.split("@")[0]] if email else [])]
    parts = [word for text in whole for word in _WORD.findall(text)]
    compact = ["".join(_WORD.findall(text)) for text in whole]  # "Aix Galice" is tried as "aixgalice" too
    # and two words of one text joined: "PLIE du Pays d'Aix" is tried as "plieaix" and "paysaix"
    pairs = [first + second for text in whole for first, second in combinations(_WORD.findall(text), 2)]
    return [*whole, *parts, *compact, *pairs, *SERVICE_WORDS]


def weakness(password: str, login: str, user_inputs: Sequence[str] = ()) -> str | None:
    """Why ``password`` may not be used, in French; None when it is strong enough."""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    if not password.isprintable():
        return NOT_PRINTABLE
    if password.casefold() == login.casefold():
        return IS_LOGIN
    with _ZXCVBN_LOCK:
        judged = zxcvbn(password[:JUDGED_LENGTH], user_inputs=[login, *user_inputs])
    if judged["score"] >= MIN_SCORE:
        return None
    return WEAK.format(reason=REASONS[_weakest_part(judged["sequence"])])


def _weakest_part(sequence: Iterable[dict[str, Any]]) -> str:
    """What the password leans on: the account's own words above all, else its longest pattern."""
    matches = list(sequence)
    kinds = [(_kind(match), len(match.get("token", ""))) for match in matches]
    inside = [base for match in matches for base in match.get("base_matches", [])]  # what a repeat repeats
    if any(_kind(match) == "identity" for match in [*matches, *inside]):
        return "identity"
    patterns = [(length, kind) for kind, length in kinds if kind != "other"]
    return max(patterns)[1] if patterns else "other"


def _kind(match: dict[str, Any]) -> str:
    pattern = match.get("pattern")
    if pattern == "dictionary":
        return {"user_inputs": "identity", "passwords": "common"}.get(str(match.get("dictionary_name")), "word")
    if pattern in ("repeat", "sequence", "spatial", "date"):
        return str(pattern)
    if pattern == "regex":  # recent years
        return "date"
    return "other"  # bruteforce: no pattern found
