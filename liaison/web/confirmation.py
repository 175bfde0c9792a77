"""A confirmation page before every action that destroys or disables something, without JavaScript.

The action's button posts its form to the action's own address; without ``confirme=oui`` the view
answers :func:`ask` — a page that says what will be lost, with one button that posts the same form
again (its fields carried as hidden inputs) plus ``confirme=oui``, and a link to go back. The
accounts' and tokens' confirmation pages (``accounts_confirm.html``, ``token_revoke.html``) follow
the same rule with pages of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flask import render_template, request

CONFIRM_FIELD = "confirme"


@dataclass(frozen=True)
class Confirmation:
    """What the page says: its question (``title``, without the question mark), what will happen
    (``consequences``, one paragraph each), the button's words, and where « Annuler » leads."""

    title: str
    consequences: Sequence[str]
    button: str
    back: str
    back_label: str
    lead: str = ""
    carried: Mapping[str, str] = field(default_factory=dict)  # the form's fields, posted again
    crumbs: Sequence[tuple[str, str]] = ()  # the breadcrumb's links before this page


def confirmed() -> bool:
    """Whether the posted form is the confirmation page's."""
    return request.form.get(CONFIRM_FIELD) == "oui"


def ask(confirmation: Confirmation) -> str:
    """The confirmation page; its form posts back to the address just posted to."""
    return render_template("confirm.html", page=confirmation, action=request.path, confirm_field=CONFIRM_FIELD)
