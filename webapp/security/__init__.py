"""What keeps a firm's installation safe at the edge: rate limits, security headers and
cookies, sessions that end. `register_security(app)` wires them; each lives in its module."""

from typing import Any

from flask import Flask, request
from flask_limiter import RateLimitExceeded

from webapp.security.headers import register_headers
from webapp.security.limits import SIGN_IN, register_limits, throttled
from webapp.security.secrets import refuse_public_secrets
from webapp.security.sessions import register_csrf_answer, register_sessions


def register_security(app: Flask) -> None:
    refuse_public_secrets(app)
    register_headers(app)
    register_limits(app)
    register_sessions(app)
    register_csrf_answer(app)
    register_throttled_answer(app)


def register_throttled_answer(app: Flask) -> None:
    from webapp.api.errors import error_response
    from webapp.web.htmx import error_page

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(error: RateLimitExceeded) -> Any:
        seconds, reason = throttled(error)
        message = f"{reason} Try again in {spoken_wait(seconds)}."
        if request.path.startswith("/api/"):
            response = error_response(429, "too_many_requests", message, {"retryAfter": seconds})
        elif request.endpoint == SIGN_IN:
            from webapp.web.auth import sign_in_refused

            response = sign_in_refused(message)
        else:
            response = error_page(429, message)
        response.headers["Retry-After"] = str(seconds)
        return response


def spoken_wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return f"{minutes} minutes"
