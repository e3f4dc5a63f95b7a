"""Forms a person can trust: every page renders a fresh one-use `form_token` in each
form (`m.csrf()`), and static/js/app.js sends an `Idempotency-Key` header with every HTMX
request that changes something. A state-changing request carrying either records it with
its change (services/form_tokens.py); the same token again — a double click, a retried
request — changes nothing and is answered as the first was: its redirect, or the current
page with "This was already done"."""

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, flash, g, make_response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.services import form_tokens
from webapp.services.form_tokens import AlreadyDone
from webapp.web.htmx import is_htmx

HEADER = "Idempotency-Key"
FIELD = "form_token"
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
DONE = "This was already done; nothing was changed again."


def issue() -> str:
    """A fresh token for one form (a template global)."""
    return secrets.token_urlsafe(18)


def _token() -> str | None:
    # An HTMX request's header wins: the glue makes one per action, where a form's
    # hidden field may outlive a swap that left the form in place.
    token = request.headers.get(HEADER) or request.form.get(FIELD)
    return token if token and TOKEN.match(token) else None


def _covered() -> bool:
    return (
        request.method in CHANGING
        and not request.path.startswith("/api/")
        and current_user.is_authenticated
    )


def _same_site(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.netloc in ("", request.host) else None


def replay(location: str | None) -> ResponseReturnValue:
    """The answer to a token already used: where the first request went, else the page
    as it is now, with a plain note."""
    flash(DONE, "info")
    target = location or _same_site(request.referrer)
    if is_htmx():
        response = make_response("", 200)
        if target and location:
            response.headers["HX-Redirect"] = target
        else:
            response.headers["HX-Refresh"] = "true"
        return response
    return redirect(target or url_for("web.home"), code=303)


def _before() -> Any:
    g.form_token_pending = g.form_token_recorded = None
    if not _covered():
        return None
    token = _token()
    if token is None:
        return None
    used = form_tokens.find(current_user, token)
    if used is not None:
        return replay(used.location)
    form_tokens.expect(current_user.id, token, request.path)
    return None


def _after(response: Response) -> Response:
    token = form_tokens.recorded()
    g.form_token_pending = g.form_token_recorded = None
    if token is None:
        return response
    location = response.headers.get("HX-Redirect") or (
        response.headers.get("Location") if 300 <= response.status_code < 400 else None
    )
    if location:
        form_tokens.remember_answer(token, response.status_code, location)
    return response


def register(app: Flask) -> None:
    form_tokens.listen()
    app.before_request(_before)
    app.after_request(_after)
    app.add_template_global(issue, "form_token")

    @app.errorhandler(AlreadyDone)
    def already_done(error: AlreadyDone) -> ResponseReturnValue:
        used = form_tokens.find(current_user, error.token)
        return replay(used.location if used else None)
