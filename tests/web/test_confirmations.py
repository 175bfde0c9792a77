"""Every action that destroys or disables something asks first, on a page of its own, without
JavaScript: the button posts to the action, which answers a confirmation page; only its form (with
``confirme=oui``) acts."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from liaison import db
from liaison.enums import PurgeStatus
from liaison.models import Hold, PartnershipKey, PurgeRun, SubjectRequest
from tests.conftest import ApiClient
from tests.examples import fdl2
from tests.web import Page, page, post_form, shown_form
from tests.web.conftest import SignedIn
from tests.web.test_pages import assert_accessible
from tests.web.test_registers import record_request
from tests.web.test_retention_pages import (
    CONVENTION,
    IDENTIFIANT,
    dossier,
    purge,
    refused_fdl2,
    send,
    set_convention,
    seven_months_ahead,
)

# Every web form that posts, by endpoint: how it asks before destroying or disabling, or why it
# needs not. A route added later fails test_every_form_that_posts_is_judged until it is judged here.
CONFIRMED = {
    "web.partnership_keys": "removing a key: confirm.html (action=supprimer)",
    "retention.release_hold": "releasing a hold lets its dossiers be destroyed: confirm.html",
    "retention.approve": "an approved list is destroyed at the next purge: confirm.html",
    "registers.erase_request": "an erasure destroys the person's dossiers: confirm.html",
    "retention.convention": "a change that may bring destructions earlier: confirm.html (others need none)",
    "retention.decide": "the ceiling destroys dossiers before the FSE control ends: confirm.html (keeping needs none)",
    "accounts.confirm": "disabling an account, resetting its password: accounts_confirm.html",
    "tokens.revoke": "revoking an API token: token_revoke.html",
    "drafts.remove": "deleting a draft: drafts_confirm.html",
    "second_factor.reset": "resetting another's second factor: second_factor_reset.html (the actor proves it is them)",
    "annual_bilan.sign": "signing the annual bilan (frozen once both sides have): confirm.html",
}
HARMLESS = {
    "web.login": "signs in",
    "web.logout": "signs out; nothing is lost",
    "web.new_sheet": "sends a sheet (or keeps a draft)",
    "web.import_sheet": "sends an imported sheet",
    "web.acknowledge": "records an acknowledgement",
    "web.export": "makes an encrypted file",
    "web.profile": "saves one's own profile",
    "notifications.preferences": "saves one's notification choices",
    "accounts.new": "creates an account",
    "accounts.change_password": "changes one's own password, the current one asked",
    "tokens.create": "creates a token",
    "registers.requests_page": "records a request",
    "registers.extend_request": "extends a deadline",
    "registers.close_request": "closes a request with its answer; destroys nothing",
    "registers.access_export": "downloads the access export",
    "registers.breaches_page": "records a breach",
    "registers.notify_breach": "records a notification",
    "registers.close_breach": "closes a breach record; destroys nothing",
    "retention.hold_dossier": "places a hold: keeps data",
    "retention.hold_convention": "places a hold: keeps data",
    "retention.simulate": "a dry run destroys nothing",
    "retention.archived_sheet": "opens an archived sheet, with a reason",
    "retention.attest": "attests that one's own copies were deleted",
    "second_factor.verify": "gives one's second factor (a step of signing in)",
    "second_factor.enrol": "activates one's own second factor",
    "second_factor.recovery": "uses one of one's recovery codes (a step of signing in)",
    "second_factor.security": "makes new recovery codes, for a current code (the page says the old ones stop)",
    "proconnect.leave": "signs out of ProConnect after a refused sign-in; nothing is lost",
    "annual_bilan.counts": "records the counts one's side types in the annual bilan (traced)",
    "annual_bilan.questionnaire": "records one's side's answers to the « Bilan Qualitatif » (traced)",
}


def hidden(html: Page, name: str) -> str:
    """The value the confirmation page's form posts again for ``name``."""
    (found,) = html.all("input", type="hidden", name=name)
    return found.attrs["value"]


class TestEveryForm:
    """Each web form that posts is judged: confirmed when it destroys or disables, else harmless."""

    def test_every_form_that_posts_is_judged(self, app: Flask) -> None:
        posting = {
            rule.endpoint
            for rule in app.url_map.iter_rules()
            if "POST" in (rule.methods or ()) and not rule.endpoint.startswith("api.")
        }
        assert posting - CONFIRMED.keys() - HARMLESS.keys() == set()
        assert not CONFIRMED.keys() & HARMLESS.keys()


class TestPartnershipKey:
    """Removing a partnership key asks first; the page names the partner and what changes."""

    def test_removal_asks_then_removes(self, app: Flask, signed_in: SignedIn) -> None:
        rgc = signed_in("demo.rgc")
        post_form(rgc, "/partenariats", {"partenaire": "13013", "phrase_de_passe": "", "action": "enregistrer"})
        asked = post_form(rgc, "/partenariats", {"partenaire": "13013", "action": "supprimer"})
        assert asked.status_code == 200
        html = assert_accessible(asked)
        assert "Supprimer la clé de partenariat avec" in html.text_of("h1")[0]
        assert "phrase de passe à usage unique" in html.text
        assert hidden(html, "confirme") == "oui" and hidden(html, "partenaire") == "13013"
        assert html.all("a", href="/partenariats")  # « Annuler »
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert session.scalars(select(PartnershipKey)).all()
        done = post_form(rgc, "/partenariats", {"partenaire": "13013", "action": "supprimer", "confirme": "oui"})
        assert done.status_code == 302
        assert "Aucune : phrase de passe à usage unique" in page(rgc.get("/partenariats")).text

    @pytest.mark.parametrize("partner", ["13013", "99999", "PLIE-INCONNU"])
    def test_nothing_to_remove_is_said_without_a_confirmation(self, signed_in: SignedIn, partner: str) -> None:
        """No key with a partner, or no such partner: the same refusal as the removal itself."""
        rgc = signed_in("demo.rgc")
        asked = post_form(rgc, "/partenariats", {"partenaire": partner, "action": "supprimer"})
        assert asked.status_code == 302
        assert "alerte-erreur" in page(rgc.get(asked.headers["Location"])).html


class TestHoldRelease:
    """Releasing a hold asks first, with the reason given; a missing reason is said on its field."""

    def test_release_asks_then_releases(self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn) -> None:
        send(api, refused_fdl2())
        dpo = signed_in("demo.dpo")
        post_form(
            dpo,
            "/conservation/gels/dossier",
            {"plie": "PLIE-PAYS-AIX", "identifiant": IDENTIFIANT, "motif": "Recours n° 12"},
            form_page="/conservation/gels",
        )
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            hold_id = session.scalars(select(Hold.id)).one()
        path = f"/conservation/gels/{hold_id}/levee"
        asked = post_form(dpo, path, {"motif": "Désistement"}, form_page="/conservation/gels")
        assert asked.status_code == 200
        html = assert_accessible(asked)
        assert html.text_of("h1") == [f"Lever le gel n° {hold_id} ?"]
        assert "Désistement" in html.text and hidden(html, "motif") == "Désistement"
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert session.get_one(Hold, hold_id).released_on is None
        done = post_form(dpo, path, {"motif": "Désistement", "confirme": "oui"}, form_page="/conservation/gels")
        assert done.status_code == 302
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert session.get_one(Hold, hold_id).released_on is not None


class TestApproval:
    """Approving a dry run's list asks first, with its counts; the run keeps waiting meanwhile."""

    def test_approval_asks_first(self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn) -> None:
        send(api, refused_fdl2())
        result = purge(app, seven_months_ahead(), dry_run=True, needs_approval=True)
        dpo = signed_in("demo.dpo")
        path = f"/conservation/purges/{result.run_id}/approbation"
        asked = post_form(dpo, path, {}, form_page="/conservation/purges")
        assert asked.status_code == 200
        html = assert_accessible(asked)
        assert html.text_of("h1") == [f"Approuver la liste de la simulation {result.run_id[:8]} ?"]
        assert "1 dossier(s)" in html.text and "ne se défait pas" in html.text
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert session.get_one(PurgeRun, result.run_id).status is PurgeStatus.AWAITING_APPROVAL


class TestErasure:
    """Applying an erasure asks first; the request stays open meanwhile."""

    def test_erasure_asks_first(self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn) -> None:
        send(api, refused_fdl2())
        dpo = signed_in("demo.dpo")
        request_page = record_request(dpo, kind="erasure")
        asked = post_form(dpo, f"{request_page}/effacement", {}, form_page=request_page)
        assert asked.status_code == 200
        html = assert_accessible(asked)
        assert "Appliquer l'effacement demandé" in html.text_of("h1")[0]
        assert hidden(html, "confirme") == "oui" and html.all("a", href=request_page)
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert all(item.answered_at is None for item in session.scalars(select(SubjectRequest)))


class TestCeilingDecision:
    """Choosing the ceiling over the FSE date asks first, with the date of destruction; keeping does not."""

    def test_the_ceiling_asks_first(self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn) -> None:
        sheet_id = send(api, fdl2())
        set_convention(app, fse_control_end="2040-12-31")  # the ceiling is 2037-12-31
        dpo = signed_in("demo.dpo")
        path = f"/conservation/conflits/{CONVENTION}"
        asked = post_form(dpo, path, {"decision": "ceiling"}, form_page="/conservation/conflits")
        assert asked.status_code == 200
        html = assert_accessible(asked)
        assert "détruits le 31/12/2037, avant la fin du contrôle FSE (le 31/12/2040)" in html.text
        assert hidden(html, "decision") == "ceiling" and dossier(app, sheet_id).rule == "arbitrage_dpo"
        kept = post_form(dpo, path, {"decision": "fse_date"}, form_page="/conservation/conflits")
        assert kept.status_code == 302 and dossier(app, sheet_id).rule == "decision_dpo"


class TestConventionChange:
    """A change that may bring destructions earlier (here a shorter duration) asks first, listing it;
    a longer one does not."""

    def test_shorter_asks_longer_does_not(self, app: Flask, signed_in: SignedIn) -> None:
        dpo = signed_in("demo.dpo")
        path = f"/conservation/conventions/{CONVENTION}"
        form = shown_form(page(dpo.get(path)))
        months = int(form["non_integration_months"])
        form["non_integration_months"] = str(months - 1)
        asked = post_form(dpo, path, form)
        assert asked.status_code == 200
        html = assert_accessible(asked)
        assert f"{months} → {months - 1}" in html.text and hidden(html, "non_integration_months") == str(months - 1)
        assert shown_form(page(dpo.get(path)))["non_integration_months"] == str(months)  # nothing changed yet
        form["non_integration_months"] = str(months + 1)
        assert post_form(dpo, path, form).status_code == 302
        assert shown_form(page(dpo.get(path)))["non_integration_months"] == str(months + 1)
