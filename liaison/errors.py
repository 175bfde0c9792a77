"""Errors, for both faces of the service.

Under ``/api/`` one JSON shape: ``{"errors": {...}}`` for validation, else ``{"error", "message"}``;
elsewhere a French page. A 500 says nothing of the exception; the log gets its type and stack,
never its message (which may quote the input).
"""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from liaison.authnz import Hidden, Refused
from liaison.costly import Busy
from liaison.services.import_limit import ImportsPaused

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("bad_request", "Requête invalide."),
    401: ("unauthorized", "Authentification requise : jeton d'API absent, invalide ou révoqué, ou compte désactivé."),
    403: ("forbidden", "Action non autorisée."),
    404: ("not_found", "Ressource introuvable."),
    405: ("method_not_allowed", "Méthode non autorisée pour cette adresse."),
    409: ("conflict", "La ressource n'est pas dans l'état attendu."),
    410: ("gone", "Ce fichier n'est plus disponible : il a déjà été téléchargé ou il a expiré."),
    413: ("payload_too_large", "Requête trop volumineuse."),
    415: ("unsupported_media_type", "Le corps de la requête doit être du JSON (Content-Type: application/json)."),
    422: ("unprocessable", "Données invalides."),
    429: ("too_many_requests", "Trop de requêtes : réessayez plus tard."),
    500: ("internal_error", "Erreur interne : l'opération n'a pas été faite. Réessayez ou contactez l'assistance."),
}


def error_response(status: int, message: str | None = None, code: str | None = None) -> Response:
    default_code, default_message = MESSAGES.get(status, ("error", "Erreur."))
    response = jsonify(error=code or default_code, message=message or default_message)
    response.status_code = status
    return response


def validation_response(errors: dict[str, list[str]]) -> Response:
    response = jsonify(errors=errors)
    response.status_code = 422
    return response


def is_api_request() -> bool:
    return request.path.startswith("/api/")


PAGES = (400, 403, 404, 410, 413)


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response | HTTPException | tuple[str, int]:
        status = error.code or 500
        if is_api_request():
            response = error_response(status)
            if isinstance(error, MethodNotAllowed) and error.valid_methods:
                response.headers["Allow"] = ", ".join(error.valid_methods)
            return response
        if status in PAGES:
            return render_template("error.html", status=status), status
        return error

    @app.errorhandler(Refused)
    def _refused(error: Refused) -> Response | tuple[str, int]:
        """What the caller's role or structure may not do: 403, with the reason."""
        if is_api_request():
            return error_response(403, str(error) or None)
        return render_template("error.html", status=403, message=str(error)), 403

    @app.errorhandler(Hidden)
    def _hidden(error: Hidden) -> Response | tuple[str, int]:
        """Missing, or beyond the caller's reach: the same 404 either way. A sheet its caller's
        organisation sent or received says when it is archived (403) or destroyed (410)."""
        status, code = getattr(error, "status", 404), getattr(error, "code", None)
        if is_api_request():
            return error_response(status, str(error) or None, code=code)
        if status == 404:
            return render_template("error.html", status=404), 404
        return render_template("retention_gone.html", title=getattr(error, "title", ""), message=str(error)), status

    def _try_later(error: Busy | ImportsPaused) -> Response | tuple[str, int, dict[str, str]]:
        """Not now: too much costly work in this process (503), or too many failed imports by this
        user (429). ``Retry-After`` says when to try again, in seconds."""
        retry_after = {"Retry-After": str(error.retry_after)}
        if is_api_request():
            response = error_response(error.status, str(error), code=error.code)
            response.headers.update(retry_after)
            return response
        page = render_template("try_later.html", title=error.title, message=str(error), retry_after=error.retry_after)
        return page, error.status, retry_after

    app.register_error_handler(Busy, _try_later)
    app.register_error_handler(ImportsPaused, _try_later)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response | tuple[str, int]:
        # The type and the stack, not the message: a message may quote the input.
        stack = "".join(traceback.format_tb(error.__traceback__))
        log.error("unhandled %s on %s %s\n%s", type(error).__name__, request.method, request.url_rule, stack)
        failed = g.get("db_session")
        if failed is not None:
            failed.rollback()  # the page's menu reads the database: not through the failed transaction
        if is_api_request():
            return error_response(500)
        return render_template("error.html", status=500), 500
