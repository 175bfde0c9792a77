"""Who may act on what (:mod:`liaison.authnz`), rule by rule, without the service's database."""

from __future__ import annotations
