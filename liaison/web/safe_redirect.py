"""Where a page may send a person after signing in: only to a path of this service (pure).

``?suivant=`` comes from the address bar, so anyone can write it into a link. Browsers are lenient
where a careless check is strict: they drop tabs and line breaks inside a URL (``/%09/evil`` becomes
``//evil``), read a backslash as a slash (``/\\evil``), and treat ``//host`` as another site. So a
target is taken only if it is written in printable ASCII (as a browser sends a path, spaces and
the rest percent-encoded) and is a plain absolute path, with none of the above, either as written
or once percent-decoded: anything else falls back to the home page.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

MAX_LENGTH = 2048


def local_path(target: object) -> str | None:
    """``target`` if it is a path of this service safe to redirect to; None otherwise."""
    if not isinstance(target, str) or not target or len(target) > MAX_LENGTH:
        return None
    if not all("!" <= character <= "~" for character in target):  # as written: printable ASCII only
        return None
    for form in (target, unquote(target)):
        if not _plain_path(form):
            return None
    return target


def _plain_path(text: str) -> bool:
    if not text.startswith("/") or text.startswith("//"):
        return False
    if "\\" in text or any(ord(character) < 0x20 or 0x7F <= ord(character) <= 0x9F for character in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return not parts.scheme and not parts.netloc and parts.path.startswith("/") and not parts.path.startswith("//")
