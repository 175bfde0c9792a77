"""The JSON API under ``/api/v1``: bearer tokens, one error shape, schemas in and out."""

from liaison.api import indicators as _indicators  # noqa: F401 - registers the convention's figures
from liaison.api import retention as _retention  # noqa: F401 - registers the DPO's views
from liaison.api import users as _users  # noqa: F401 - registers the account managers' views
from liaison.api.views import blueprint

__all__ = ["blueprint"]
