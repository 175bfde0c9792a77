"""``liaison orgs`` and ``liaison conventions add|agencies|list``, run as the operator would, on
SQLite and PostgreSQL: organisations and conventions are data. Refusals are French sentences on
stderr with a non-zero exit, never a traceback; running a command again changes nothing."""

from __future__ import annotations

import re

import pytest
from click.testing import Result
from sqlalchemy import func, select

from liaison import db
from liaison.config import Config
from liaison.models import AuditEntry, Convention, Organisation
from liaison.services.demo import AGENCIES, CONVENTION, PLIE
from tests.commands import ENGLISH, Run, assert_refused

SIRET = "13000548100010"
ORGS_SUBCOMMANDS = [
    ["orgs"],
    ["orgs", "add"],
    ["orgs", "list"],
    ["orgs", "set"],
    ["conventions"],
    ["conventions", "add"],
    ["conventions", "agencies"],
    ["conventions", "list"],
]





def rows_of(config: Config, model: type[Organisation] | type[Convention] | type[AuditEntry]) -> int:
    engine = db.make_engine(config.database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


def succeeded(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert result.stderr == "", result.stderr
    return result.stdout


def refused_on_stderr(result: Result, *words: str) -> str:
    """A refusal: non-zero exit, French words on stderr, nothing on stdout, no traceback."""
    assert_refused(result, *words)
    assert result.stdout == "", result.stdout
    assert result.stderr.startswith("Erreur : "), result.stderr
    return result.stderr


def table(output: str) -> list[list[str]]:
    """``orgs list``'s lines as cells (columns are at least two spaces apart)."""
    return [re.split(r"\s{2,}", line.rstrip()) for line in output.splitlines()]


MARSEILLE = ["--code", "PLIE-MARSEILLE", "--name", "PLIE de Marseille", "--kind", "plie"]


class TestOrgsAdd:
    """``liaison orgs add``: creates; again with the same values, changes nothing."""

    def test_it_creates_then_changes_nothing(self, run: Run, config: Config) -> None:
        first = succeeded(run("orgs", "add", *MARSEILLE, "--siret", SIRET, "--max-active-accounts", "20"))
        assert first == "Organisation créée : PLIE-MARSEILLE (plie, PLIE de Marseille).\n"
        trail = rows_of(config, AuditEntry)
        again = succeeded(run("orgs", "add", *MARSEILLE, "--siret", SIRET, "--max-active-accounts", "20"))
        assert "déjà enregistrée avec ces valeurs, rien n'a changé" in again
        assert rows_of(config, Organisation) == 1
        assert rows_of(config, AuditEntry) == trail
        succeeded(run("audit", "checkpoint"))
        assert "intacte" in succeeded(run("audit", "verify"))

    def test_the_kind_is_read_whatever_its_case(self, run: Run) -> None:
        succeeded(run("orgs", "add", "--code", "13013", "--name", "Aix Galice", "--kind", "AGENCE"))
        assert ["13013", "agence", "0", "—", "—", "Aix Galice"] in table(succeeded(run("orgs", "list")))

    def test_other_values_are_refused_pointing_to_orgs_set(self, run: Run) -> None:
        succeeded(run("orgs", "add", *MARSEILLE))
        refused_on_stderr(
            run("orgs", "add", *MARSEILLE[:3], "PLIE Marseille", "--kind", "plie", "--max-active-accounts", "3"),
            "PLIE-MARSEILLE existe déjà avec d'autres valeurs",
            "liaison orgs set PLIE-MARSEILLE --name … --max-active-accounts 3",
        )
        refused_on_stderr(
            run("orgs", "add", "--code", "PLIE-MARSEILLE", "--name", "PLIE de Marseille", "--kind", "agence"),
            "c'est un PLIE : le type d'une organisation ne change pas",
        )

    @pytest.mark.parametrize(
        ("args", "words"),
        [
            (["--code", "1301", "--name", "Aix", "--kind", "agence"], ["Code :", "5 chiffres", "« 1301 »"]),
            (["--code", "plie-aix", "--name", "Aix", "--kind", "plie"], ["Code :", "majuscules"]),
            (["--code", "13013", "--name", "A\tB", "--kind", "agence"], ["Nom :", "caractère de contrôle"]),
            (["--code", "13013", "--name", "A" * 121, "--kind", "agence"], ["Nom :", "120 caractères au plus"]),
            (["--code", "13013", "--name", "Aix", "--kind", "agence", "--siret", "123"], ["SIRET :", "14 chiffres"]),
            (
                ["--code", "13013", "--name", "Aix", "--kind", "agence", "--siret", "13000548100011"],
                ["SIRET :", "clé de contrôle invalide"],
            ),
            (
                ["--code", "13013", "--name", "Aix", "--kind", "agence", "--max-active-accounts", "-1"],
                ["Plafond de comptes actifs :", "un nombre entier de 0 à 100000"],
            ),
            (
                ["--code", "1301", "--name", "", "--kind", "agence", "--siret", "1", "--max-active-accounts", "x"],
                ["Code :", "Nom :", "SIRET :", "Plafond de comptes actifs :"],
            ),
        ],
        ids=[
            "agency-code",
            "plie-code",
            "name-control",
            "name-too-long",
            "siret-length",
            "siret-key",
            "cap",
            "all-at-once",
        ],
    )
    def test_bad_values_are_refused_naming_the_field(
        self, run: Run, config: Config, args: list[str], words: list[str]
    ) -> None:
        refused_on_stderr(run("orgs", "add", *args), *words)
        assert rows_of(config, Organisation) == 0

    @pytest.mark.parametrize(
        ("args", "words"),
        [
            (["--name", "Aix", "--kind", "agence"], ["--code"]),
            (["--code", "13013", "--kind", "agence"], ["--name"]),
            (["--code", "13013", "--name", "Aix"], ["--kind"]),
            (["--code", "13013", "--name", "Aix", "--kind", "mairie"], ["--kind", "mairie", "plie", "agence"]),
        ],
        ids=["no-code", "no-name", "no-kind", "unknown-kind"],
    )
    def test_usage_errors_are_french(self, run_help: Run, args: list[str], words: list[str]) -> None:
        assert_refused(run_help("orgs", "add", *args), "Erreur", *words)


class TestOrgsList:
    """``liaison orgs list``: a table of code, kind, active accounts, cap, SIRET and name."""

    @pytest.mark.usefixtures("demo")
    def test_the_table_shows_kind_cap_and_active_accounts(self, run: Run) -> None:
        succeeded(run("orgs", "set", "13013", "--max-active-accounts", "5", "--siret", SIRET))
        rows = table(succeeded(run("orgs", "list")))
        assert rows[0] == ["Code", "Type", "Comptes actifs", "Plafond", "SIRET", "Nom"]
        assert rows[1] == [PLIE[0], "plie", "2", "—", "—", PLIE[1]]  # the RGC is not counted
        assert ["13013", "agence", "1", "5", SIRET, "France Travail Aix Galice"] in rows
        assert len(rows) == 1 + 1 + len(AGENCIES)
        header, *lines = succeeded(run("orgs", "list")).splitlines()
        names = [name for _, name in (PLIE, *sorted(AGENCIES))]
        assert [line[header.index("Nom") :] for line in lines] == names  # the columns are aligned

    @pytest.mark.usefixtures("demo")
    def test_a_cap_below_the_active_accounts_is_shown(self, run: Run) -> None:
        result = run("orgs", "set", "13013", "--max-active-accounts", "0")
        assert result.exit_code == 0, result.output
        assert "1 compte(s) actif(s) pour un plafond de 0 ; aucun n'est désactivé" in result.stderr
        assert ["13013", "agence", "1", "0 (dépassé)", "—", "France Travail Aix Galice"] in table(
            succeeded(run("orgs", "list"))
        )

    def test_an_empty_installation_says_how_to_add_one(self, run: Run) -> None:
        assert "liaison orgs add" in succeeded(run("orgs", "list"))


class TestOrgsSet:
    """``liaison orgs set``: the name, SIRET and cap change; ``none`` clears; the kind does not."""

    @pytest.mark.usefixtures("demo")
    def test_it_changes_and_clears(self, run: Run, config: Config) -> None:
        changed = succeeded(
            run("orgs", "set", "13013", "--name", "Aix", "--siret", SIRET, "--max-active-accounts", "7")
        )
        assert changed == "Organisation 13013 : Nom, SIRET, Plafond de comptes actifs modifié(s).\n"
        trail = rows_of(config, AuditEntry)
        assert "aucun changement" in succeeded(run("orgs", "set", "13013", "--name", "Aix"))
        assert rows_of(config, AuditEntry) == trail
        succeeded(run("orgs", "set", "13013", "--siret", "none", "--max-active-accounts", "none"))
        assert ["13013", "agence", "1", "—", "—", "Aix"] in table(succeeded(run("orgs", "list")))

    def test_without_a_field_it_is_a_usage_error(self, run: Run) -> None:
        assert_refused(run("orgs", "set", "13013"), "Indiquez au moins un champ")

    @pytest.mark.parametrize(
        ("args", "words"),
        [
            (["99999", "--name", "X"], ["Code :", "aucune organisation n'a le code « 99999 »"]),
            (["13013", "--max-active-accounts", "beaucoup"], ["Plafond de comptes actifs :", "« beaucoup »"]),
            (["13013", "--siret", "13000548100011"], ["SIRET :", "clé de contrôle invalide"]),
            (["13013", "--kind", "plie"], ["--kind"]),
        ],
        ids=["unknown-code", "bad-cap", "bad-siret", "no-kind-option"],
    )
    @pytest.mark.usefixtures("demo")
    def test_bad_requests_are_refused(self, run: Run, args: list[str], words: list[str]) -> None:
        assert_refused(run("orgs", "set", *args), "Erreur", *words)


AIX_2024 = [
    "PLIE-AIX-2024",
    "--plie",
    "PLIE-AIX",
    "--agencies",
    "13013,13181",
    "--start",
    "2024-01-01",
    "--end",
    "2027-12-31",
]


@pytest.fixture
def organisations(run: Run) -> None:
    """Two PLIE and three agencies, added with ``liaison orgs add``."""
    for code, name in (("PLIE-AIX", "PLIE d'Aix"), ("PLIE-MARSEILLE", "PLIE de Marseille")):
        succeeded(run("orgs", "add", "--code", code, "--name", name, "--kind", "plie"))
    for code in ("13013", "13181", "13501"):
        succeeded(run("orgs", "add", "--code", code, "--name", f"France Travail {code}", "--kind", "agence"))


@pytest.mark.usefixtures("organisations")
class TestConventionsAdd:
    """``liaison conventions add``: one PLIE, some agencies, dates; again with the same values,
    nothing changes; an agency may be in conventions with several PLIE."""

    def test_it_creates_then_changes_nothing_and_lists_plie_and_agencies(self, run: Run, config: Config) -> None:
        created = succeeded(run("conventions", "add", *AIX_2024, "--fse-programme", "fse_plus_2021_2027"))
        assert created == (
            "Convention créée : PLIE-AIX-2024 (PLIE PLIE-AIX ; agences 13013, 13181 ; "
            "du 2024-01-01 au 2027-12-31 ; fse_plus_2021_2027).\n"
        )
        trail = rows_of(config, AuditEntry)
        assert "rien n'a changé" in succeeded(run("conventions", "add", *AIX_2024))
        assert rows_of(config, Convention) == 1 and rows_of(config, AuditEntry) == trail
        [line] = succeeded(run("conventions", "list")).splitlines()
        assert line.split("\t")[:5] == [
            "PLIE-AIX-2024",
            "PLIE PLIE-AIX",
            "agences 13013,13181",
            "début 2024-01-01",
            "fin 2027-12-31",
        ]
        assert "FSE fse_plus_2021_2027" in line

    def test_an_agency_with_two_plie(self, run: Run) -> None:
        succeeded(run("conventions", "add", *AIX_2024))
        marseille = [
            "--plie",
            "PLIE-MARSEILLE",
            "--agencies",
            "13013,13501",
            "--start",
            "2024-01-01",
            "--end",
            "2026-12-31",
        ]
        succeeded(run("conventions", "add", "PLIE-MARSEILLE-2024", *marseille))
        lines = succeeded(run("conventions", "list")).splitlines()
        assert [line.split("\t")[:3] for line in lines] == [
            ["PLIE-AIX-2024", "PLIE PLIE-AIX", "agences 13013,13181"],
            ["PLIE-MARSEILLE-2024", "PLIE PLIE-MARSEILLE", "agences 13013,13501"],
        ]

    def test_other_values_are_refused_pointing_to_the_commands_that_change_them(self, run: Run) -> None:
        succeeded(run("conventions", "add", *AIX_2024))
        changed = [*AIX_2024[:4], "13013,13501", "--start", "2024-01-01", "--end", "2028-06-30"]
        refused_on_stderr(
            run("conventions", "add", *changed),
            "PLIE-AIX-2024 existe déjà avec d'autres valeurs",
            "liaison conventions set PLIE-AIX-2024 --end 2028-06-30",
            "liaison conventions agencies PLIE-AIX-2024 --add 13501 --remove 13181",
        )

    @pytest.mark.parametrize(
        ("args", "words"),
        [
            (["X-1", "--plie", "13013", "--agencies", "13181"], ["PLIE :", "13013 est une agence, pas un PLIE"]),
            (["X-1", "--plie", "PLIE-NICE", "--agencies", "13181"], ["PLIE :", "« PLIE-NICE »"]),
            (["X-1", "--plie", "PLIE-AIX", "--agencies", "13181,99999,88888"], ["Agences :", "99999, 88888"]),
            (["X-1", "--plie", "PLIE-AIX", "--agencies", "PLIE-MARSEILLE"], ["Agences :", "pas des agences"]),
            (["X-1", "--plie", "PLIE-AIX", "--agencies", ","], ["Agences :", "au moins une agence"]),
            (
                ["X-1", "--plie", "PLIE-AIX", "--agencies", "13181", "--fse-programme", "fse"],
                ["Programme FSE :", "fse_plus_2021_2027"],
            ),
            (["x 1", "--plie", "PLIE-AIX", "--agencies", "13181"], ["Code :", "majuscules"]),
        ],
        ids=[
            "plie-is-an-agency",
            "unknown-plie",
            "unknown-agencies",
            "agency-is-a-plie",
            "no-agency",
            "programme",
            "code",
        ],
    )
    def test_bad_values_are_refused_naming_the_field(
        self, run: Run, config: Config, args: list[str], words: list[str]
    ) -> None:
        refused_on_stderr(run("conventions", "add", *args, "--start", "2024-01-01", "--end", "2027-12-31"), *words)
        assert rows_of(config, Convention) == 0

    @pytest.mark.parametrize(
        ("dates", "words"),
        [
            (["--start", "2024-01-01", "--end", "2023-12-31"], ["Date de fin :", "précède la date de début"]),
            (["--start", "2024-02-30", "--end", "2027-12-31"], ["--start", "« 2024-02-30 » n'est pas une date"]),
            (["--start", "2024-01-01"], ["--end"]),
        ],
        ids=["end-before-start", "no-such-day", "no-end"],
    )
    def test_bad_dates_are_refused(self, run: Run, dates: list[str], words: list[str]) -> None:
        assert_refused(run("conventions", "add", "X-1", "--plie", "PLIE-AIX", "--agencies", "13181", *dates), *words)


@pytest.mark.usefixtures("organisations")
class TestConventionsAgencies:
    """``liaison conventions agencies``: agencies join and leave; a removed one's new sheets are refused."""

    def test_add_and_remove(self, run: Run) -> None:
        succeeded(run("conventions", "add", *AIX_2024))
        output = succeeded(run("conventions", "agencies", "PLIE-AIX-2024", "--add", "13501", "--remove", "13181"))
        assert "agence(s) ajoutée(s) : 13501" in output
        assert "agence(s) retirée(s) : 13181" in output
        assert "Les fiches déjà échangées restent" in output
        assert "Les nouvelles fiches entre 13181 et PLIE-AIX sont désormais refusées" in output
        assert "agences 13013,13501" in succeeded(run("conventions", "list"))
        again = succeeded(run("conventions", "agencies", "PLIE-AIX-2024", "--add", "13501", "--remove", "13181"))
        assert "aucun changement" in again

    def test_an_agency_still_bound_by_another_convention_is_told_so(self, run: Run) -> None:
        succeeded(run("conventions", "add", *AIX_2024))
        later = ["--plie", "PLIE-AIX", "--agencies", "13181", "--start", "2028-01-01", "--end", "2030-12-31"]
        succeeded(run("conventions", "add", "PLIE-AIX-2028", *later))
        output = succeeded(run("conventions", "agencies", "PLIE-AIX-2024", "--remove", "13181"))
        assert "13181 reste liée au PLIE-AIX par : PLIE-AIX-2028" in output

    @pytest.mark.parametrize(
        ("args", "words"),
        [
            (["PLIE-AIX-2024"], ["Indiquez --add ou --remove"]),
            (["PLIE-AIX-1999", "--add", "13501"], ["Code :", "aucune convention"]),
            (["PLIE-AIX-2024", "--add", "99999"], ["Agences à ajouter :", "99999"]),
            (["PLIE-AIX-2024", "--remove", "13013,13181"], ["Agences à retirer :", "au moins une agence"]),
        ],
        ids=["nothing-asked", "unknown-convention", "unknown-agency", "last-agency"],
    )
    def test_bad_requests_are_refused(self, run: Run, args: list[str], words: list[str]) -> None:
        succeeded(run("conventions", "add", *AIX_2024))
        assert_refused(run("conventions", "agencies", *args), "Erreur", *words)


class TestDemo:
    """``liaison demo`` builds its set with the same services, still idempotent, and the listing shows it."""

    @pytest.mark.usefixtures("demo")
    def test_the_demo_set_is_listed(self, run: Run) -> None:
        succeeded(run("demo"))
        [line] = succeeded(run("conventions", "list")).splitlines()
        agencies = ",".join(sorted(code for code, _ in AGENCIES))
        assert line.startswith(f"{CONVENTION}\tPLIE {PLIE[0]}\tagences {agencies}\t")
        assert [row[0] for row in table(succeeded(run("orgs", "list")))[1:]] == [
            PLIE[0],
            *sorted(c for c, _ in AGENCIES),
        ]


class TestHelp:
    """Each new command has a French ``--help``."""

    @pytest.mark.parametrize("command", ORGS_SUBCOMMANDS, ids=" ".join)
    def test_each_command_has_a_french_help(self, run_help: Run, command: list[str]) -> None:
        result = run_help(*command, "--help")
        assert result.exit_code == 0, result.output
        assert "Utilisation : liaison" in result.output
        assert not [english for english in ENGLISH if english in result.output], result.output

    def test_the_main_help_lists_orgs(self, run_help: Run) -> None:
        assert re.search(r"^\s+orgs\s+Gère les organisations", run_help("--help").output, re.MULTILINE)
