"""Domain errors as HTTP answers: a status and `{"error": {"code", "message", "details"}}`."""

from typing import Any

from flask import jsonify
from werkzeug.exceptions import HTTPException

from webapp.engine.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotAllowed,
    NotFound,
    TooLarge,
    Unauthenticated,
    Unavailable,
    Unprocessable,
)

STATUS = {
    Invalid: 400,
    Unauthenticated: 401,
    NotAllowed: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Unprocessable: 422,
    Unavailable: 503,
}


# Seconds a client waits before trying again after a 503 (the database was unreachable).
RETRY_AFTER_UNAVAILABLE = 5


def error_response(status: int, code: str, message: str, details: Any = None) -> Any:
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    return response


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


# Headers an HTTP error carries that a client needs: which methods a path takes (405),
# when to come back (429, 503).
KEPT_HEADERS = ("Allow", "Retry-After")


def http_error_response(error: HTTPException) -> Any:
    """An HTTP error (405, 413, 429…) as a JSON error body, keeping its Allow/Retry-After."""
    status = error.code or 500
    code = (error.name or "error").lower().replace(" ", "_")
    response = error_response(status, code, error.description or error.name)
    for name, value in error.get_headers():
        if name in KEPT_HEADERS:
            response.headers[name] = value
    return response
