"""Refuse, before any view sees it (and before an API call's authentication), a body
larger than MAX_CONTENT_LENGTH — by its declared length, without reading it — and text
no database can store: PostgreSQL rejects the NUL character in text columns, so a request
carrying one gets a clear 400 instead of a 500."""

from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.api.errors import error_response
from webapp.engine.text import NUL_MESSAGE, contains_nul
from webapp.web.htmx import error_page


def request_has_nul() -> bool:
    if any(contains_nul(k) or contains_nul(v) for k, v in request.args.items(multi=True)):
        return True
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return any(contains_nul(k) or contains_nul(v) for k, v in request.form.items(multi=True))
    if request.is_json:
        return contains_nul(request.get_json(silent=True))
    return False


def refuse_oversized_body() -> None:
    """A body without a declared length is cut off by werkzeug when it passes the limit."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        megabytes = limit // (1024 * 1024)
        raise RequestEntityTooLarge(f"The request body is larger than {megabytes} MB.")


def register_input_guard(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters() -> Any:
        refuse_oversized_body()
        if not request_has_nul():
            return None
        if request.path.startswith("/api/"):
            return error_response(400, "invalid", NUL_MESSAGE)
        return error_page(400, NUL_MESSAGE)  # an HTMX request gets the error in place
