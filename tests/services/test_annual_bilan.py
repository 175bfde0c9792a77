"""The annual bilan's rules and service: the typed counts and comments judged, the rates the convention
defines, a signed bilan read back from its snapshot, who takes which side, and two conventions that
share an agency never mixing their bilans."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select

from liaison import authnz, db
from liaison.annual_bilan import (
    POINTS,
    TYPED,
    Consolidated,
    GivenAnswer,
    GivenSignature,
    TypedValue,
    comment_problem,
    consolidate,
    read_count,
    typed_for,
)
from liaison.models import (
    Assessment,
    BilanSide,
    Convention,
    ConventionAgency,
    Role,
    User,
)
from liaison.services import annual_bilan
from liaison.services.audit import Actor
from liaison.services.demo import CONVENTION, DemoAccount
from tests.plies import add_staff
from tests.retention.plies import CONVENTION_B, add_second_plie

AT = dt.datetime(2027, 3, 2, 9, 0, tzinfo=dt.UTC)
TOTALS = {
    "fdl1_recues": 40,
    "orientations:flux": 30,
    "integrations": 10,
    "sorties:formation": 3,
    "sorties:retraite": 1,
    "sorties:ancien_motif": 2,
}


class TestTheRules:
    """Counts are whole and non-negative; a comment names nobody; the convention's lists are all there."""

    @pytest.mark.parametrize(("raw", "expected"), [("", None), ("0", 0), ("1 234", 1234), (" 7 ", 7)])
    def test_a_count(self, raw: str, expected: int | None) -> None:
        assert read_count(raw) == expected

    @pytest.mark.parametrize("raw", ["-1", "3,5", "1e3", "٣", "deux", "10000001"])
    def test_not_a_count(self, raw: str) -> None:
        with pytest.raises(ValueError, match="entier positif ou nul"):
            read_count(raw)

    @pytest.mark.parametrize(
        ("comment", "refused"),
        [
            ("Des échanges réguliers en 2026, 12 réunions.", False),
            ("", False),
            ("Écrire à j.dupont@ft.fr", True),
            ("dossier 1234567a", True),
            ("dossier 12345678", True),
            ("é" * 500, False),
            ("é" * 501, True),
        ],
    )
    def test_a_comment(self, comment: str, refused: bool) -> None:
        assert (comment_problem(comment) is not None) is refused

    def test_seven_points_and_each_side_types_its_own_list(self) -> None:
        assert len(POINTS) == 7
        assert {typed.section for typed in typed_for(BilanSide.PLIE)} == {"urp"}
        assert {typed.section for typed in typed_for(BilanSide.AGENCY)} == {"pe"}
        assert len(typed_for(BilanSide.PLIE)) + len(typed_for(BilanSide.AGENCY)) == len(TYPED)

    def test_the_scale_is_closed_and_labelled_in_french(self) -> None:
        assert [a.label for a in Assessment] == ["Très satisfaisant", "Satisfaisant", "À améliorer", "Insatisfaisant"]


class TestConsolidation:
    """Computed from the counters, typed where liaison cannot count, rates where the convention defines them."""

    def made(self, **typed: int) -> Consolidated:
        values = {code: TypedValue(number, "someone", AT) for code, number in typed.items()}
        answers = {(BilanSide.AGENCY, "acces_offres"): GivenAnswer(Assessment.GOOD, "Bien", "agence.rgc", AT)}
        signatures = {BilanSide.PLIE: GivenSignature(BilanSide.PLIE, "demo.dpo", "PLIE-PAYS-AIX — PLIE", AT)}
        return consolidate(CONVENTION, 2026, TOTALS, values, answers, signatures)

    def test_the_computed_figures(self) -> None:
        bilan = self.made()
        assert bilan.row("orientations").value == 40 and bilan.row("orientations:flux").value == 30
        assert bilan.row("integrations").value == 10
        assert bilan.row("taux_integration_orientation").value == pytest.approx(0.25)
        assert bilan.row("sorties").value == 6 and bilan.row("sorties_positives").value == 3
        assert bilan.row("taux_sorties_positives").value == pytest.approx(0.5)
        assert bilan.row("sorties:retraite").value == 1
        assert bilan.row("sorties:autres").value == 2  # a reason counted under a code the form no longer has
        assert bilan.row("orientations_pe").value == 40  # the same figure, in France Travail's list

    def test_what_is_not_typed_is_said_and_its_rates_are_dashes(self) -> None:
        bilan = self.made()
        for typed in TYPED:
            assert bilan.row(typed.code).kind == "missing"
        assert bilan.row("taux_presence_information_collective").text == "—"

    def test_the_rates_of_typed_counts(self) -> None:
        bilan = self.made(
            recus_premier_accueil=20,
            presents_premier_contact=30,
            entres_diagnostic=16,
            convoques_information_collective=50,
            presents_information_collective=0,
        )
        assert bilan.row("taux_presence_premier_contact").value == pytest.approx(30 / 40)
        assert bilan.row("taux_passage_diagnostic").value == pytest.approx(16 / 20)
        assert bilan.row("taux_integration_diagnostic").value == pytest.approx(10 / 16)
        assert bilan.row("taux_integration_accueil").value == pytest.approx(10 / 20)
        assert bilan.row("taux_presence_information_collective").value == 0
        assert "saisi par someone" in bilan.row("entres_diagnostic").source

    def test_the_questionnaire_has_every_point_for_each_side(self) -> None:
        bilan = self.made()
        assert len(bilan.answers("plie")) == len(bilan.answers("agence")) == 7
        (given,) = [a for a in bilan.qualitative if a.assessment]
        assert (given.side, given.point, given.assessment_label) == ("agence", "acces_offres", "Satisfaisant")

    def test_a_snapshot_reads_back_the_same(self) -> None:
        bilan = self.made(services_delivres=4)
        assert Consolidated.from_json(bilan.to_json()) == bilan


def _user(role: Role, organisation_id: int) -> User:
    return User(login="x", role=role, organisation_id=organisation_id)


class TestWhoTakesASide:
    """The PLIE's DPO and RGC: the PLIE; an agency's RGC of the convention: the agency; else hidden."""

    convention = Convention(code="C", plie_id=1, agencies=[ConventionAgency(agency_id=2)])

    @pytest.mark.parametrize(
        ("role", "organisation", "side"),
        [
            (Role.DPO, 1, BilanSide.PLIE),
            (Role.RGC, 1, BilanSide.PLIE),
            (Role.RGC, 2, BilanSide.AGENCY),
        ],
    )
    def test_the_signatories(self, role: Role, organisation: int, side: BilanSide) -> None:
        assert authnz.annual_bilan_side(_user(role, organisation), self.convention) is side
        assert authnz.may_sign_annual_bilan(_user(role, organisation), self.convention)

    @pytest.mark.parametrize(
        ("role", "organisation"),
        [
            (Role.ACCOMPAGNATEUR, 1),
            (Role.REFERENT, 2),
            (Role.DPO, 2),  # an agency has no DPO of the bilan
            (Role.RGC, 3),  # an agency outside the convention
            (Role.DPO, 4),  # another PLIE
        ],
    )
    def test_anyone_else_is_hidden(self, role: Role, organisation: int) -> None:
        with pytest.raises(authnz.Hidden):
            authnz.annual_bilan_side(_user(role, organisation), self.convention)
        assert not authnz.may_sign_annual_bilan(_user(role, organisation), self.convention)

    def test_the_operator_signs_nothing(self) -> None:
        with pytest.raises(authnz.Hidden):
            authnz.annual_bilan_side(None, self.convention)


class TestTwoConventionsSharingAnAgency:
    """Agency 13013 signs with both PLIE: what it types in one convention's bilan stays there."""

    def test_they_never_mix(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        add_second_plie(app, demo)
        add_staff(app, "agence.rgc", "13013", Role.RGC)
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            user = session.scalars(select(User).where(User.login == "agence.rgc")).one()
            actor = Actor(user)
            assert annual_bilan.type_counts(session, actor, CONVENTION, 2026, {"services_delivres": "9"}).changed == 1
            assert annual_bilan.sign(session, actor, CONVENTION, 2026) is False
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            user = session.scalars(select(User).where(User.login == "agence.rgc")).one()
            mine = annual_bilan.read(session, user, CONVENTION, 2026)
            theirs = annual_bilan.read(session, user, CONVENTION_B, 2026)
            assert mine.consolidated.row("services_delivres").value == 9 and mine.signed_by_me
            assert theirs.consolidated.row("services_delivres").value is None and not theirs.signed_by_me
            assert theirs.side is BilanSide.AGENCY


class TestWithThreshold:
    """Counts from 1 to threshold - 1 are hidden, and the rates computed from them; 0 and the rest stay."""

    def test_the_rule(self) -> None:
        from liaison.annual_bilan import Consolidated, QuantRow, with_threshold

        rows = (
            QuantRow("a", "A", "urp", "computed", 0, 3, "3", "s"),
            QuantRow("b", "B", "urp", "typed", 0, 12, "12", "s"),
            QuantRow("z", "Z", "urp", "computed", 0, 0, "0", "s"),
            QuantRow("r", "R", "urp", "rate", 1, 0.25, "25,0 %", "s", ("a", "b")),
            QuantRow("q", "Q", "urp", "rate", 1, 0.0, "0,0 %", "s", ("z", "b")),
        )
        hidden = with_threshold(Consolidated("C", 2026, rows, (), ()), 5)
        assert [(row.code, row.value, row.text) for row in hidden.quantitative] == [
            ("a", None, "<\u00a05"),
            ("b", 12, "12"),
            ("z", 0, "0"),
            ("r", None, "—"),
            ("q", 0.0, "0,0 %"),
        ]
        assert hidden.threshold == 5 and "valeur 5" in hidden.threshold_sentence
        assert with_threshold(Consolidated("C", 2026, rows, (), ()), 0).quantitative == rows
