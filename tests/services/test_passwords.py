"""Password strength: at least 12 characters, judged by zxcvbn with the account's own words, refused
with a French sentence saying why (never zxcvbn's English, never the password itself)."""

from __future__ import annotations

import pytest

from liaison import crypto
from liaison.services import passwords
from liaison.services.demo import AGENCIES, PLIE, USERS
from liaison.services.passwords import account_words, weakness

LOGIN = "claire.martin"
WORDS = account_words(LOGIN, "claire.martin@example.org", "France Travail Aix Galice", "13013")
ENGLISH = ("password", "Add another word", "This is", "Avoid", "common", "Repeats", "guess")


class TestRefusals:
    """Each weak password is refused with its reason, in French."""

    @pytest.mark.parametrize(
        ("password", "message"),
        [
            ("court", "au moins 12 caractères"),
            ("onze-lettre", "au moins 12 caractères"),
            ("x" * 129, "au plus 128 caractères"),
            ("password1234", "parmi les mots de passe les plus répandus"),
            ("123456789012", "parmi les mots de passe les plus répandus"),
            ("aaaaaaaaaaaa", "répète un même caractère ou un même motif"),
            ("############", "répète un même caractère ou un même motif"),
            ("abcabcabcabc", "répète un même caractère ou un même motif"),
            ("abcdefghijkl", "suit une suite prévisible"),
            ("azertyuiop12", "parmi les mots de passe les plus répandus"),
            ("01/02/1985abc", "repose sur une date ou une année"),
            ("claire.martin", "ne peut pas être votre identifiant"),
            ("CLAIRE.MARTIN", "ne peut pas être votre identifiant"),
            ("claire.martin1", "reprend votre identifiant, votre adresse électronique ou le nom de votre structure"),
            ("francetravail1", "reprend votre identifiant, votre adresse électronique ou le nom de votre structure"),
            ("aixgalice1234", "reprend votre identifiant, votre adresse électronique ou le nom de votre structure"),
            ("travailgalice12", "reprend votre identifiant, votre adresse électronique ou le nom de votre structure"),
            ("mot de passe\tlong", "ni tabulation"),
        ],
        ids=[
            "too-short",
            "eleven",
            "too-long",
            "password1234",
            "digits",
            "twelve-identical",
            "twelve-identical-symbols",
            "repeated-pattern",
            "alphabet",
            "keyboard",
            "date",
            "the-login",
            "the-login-in-capitals",
            "the-login-and-a-digit",
            "the-service",
            "the-structure-compact",
            "two-words-of-the-structure",
            "a-tab",
        ],
    )
    def test_a_weak_password_is_refused_saying_why(self, password: str, message: str) -> None:
        reason = weakness(password, LOGIN, WORDS)

        assert reason is not None and message in reason
        assert password not in reason
        assert not [word for word in ENGLISH if word in reason], reason

    def test_a_guessable_password_comes_with_advice(self) -> None:
        reason = weakness("password1234", LOGIN, WORDS) or ""

        assert reason.startswith("Mot de passe trop facile à deviner : ")
        assert reason.endswith(passwords.ADVICE)


class TestAcceptance:
    """What is long and unpredictable passes."""

    @pytest.mark.parametrize(
        "password",
        ["un mot de passe assez long", "Calanques de Cassis au petit matin 2026", "correct horse battery staple"],
    )
    def test_a_passphrase_of_several_words_passes(self, password: str) -> None:
        assert weakness(password, LOGIN, WORDS) is None

    def test_the_first_72_characters_are_judged_beyond_that_length_is_allowed(self) -> None:
        assert weakness("un mot de passe assez long " * 4, LOGIN, WORDS) is None

    @pytest.mark.parametrize(("login", "organisation", "_role", "_profile"), USERS)
    def test_the_passphrases_the_service_makes_always_pass(
        self, login: str, organisation: str, _role: object, _profile: object
    ) -> None:
        name = dict([PLIE, *AGENCIES])[organisation]
        words = account_words(login, None, name, organisation)
        assert [weakness(crypto.new_passphrase(), login, words) for _ in range(200)] == [None] * 200


class TestAccountWords:
    """The words an attacker tries first: the account's and the service's."""

    def test_they_hold_the_login_email_and_structure_whole_and_in_parts(self) -> None:
        assert {"claire.martin", "claire", "martin", "example", "France Travail Aix Galice", "Galice"} <= set(WORDS)
        assert {"FranceTravailAixGalice", "13013", "liaison", "plie"} <= set(WORDS)

    def test_they_hold_any_two_words_of_one_text_joined(self) -> None:
        assert {"TravailGalice", "FranceAix", "claireexample"} <= set(WORDS)
