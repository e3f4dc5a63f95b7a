"""What keeps a firm's installation safe at the edge: no public secrets, security headers
and cookies, rate limits, sessions that end, security events. `register_security(app)`
wires them; each lives in its module. The two refusals answered here (429 and a failed
CSRF check) speak plain words on the sign-in page, in place for HTMX, and as the JSON
error body in the API."""

from typing import Any

from flask import Flask, flash, request, url_for
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError

from webapp.security.events import register_events
from webapp.security.headers import register_headers
from webapp.security.limits import SIGN_IN, register_limits, throttled
from webapp.security.secrets import refuse_missing_secret_keys, refuse_public_secrets
from webapp.security.sessions import csrf_message, register_sessions, same_site_referrer


def register_security(app: Flask) -> None:
    refuse_public_secrets(app)
    refuse_missing_secret_keys(app)
    register_headers(app)
    register_limits(app)
    register_sessions(app)
    register_refusals(app)
    register_events(app)


def register_refusals(app: Flask) -> None:
    from webapp.api.errors import error_response
    from webapp.models import SecurityEventKind
    from webapp.services.security import record_refusal, record_sign_in_throttled
    from webapp.web.auth import sign_in_refused
    from webapp.web.htmx import error_page, inline_error, is_htmx, redirect_to

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(error: RateLimitExceeded) -> Any:
        seconds, reason = throttled(error)
        message = f"{reason} Try again in {spoken_wait(seconds)}."
        if request.path.startswith("/api/"):
            response = error_response(429, "too_many_requests", message, {"retryAfter": seconds})
        elif request.endpoint == SIGN_IN:
            record_sign_in_throttled(request.form.get("email", ""), reason)
            response = sign_in_refused(message)
        else:
            response = error_page(429, message)
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError) -> Any:
        record_refusal(SecurityEventKind.CSRF_FAILED, 400, str(error.description))
        message = csrf_message(error)
        if request.path.startswith("/api/"):
            return error_response(400, "csrf_failed", message)
        if request.endpoint == SIGN_IN:
            return sign_in_refused(message, 400)
        if is_htmx():
            return inline_error(400, message)
        flash(message, "error")
        return redirect_to(same_site_referrer() or url_for("web.home"))


def spoken_wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{round(seconds / 60)} minutes"
