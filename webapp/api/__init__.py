"""JSON API under /api/v1: parse a pydantic body, call one service, return a pydantic model."""

from typing import Any

from flask import Flask, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from webapp.api.blueprint import api
from webapp.api.errors import error_response, status_of
from webapp.engine.errors import DomainError
from webapp.extensions import csrf
from webapp.persistence import receipts

# Webhooks and hooks prove who sends them by their signature; the DSL's schema is
# public, so that editors can fetch it to check a document as it is written.
PUBLIC_ENDPOINTS = {
    "api.esign_webhook",
    "api.payment_webhook",
    "api.upload_webhook",
    "api.stripe_webhook",
    "api.dropbox_sign_webhook",
    "api.receive_hook",
    "api.dsl_schema",
}


@api.before_request
def require_authentication() -> Any:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return error_response(
            401, "unauthorized", "Sign in or send an API token (Authorization: Bearer …)."
        )
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if not getattr(g, "token_auth", False):
        # A browser session must prove the request comes from our pages.
        csrf.protect()
    return receipts.replay_or_expect(current_user)


@api.after_request
def keep_answer(response: Any) -> Any:
    return receipts.keep_answer(response)


@api.errorhandler(DomainError)
def domain_error(error: DomainError) -> Any:
    return error_response(status_of(error), error.code, error.message, error.details)


@api.errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> Any:
    from webapp.models import SecurityEventKind
    from webapp.services.security import record_refusal

    record_refusal(SecurityEventKind.CSRF_FAILED, 400, str(error.description))  # for the admins
    return error_response(
        400, "csrf_failed", "The CSRF token is missing or invalid (send X-CSRFToken)."
    )


def register_api(app: Flask) -> None:
    from webapp.api import (  # noqa: F401
        actions,
        audit,
        docs,
        document_templates,
        documents,
        instances,
        jobs,
        matters,
        notifications,
        providers,
        secrets,
        steps,
        templates,
        tokens,
        triggers,
        users,
        webhooks,
    )

    app.register_blueprint(api)
    app.register_blueprint(docs.docs)
