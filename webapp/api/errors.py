"""Domain errors as HTTP answers: a status and `{"error": {"code", "message", "details"}}`."""

from typing import Any

from flask import jsonify

from webapp.engine.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotAllowed,
    NotFound,
    TooLarge,
    Unprocessable,
)

STATUS = {
    Invalid: 400,
    NotAllowed: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Unprocessable: 422,
}


def error_response(status: int, code: str, message: str, details: Any = None) -> Any:
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    return response


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400
