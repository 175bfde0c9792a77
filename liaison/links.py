"""Absolute links, made from the configuration (``LIAISON_PUBLIC_URL``), never from a request.

A request's ``Host`` header is whatever its sender wrote: ``url_for(..., _external=True)`` would
hand out ``http://evil.example/api/v1/downloads/…`` to whoever asks with ``Host: evil.example``.
Every absolute link of the service is :func:`absolute_url`; redirects and ``Location`` headers are
relative paths (``url_for`` without ``_external``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from liaison import context


def absolute_url(endpoint: str, **values: Any) -> str:
    """The address of ``endpoint`` under the service's public URL (its path prefix included)."""
    base = urlsplit(context.config().base_url)
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
