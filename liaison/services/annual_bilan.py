"""The annual bilan of a convention: counts typed by each side, the questionnaire, the two sign-offs, the snapshot.

Who takes which side is :func:`liaison.authnz.annual_bilan_side` (the PLIE: its DPO or RGC; an
agency of the convention: its RGC; anyone else: :class:`~liaison.authnz.Hidden`, like a convention
that does not exist). What the bilan says is :mod:`liaison.annual_bilan`'s, from the year's counters
(:func:`liaison.services.indicators.read`, every agency summed: the convention's bilan, what both
sides sign) and from what the sides typed.

A change (a count, an answer) after one side signed withdraws that signature, traced: a side signs
what it saw. Once both sides have signed, the bilan is frozen: what was signed is stored as JSON
(``AnnualBilan.snapshot``) and read back from it ever after, so later counters change nothing, and
every change is refused (:class:`BilanFrozen`). Each typed count, answer and signature records who
and when, and is traced in the audit trail. No Flask here; nothing commits: the caller does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.annual_bilan import (
    POINTS,
    TYPED_BY_CODE,
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
    AnnualBilan,
    Assessment,
    BilanAnswer,
    BilanSide,
    BilanSignature,
    BilanValue,
    Convention,
    User,
    utcnow,
)
from liaison.services import indicators
from liaison.services.audit import Actor, record

YEAR_MIN, YEAR_MAX = 2000, 2100
FROZEN = (
    "Ce bilan annuel a été signé par les deux parties : il ne peut plus être modifié. "
    "Il reste téléchargeable tel qu'il a été signé."
)
ALREADY_SIGNED = "Vous avez déjà signé ce bilan pour votre structure."


class BilanFrozen(Exception):
    """A change asked of a bilan both sides have signed (or a second signature of one side)."""


class FormRefused(ValueError):
    """A form whose fields break their rules: the French messages by field name."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Saved:
    """What a form changed: how many counts or answers, and the sides whose signature it withdrew."""

    changed: int
    withdrawn: tuple[BilanSide, ...] = ()


@dataclass(frozen=True)
class Reading:
    """An annual bilan as one signatory reads it: their side, both bilans, whether it is frozen."""

    convention: Convention
    year: int
    side: BilanSide
    consolidated: Consolidated
    signed_sides: frozenset[BilanSide]

    @property
    def frozen(self) -> bool:
        return self.consolidated.frozen

    @property
    def signed_by_me(self) -> bool:
        return self.side in self.signed_sides


def _convention(session: Session, user: User | None, code: str, year: int) -> tuple[Convention, BilanSide]:
    """The convention and the side ``user`` takes in it; :class:`~liaison.authnz.Hidden` for a year
    out of range, a missing convention, or one ``user`` takes no side in."""
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise authnz.Hidden
    convention = session.scalars(select(Convention).where(Convention.code == code.upper())).first()
    if convention is None:
        raise authnz.Hidden
    return convention, authnz.annual_bilan_side(user, convention)


def _bilan(session: Session, convention: Convention, year: int, make: bool = False) -> AnnualBilan | None:
    """The bilan of the year; when ``make`` (about to change it), made if need be and locked until
    the transaction ends, so that two signatures at once see each other (PostgreSQL; SQLite
    serialises its writers anyway)."""
    query = select(AnnualBilan).where(AnnualBilan.convention_id == convention.id, AnnualBilan.year == year)
    found = session.scalars(query.with_for_update() if make else query).first()
    if found is None and make:
        found = AnnualBilan(convention_id=convention.id, year=year)
        session.add(found)
        session.flush()
    return found


def _live(session: Session, convention: Convention, year: int, bilan: AnnualBilan | None) -> Consolidated:
    """Both bilans as they stand today, from the counters and what the sides gave."""
    totals: Counter[str] = Counter()
    for line in indicators.read(session, convention.id, f"{year}-01", f"{year}-12"):
        totals.update(line.counts)
    typed: dict[str, TypedValue] = {}
    answers: dict[tuple[BilanSide, str], GivenAnswer] = {}
    signatures: dict[BilanSide, GivenSignature] = {}
    if bilan is not None:
        for value in session.scalars(select(BilanValue).where(BilanValue.bilan_id == bilan.id)):
            typed[value.indicator] = TypedValue(value.count, value.entered_by_login, value.entered_at)
        for answer in session.scalars(select(BilanAnswer).where(BilanAnswer.bilan_id == bilan.id)):
            given = GivenAnswer(answer.assessment, answer.comment, answer.answered_by_login, answer.answered_at)
            answers[(answer.side, answer.point)] = given
        for signature in _signatures(session, bilan):
            structure = f"{signature.organisation_code} — {signature.organisation_name}"
            signatures[signature.side] = GivenSignature(signature.side, signature.login, structure, signature.signed_at)
    frozen_at = bilan.frozen_at if bilan is not None else None
    return consolidate(convention.code, year, totals, typed, answers, signatures, frozen_at)


def _signatures(session: Session, bilan: AnnualBilan) -> list[BilanSignature]:
    return list(session.scalars(select(BilanSignature).where(BilanSignature.bilan_id == bilan.id)))


def read(session: Session, user: User | None, code: str, year: int) -> Reading:
    """The annual bilan of ``code``'s ``year`` as ``user`` reads it: frozen, its snapshot; else live."""
    convention, side = _convention(session, user, code, year)
    bilan = _bilan(session, convention, year)
    if bilan is not None and bilan.snapshot is not None:
        consolidated = Consolidated.from_json(bilan.snapshot)
    else:
        consolidated = _live(session, convention, year, bilan)
    signed = frozenset(signature.side for signature in _signatures(session, bilan)) if bilan else frozenset()
    return Reading(convention, year, side, consolidated, signed)


def _open_for_change(
    session: Session, actor: Actor, convention: Convention, year: int
) -> tuple[AnnualBilan, tuple[BilanSide, ...]]:
    """The bilan to change (made if need be), and the sides whose signature the change withdraws;
    :class:`BilanFrozen` once signed by both. A signature given before this change is withdrawn
    (traced): it was given to what is about to change."""
    bilan = _bilan(session, convention, year, make=True)
    assert bilan is not None  # noqa: S101  # made above
    if bilan.frozen_at is not None:
        raise BilanFrozen(FROZEN)
    withdrawn = tuple(signature.side for signature in _signatures(session, bilan))
    for side in withdrawn:
        record(session, "annual_bilan.unsigned", actor, detail=f"{convention.code}:{year}:{side.value}")
    session.execute(delete(BilanSignature).where(BilanSignature.bilan_id == bilan.id))
    return bilan, withdrawn


def type_counts(session: Session, actor: Actor, code: str, year: int, form: Mapping[str, str]) -> Saved:
    """The counts of the caller's side, from ``form`` (field: the count's code; an empty field
    leaves the count as it was). :class:`FormRefused` naming each wrong field (nothing saved),
    :class:`BilanFrozen` once signed. Returns how many counts changed (each traced) and the signatures withdrawn."""
    user = actor.user
    convention, side = _convention(session, user, code, year)
    assert user is not None  # noqa: S101  # the operator takes no side
    given: dict[str, int] = {}
    errors: dict[str, str] = {}
    for typed in typed_for(side):
        try:
            number = read_count(form.get(typed.code, ""))
        except ValueError as refused:
            errors[typed.code] = str(refused)
            continue
        if number is not None:
            given[typed.code] = number
    if errors:
        raise FormRefused(errors)
    bilan = _bilan(session, convention, year)
    existing = (
        {v.indicator: v for v in session.scalars(select(BilanValue).where(BilanValue.bilan_id == bilan.id))}
        if bilan is not None
        else {}
    )
    changed = {name: number for name, number in given.items() if name not in existing or existing[name].count != number}
    if not changed:
        if bilan is not None and bilan.frozen_at is not None:
            raise BilanFrozen(FROZEN)
        return Saved(0)
    bilan, withdrawn = _open_for_change(session, actor, convention, year)
    now = utcnow()
    for name, number in changed.items():
        value = existing.get(name)
        if value is None:
            value = BilanValue(bilan_id=bilan.id, indicator=name, side=TYPED_BY_CODE[name].side)
            session.add(value)
        value.count, value.entered_by_id, value.entered_by_login, value.entered_at = number, user.id, user.login, now
        record(session, "annual_bilan.value", actor, detail=f"{convention.code}:{year}:{name}")
    session.flush()
    return Saved(len(changed), withdrawn)


def answer(session: Session, actor: Actor, code: str, year: int, form: Mapping[str, str]) -> Saved:
    """The caller's side's assessments, from ``form`` (``<point>``: an assessment's code, empty to
    leave it; ``<point>-commentaire``: a comment). :class:`FormRefused` naming each wrong field,
    :class:`BilanFrozen` once signed. Returns how many answers changed (each traced) and the signatures withdrawn."""
    user = actor.user
    convention, side = _convention(session, user, code, year)
    assert user is not None  # noqa: S101  # the operator takes no side
    errors: dict[str, str] = {}
    given: dict[str, tuple[Assessment, str]] = {}
    for point in POINTS:
        raw = form.get(point, "")
        comment = form.get(f"{point}-commentaire", "").strip()
        problem = comment_problem(comment)
        if problem:
            errors[f"{point}-commentaire"] = problem
        if not raw:
            if comment and not problem:
                errors[point] = "Choisissez une appréciation pour accompagner le commentaire."
            continue
        try:
            assessment = Assessment.of(raw)
        except ValueError:
            errors[point] = "Choisissez l'une des appréciations proposées."
            continue
        given[point] = (assessment, comment)
    if errors:
        raise FormRefused(errors)
    bilan = _bilan(session, convention, year)
    existing = (
        {
            a.point: a
            for a in session.scalars(
                select(BilanAnswer).where(BilanAnswer.bilan_id == bilan.id, BilanAnswer.side == side)
            )
        }
        if bilan is not None
        else {}
    )
    changed = {
        point: pair
        for point, pair in given.items()
        if point not in existing or (existing[point].assessment, existing[point].comment) != pair
    }
    if not changed:
        if bilan is not None and bilan.frozen_at is not None:
            raise BilanFrozen(FROZEN)
        return Saved(0)
    bilan, withdrawn = _open_for_change(session, actor, convention, year)
    now = utcnow()
    for point, (assessment, comment) in changed.items():
        row = existing.get(point)
        if row is None:
            row = BilanAnswer(bilan_id=bilan.id, side=side, point=point)
            session.add(row)
        row.assessment, row.comment = assessment, comment
        row.answered_by_id, row.answered_by_login, row.answered_at = user.id, user.login, now
        record(session, "annual_bilan.answer", actor, detail=f"{convention.code}:{year}:{side.value}:{point}")
    session.flush()
    return Saved(len(changed), withdrawn)


def sign(session: Session, actor: Actor, code: str, year: int) -> bool:
    """The caller signs for their side (who, when, on behalf of their structure; traced). When the
    other side has signed too, the bilan is frozen: its snapshot is stored. Returns whether it is
    now frozen. :class:`BilanFrozen` for a frozen bilan or a side that has signed already."""
    user = actor.user
    convention, side = _convention(session, user, code, year)
    assert user is not None  # noqa: S101  # the operator takes no side
    bilan = _bilan(session, convention, year, make=True)
    assert bilan is not None  # noqa: S101  # made above
    if bilan.frozen_at is not None:
        raise BilanFrozen(FROZEN)
    signed = {signature.side for signature in _signatures(session, bilan)}
    if side in signed:
        raise BilanFrozen(ALREADY_SIGNED)
    now = utcnow()
    organisation = user.organisation
    session.add(
        BilanSignature(
            bilan_id=bilan.id,
            side=side,
            user_id=user.id,
            login=user.login,
            organisation_id=organisation.id,
            organisation_code=organisation.code,
            organisation_name=organisation.name,
            signed_at=now,
        )
    )
    record(session, "annual_bilan.sign", actor, detail=f"{convention.code}:{year}:{side.value}")
    session.flush()
    if signed | {side} == set(BilanSide):
        bilan.frozen_at = now
        bilan.snapshot = _live(session, convention, year, bilan).to_json()
        session.flush()
        return True
    return False


def downloaded(session: Session, actor: Actor, reading: Reading, file_format: str) -> None:
    """Trace a download of the annual bilan."""
    detail = f"{reading.convention.code}:{reading.year}:{file_format}"
    record(session, "annual_bilan.download", actor, detail=detail)
