"""The constants pass of ``./scripts/mutation`` makes the changes it promises (:mod:`mutation.constants`).

Each row names a change an independent reviewer would make by hand to a rule module, and the line
the pass must produce for it; every change must leave valid Python and differ from the module.
"""

from __future__ import annotations

import ast

import pytest

from mutation.constants import ROOT, Mutant, mutants_of

PATTERNS = mutants_of(ROOT / "schemas" / "patterns.py")
AUTHNZ = mutants_of(ROOT / "liaison" / "authnz.py")


def changes(mutants: list[Mutant]) -> set[str]:
    return {mutant.change for mutant in mutants}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param("NAME_MAX = 51", id="a-bound-one-more"),
        pytest.param("NAME_MAX = 49", id="a-bound-one-less"),
        pytest.param('_POSTAL_CODE = re.compile(r"[0-9]{4}")', id="a-repetition-one-less"),
        pytest.param('_FRENCH_PHONE = re.compile(r"(?:0|\\+33|0033)([0-9][0-9]{8})")', id="a-range-widened"),
        pytest.param('_FRENCH_PHONE = re.compile(r"(?:0|\\+33)([1-9][0-9]{8})")', id="an-alternative-left-out"),
        pytest.param('_FRENCH_PHONE = re.compile(r"(?:\\+33|0033)([1-9][0-9]{8})")', id="the-first-one-left-out"),
        pytest.param("DEPARTEMENTS = range(1, 100)", id="a-number-in-a-call"),
        pytest.param('LETTER = "A-Za-zÀ-×Ø-öø-ÿŒœŸ"', id="a-range-of-a-constant-widened-by-one-character"),
        pytest.param('LETTER = "A-Za-zÀ-ÖØ-öø-ÿŒŸ"', id="a-member-of-a-constant-class-left-out"),
        pytest.param('_NAME_CHAR = re.compile(rf"[{LETTER} \\-]")', id="a-member-of-a-class-left-out"),
        pytest.param(
            '_NUMERO_VOIE = re.compile(r"([0-9]{1,4})(?: (BIS|TER|QUATER|QUINQUIES|[A-Z]))?", '
            "re.IGNORECASE | re.ASCII)",
            id="an-optional-part-made-mandatory",
        ),
        pytest.param('_APOSTROPHES = {"\\u02bc": "\'"}', id="an-entry-of-a-map-left-out"),
        pytest.param(
            '_NUMERO_VOIE = re.compile(r"([0-9]{1,4})(?: ?(BIS|TER|QUATER|QUINQUIES|[A-Z]))?", re.ASCII)',
            id="a-flag-left-out",
        ),
    ],
)
def test_the_changes_made_to_the_patterns(change: str) -> None:
    assert any(line.startswith(change) for line in changes(PATTERNS))  # a comment may follow


def test_a_set_of_roles_gets_each_role_it_lacks() -> None:
    assert "FIGURES_ROLES = frozenset({Role.DPO, Role.RGC, Role.ACCOMPAGNATEUR})" in changes(AUTHNZ)
    assert "FIGURES_ROLES = frozenset({Role.DPO, Role.RGC, Role.REFERENT})" in changes(AUTHNZ)
    assert "- Role.REFERENT: SheetKind.FDL1," not in changes(AUTHNZ)  # SENDS is one line: the entry goes from it
    assert "SENDS: Mapping[Role, SheetKind] = {Role.ACCOMPAGNATEUR: SheetKind.FDL2}" in changes(AUTHNZ)


def test_no_docstring_nor_export_list_is_changed() -> None:
    assert not [mutant for mutant in PATTERNS if "__all__" in mutant.change]
    assert not [mutant for mutant in AUTHNZ if mutant.change.startswith('"""')]


def test_every_change_is_python_and_is_a_change() -> None:
    for mutant in [*PATTERNS, *AUTHNZ]:
        original = (ROOT / mutant.module.replace(".", "/")).with_suffix(".py").read_bytes()
        assert mutant.source != original, mutant.name
        ast.parse(mutant.source)
