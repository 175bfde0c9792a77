"""Helpers for the web UI tests: read pages with the standard library's HTML parser, sign in
through the real form (with its CSRF token), and turn a sheet into what its form would post."""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pyotp
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from liaison.web.forms import flat_values

VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    """One start tag, with where it sits in the page."""

    tag: str
    attrs: dict[str, str]
    classes: frozenset[str]
    in_legend_fieldset: bool  # inside a <fieldset> that has a <legend>
    position: int  # order of appearance in the page
    text: str = ""  # the text inside it (filled for the elements in TEXT_OF)

    @property
    def id(self) -> str:
        return self.attrs.get("id", "")

    @property
    def name(self) -> str:
        return self.attrs.get("name", "")

    @property
    def type(self) -> str:
        return self.attrs.get("type", "text" if self.tag == "input" else "")


TEXT_OF = {"title", "label", "legend", "a", "p", "h1", "h2", "li", "option", "button", "code", "div", "td", "dd"}


class Page(HTMLParser):
    """A parsed HTML page: its elements in order, and the text of some of them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self._fieldsets: list[Element] = []
        self._fieldset_has_legend: list[bool] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        element = Element(
            tag=tag,
            attrs=values,
            classes=frozenset(values.get("class", "").split()),
            in_legend_fieldset=any(self._fieldset_has_legend),
            position=len(self.elements),
        )
        self.elements.append(element)
        if tag == "legend" and self._fieldset_has_legend:
            self._fieldset_has_legend[-1] = True
        if tag == "fieldset":
            self._fieldsets.append(element)
            self._fieldset_has_legend.append(False)
        if tag not in VOID_ELEMENTS:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset" and self._fieldsets:
            self._fieldsets.pop()
            self._fieldset_has_legend.pop()
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            if element.tag in TEXT_OF:
                element.text += data

    # --- queries ---------------------------------------------------------------------------

    def all(self, tag: str, **attrs: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())]

    def with_class(self, name: str) -> list[Element]:
        return [e for e in self.elements if name in e.classes]

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.id == element_id]
        assert len(found) == 1, f"{len(found)} elements have id={element_id!r}"
        return found[0]

    def has_id(self, element_id: str) -> bool:
        return any(e.id == element_id for e in self.elements)

    def text_of(self, tag: str) -> list[str]:
        return [" ".join(e.text.split()) for e in self.all(tag)]

    @property
    def title(self) -> str:
        titles = self.text_of("title")
        return titles[0] if titles else ""

    @property
    def lang(self) -> str:
        roots = self.all("html")
        return roots[0].attrs.get("lang", "") if roots else ""

    @property
    def text(self) -> str:
        """The visible words of the page, roughly (tags removed, spaces folded)."""
        without_head = re.sub(r"(?s)<head>.*?</head>", " ", self.html)
        return " ".join(Page._strip(without_head).split())

    @staticmethod
    def _strip(html: str) -> str:
        return html_module.unescape(re.sub(r"<[^>]+>", " ", html))

    def controls(self) -> list[Element]:
        """The form controls a person fills in (hidden fields and buttons left out)."""
        return [
            e
            for e in self.elements
            if e.tag in ("select", "textarea") or (e.tag == "input" and e.type not in ("hidden", "submit", "button"))
        ]

    def value_of(self, name: str) -> Any:
        """What a control named ``name`` shows: its value, the selected option, checked boxes."""
        found = [e for e in self.controls() if e.name == name]
        assert found, f"no control named {name!r}"
        first = found[0]
        if first.tag == "select":
            options = self._options_of(first)
            selected = [o.attrs.get("value", "") for o in options if "selected" in o.attrs]
            return selected[0] if selected else ""
        if first.type == "checkbox":
            checked = [e.attrs.get("value", "on") for e in found if "checked" in e.attrs]
            return checked if len(found) > 1 else bool(checked)
        return first.attrs.get("value", "")

    def _options_of(self, select: Element) -> list[Element]:
        options = []
        for element in self.elements[select.position + 1 :]:
            if element.tag == "option":
                options.append(element)
            elif element.tag in ("select", "input", "div", "fieldset"):
                break
        return options

    def options_of(self, name: str) -> dict[str, str]:
        select = next(e for e in self.controls() if e.tag == "select" and e.name == name)
        return {o.attrs.get("value", ""): " ".join(o.text.split()) for o in self._options_of(select)}

    def csrf_token(self) -> str:
        tokens = {e.attrs.get("value", "") for e in self.all("input", name="csrf_token")}
        assert len(tokens) == 1 and "" not in tokens, f"expected one CSRF token, found {tokens}"
        return tokens.pop()


def page(response: TestResponse) -> Page:
    assert response.mimetype == "text/html", response.mimetype
    return Page(response.get_data(as_text=True))


def csrf_token(client: FlaskClient, path: str = "/connexion") -> str:
    """The CSRF token the page at ``path`` gives this client (tied to its session)."""
    response = client.get(path)
    assert response.status_code in (200, 422), (path, response.status_code)
    return page(response).csrf_token()


_CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="[^"]*"|value="[^"]*"[^>]*name="csrf_token"')


def without_csrf(page_text: str) -> str:
    """A page's HTML with its forms' CSRF token set aside: the token is signed with the time to the
    second, so two answers alike otherwise differ there when a second passes between them."""
    return _CSRF_VALUE.sub("csrf", page_text)


def sign_in(client: FlaskClient, login: str, password: str, follow_redirects: bool = False) -> TestResponse:
    """Post the sign-in form as a browser would, token included."""
    token = csrf_token(client, "/connexion")
    return client.post(
        "/connexion",
        data={"csrf_token": token, "identifiant": login, "mot_de_passe": password},
        follow_redirects=follow_redirects,
    )


# The key the enrolment page shows for typing by hand: 32 base32 characters in groups of four.
SHOWN_TOTP_KEY = re.compile(r"\b([A-Z2-7]{4}(?: [A-Z2-7]{4}){7})\b")


def enrol_second_factor(client: FlaskClient) -> str:
    """Activate the second factor as a person does after their password: read the key the page
    shows, type the code of the moment; returns the key (what their application holds)."""
    shown = page(client.get("/connexion/second-facteur/activation"))
    found = SHOWN_TOTP_KEY.search(shown.text)
    assert found, "the enrolment page shows no key"
    key = found.group(1).replace(" ", "")
    response = client.post(
        "/connexion/second-facteur/activation",
        data={"csrf_token": shown.csrf_token(), "code": pyotp.TOTP(key).now()},
    )
    assert response.status_code == 200, response.status_code
    return key


def sign_out(client: FlaskClient) -> None:
    """Sign out as a person does (a signed-in browser is sent on from the sign-in page)."""
    response = client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/profil")})
    assert response.status_code == 302


def post_form(
    client: FlaskClient, path: str, data: MultiDict[str, str] | Mapping[str, Any] | None = None, **kwargs: Any
) -> TestResponse:
    """Post to ``path`` with the CSRF token of the page that shows ``path``'s form."""
    form = MultiDict(data or {})
    form["csrf_token"] = csrf_token(client, kwargs.pop("form_page", path))
    return client.post(path, data=form, **kwargs)


def sheet_form_data(sheet: Mapping[str, Any], recipient: str) -> MultiDict[str, str]:
    """What the new-sheet form posts for ``sheet``: ticked boxes as ``oui``, lists as repeated
    names, empty values as empty inputs (as a browser sends them)."""
    data: MultiDict[str, str] = MultiDict()
    data["destinataire"] = recipient
    for name, value in flat_values(sheet).items():
        if value is True:
            data.add(name, "oui")
        elif value is False:
            continue  # an unticked box is not posted
        elif isinstance(value, list):
            for item in value:
                data.add(name, str(item))
        elif value is None:
            data.add(name, "")
        else:
            data.add(name, str(value))
    return data


def shown_form(page_: Page) -> MultiDict[str, str]:
    """What a browser would post if the person pressed the button without changing anything."""
    data: MultiDict[str, str] = MultiDict()
    for element in page_.controls():
        if element.tag == "select":
            data.add(element.name, page_.value_of(element.name))
        elif element.type == "checkbox":
            if "checked" in element.attrs:
                data.add(element.name, element.attrs.get("value", "on"))
        else:
            data.add(element.name, element.attrs.get("value", ""))
    return data
