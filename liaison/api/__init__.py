"""The JSON API under ``/api/v1``: bearer tokens, one error shape, schemas in and out."""

from liaison.api.views import blueprint

__all__ = ["blueprint"]
