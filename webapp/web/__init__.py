"""HTML blueprints: parse the form, call one service, render a page or a fragment."""

import json
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from webapp.engine.errors import DomainError, OutcomeUnknown, Unavailable
from webapp.extensions import db, login_manager
from webapp.metrics import register_request_timing
from webapp.persistence import faults
from webapp.persistence.transaction import changes_saved
from webapp.web import form_tokens
from webapp.web.blueprint import web
from webapp.web.health import register_health

INSTANCE_STATUS_LABELS = {
    "Created": "Not started",
    "Running": "Running",
    "Paused": "Paused",
    "WaitingForInput": "Waiting for input",
    "WaitingForApproval": "Waiting for approval",
    "Completed": "Completed",
    "Failed": "Failed",
    "Cancelled": "Cancelled",
}
INSTANCE_STATUS_TONES = {
    "Running": "info",
    "WaitingForInput": "warn",
    "WaitingForApproval": "warn",
    "Completed": "ok",
    "Failed": "danger",
}
STEP_STATE_LABELS = {
    "PENDING": "Waiting",
    "READY": "Ready",
    "IN_PROGRESS": "In progress",
    "BLOCKED": "Blocked",
    "COMPLETED": "Completed",
    "FAILED": "Failed",
    "SKIPPED": "Skipped",
}
STEP_STATE_TONES = {
    "READY": "info",
    "IN_PROGRESS": "warn",
    "BLOCKED": "danger",
    "FAILED": "danger",
    "COMPLETED": "ok",
}
TEMPLATE_STATUS_TONES = {"PUBLISHED": "ok", "DRAFT": "warn"}


def instance_label(status: str) -> str:
    """A workflow's status as the person reading is told it: a client never sees the
    engine's names (web/reads/client_portal.py)."""
    from webapp.web.reads.client_portal import workflow_words

    if current_user.is_authenticated and current_user.role == "CLIENT":
        return workflow_words(status)
    return INSTANCE_STATUS_LABELS.get(status, status)


def step_label(state: str) -> str:
    from webapp.web.reads.client_portal import step_words

    if current_user.is_authenticated and current_user.role == "CLIENT":
        return step_words(state)
    return STEP_STATE_LABELS.get(state, state)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def register_web(app: Flask) -> None:
    app.register_blueprint(web)

    register_health(app)
    register_request_timing(app)

    @app.get("/metrics")
    def metrics() -> Any:
        from webapp.metrics import refusal, render_metrics

        refused = refusal(request.headers.get("Authorization", ""))
        if refused is not None:
            return refused
        return Response(render_metrics(), mimetype="text/plain; version=0.0.4")

    register_template_helpers(app)
    register_error_pages(app)
    form_tokens.register(app)
    register_sign_in_redirect()


def register_sign_in_redirect() -> None:
    from flask import flash, redirect

    from webapp.web.htmx import is_htmx, redirect_to

    @login_manager.unauthorized_handler
    def sign_in_first() -> Any:
        target = url_for("web.login", next=request.full_path.rstrip("?"))
        if is_htmx():  # a fragment must not become a login page inside the page
            return redirect_to(target)
        if not g.get("session_ended"):  # else the page already says why (security/sessions.py)
            flash("Please sign in to continue.", "info")
        return redirect(target)


def register_error_pages(app: Flask) -> None:
    from webapp.api.errors import error_response, http_error_response, status_of
    from webapp.web.htmx import error_page

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Any:
        status = status_of(error)
        if wants_json():
            return error_response(status, error.code, error.message, error.details)
        return error_page(status, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if wants_json():
            return http_error_response(error)
        return error_page(status, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Any:
        if faults.is_transient(error):  # a read failed: no change was under way
            app.logger.warning("The database failed during a request: %s", error)
            faults.drop_session()
            if changes_saved():  # the read after a change: "unavailable" would say unsaved
                return domain_error(
                    OutcomeUnknown(
                        "Your change was saved, but the database stopped answering before "
                        "the answer was ready. Reload to see it."
                    )
                )
            return domain_error(
                Unavailable("The database could not be reached just now. Try again in a moment.")
            )
        app.logger.exception("Unhandled error")
        db.session.rollback()
        message = (
            "Something went wrong on our side after your change was saved. Reload to see it."
            if changes_saved()
            else "Something went wrong on our side. Nothing was changed; please try again."
        )
        if wants_json():
            return error_response(500, "internal_error", message)
        return error_page(500, message)


# ---- what every page can use -----------------------------------------------------------


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


def day(value: datetime | None) -> str:
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return f"{value.day} {value:%b %Y}"


def hour(value: datetime | None) -> str:
    """The time of day a receipt names ("17:05 UTC")."""
    return f"{value.astimezone(UTC):%H:%M} UTC" if value else ""


def clock(value: datetime | None) -> str:
    """A time to the second, with the day when it is not today (worker attempts)."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    if value.date() == datetime.now(UTC).date():
        return f"{value:%H:%M:%S} UTC"
    return f"{value.day} {value:%b}, {value:%H:%M:%S} UTC"


def compact(value: Any, limit: int = 160) -> str:
    """A step's outputs on one line, cut short: the full value is in the API."""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def filesize(size: int | None) -> str:
    size = size or 0
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def role_label(role: str | None) -> str:
    return (role or "").title()


def register_template_helpers(app: Flask) -> None:
    from webapp.engine.definition import spoken_duration
    from webapp.web.forms import LONG_STEP_LIST, roles_for, who_acts_label
    from webapp.web.reads.common import action_label, is_staff
    from webapp.web.wording import history_sentence

    app.add_template_filter(when)
    app.add_template_filter(day)
    app.add_template_filter(iso)
    app.add_template_filter(clock)
    app.add_template_filter(hour)
    app.add_template_filter(compact)
    app.add_template_filter(filesize)
    app.add_template_filter(role_label)
    app.add_template_filter(spoken_duration, "duration")
    app.add_template_global(action_label)
    app.add_template_global(instance_label)
    app.add_template_global(step_label)
    app.add_template_global(history_sentence)
    app.add_template_global(roles_for)
    app.add_template_global(who_acts_label)
    app.add_template_global(admin_providers.provider_hint)
    app.jinja_env.globals["instance_status_labels"] = INSTANCE_STATUS_LABELS
    app.jinja_env.globals["LONG_STEP_LIST"] = LONG_STEP_LIST
    app.jinja_env.globals["instance_status_tones"] = INSTANCE_STATUS_TONES
    app.jinja_env.globals["step_state_labels"] = STEP_STATE_LABELS
    app.jinja_env.globals["step_state_tones"] = STEP_STATE_TONES
    app.jinja_env.globals["template_status_tones"] = TEMPLATE_STATUS_TONES

    @app.context_processor
    def page_globals() -> dict[str, Any]:
        signed_in = current_user.is_authenticated
        return {
            # Shared macros as `m`: a block rendered alone (jinja2-fragments) does not run
            # the page's own top-level {% import %}.
            "m": app.jinja_env.get_template("partials/_macros.html").module,
            "is_staff": signed_in and is_staff(current_user),
            "is_admin": signed_in and current_user.role == "ADMIN",
            "max_upload_bytes": app.config["MAX_UPLOAD_BYTES"],
        }


# Each area is a blueprint nested in `web` (endpoints like web.steps.claim); they are
# attached once, at import, because the same blueprint serves every app instance.
from webapp.web import (  # noqa: E402
    account,
    admin,
    admin_providers,
    auth,  # noqa: F401  (routes on `web` itself)
    builder,
    calendar,
    client_links,
    document_templates,
    documents,
    editor,
    firm,
    inbox,  # noqa: F401
    matters,
    notifications,
    runner,
    sandbox,
    security,
    steps,
    workflow_templates,
)

for _area in (
    workflow_templates.bp,
    builder.bp,
    matters.bp,
    runner.bp,
    steps.bp,
    editor.bp,
    sandbox.bp,
    document_templates.bp,
    documents.bp,
    admin.bp,
    account.bp,
    account.invitations,
    security.bp,
    notifications.bp,
    admin_providers.bp,
    client_links.bp,
    client_links.controls,
    calendar.bp,
    calendar.feeds,
    firm.bp,
):
    web.register_blueprint(_area)
