"""Domain errors. Services raise these; the web and API layers map them to HTTP."""

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(DomainError):
    """The request is malformed or breaks a rule of the state machine (400)."""

    code = "invalid"


class InvalidTransition(Invalid):
    code = "invalid_transition"


class Unprocessable(DomainError):
    """The request is well formed but its content fails validation (422)."""

    code = "validation_failed"


class NotAllowed(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class TooLarge(DomainError):
    code = "too_large"


class UnknownActionType(Unprocessable):
    code = "unknown_action_type"
