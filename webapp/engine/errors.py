"""Domain errors. Services raise these; the web and API layers map them to HTTP."""

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(DomainError):
    """The request is malformed, or could never be valid whatever the state of what it
    names (an unknown event, a status only the engine sets) (400)."""

    code = "invalid"


class Unprocessable(DomainError):
    """The request is well formed but its content fails validation (422)."""

    code = "validation_failed"


class NotAllowed(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request is well formed but conflicts with the current state of what it names:
    a version that is not a draft, stale step ids, a lost race (409)."""

    code = "conflict"


class InvalidTransition(Conflict):
    """A state machine refuses the move from the current state (409): the same request
    could succeed from another state."""

    code = "invalid_transition"


class TooLarge(DomainError):
    code = "too_large"


class UnknownActionType(Unprocessable):
    code = "unknown_action_type"


class Unauthenticated(DomainError):
    """The caller did not prove who it is: a missing, bad or stale signature (401)."""

    code = "unauthorized"


class Unavailable(DomainError):
    """The database stopped answering before the change was saved: nothing was changed,
    and the same request a moment later can succeed (503)."""

    code = "unavailable"


class OutcomeUnknown(Unavailable):
    """The database stopped answering while the change was being saved: it may or may not
    have been (503). The answer says so rather than claim either."""

    code = "outcome_unknown"
