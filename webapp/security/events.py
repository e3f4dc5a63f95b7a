"""What the edge records as security events (webapp/services/security.py keeps them): a
token's use, and refused accesses — a 403, a 404 on something that exists (another firm's
matter, or one behind an ethical wall), a 401 for a token or a hook signature that names
something real. Each is written after the request, in its own transaction."""

import hashlib
from typing import Any

from flask import Flask, Response, g, request
from flask_login import current_user
from sqlalchemy import Select, select

from webapp.extensions import db
from webapp.models import (
    ApiToken,
    Document,
    InstanceStep,
    Job,
    Matter,
    SecurityEventKind,
    Trigger,
    User,
    WorkflowInstance,
    WorkflowTemplate,
)
from webapp.persistence import faults
from webapp.services import security

# The firm each id of a URL belongs to, by the name of its part of the path.
OWNER: dict[str, Any] = {
    "matter_id": lambda id_: select(Matter.org_id).where(Matter.id == id_),
    "instance_id": lambda id_: select(WorkflowInstance.org_id).where(WorkflowInstance.id == id_),
    "step_id": lambda id_: (
        select(WorkflowInstance.org_id)
        .join(InstanceStep, InstanceStep.instance_id == WorkflowInstance.id)
        .where(InstanceStep.id == id_)
    ),
    "template_id": lambda id_: select(WorkflowTemplate.org_id).where(WorkflowTemplate.id == id_),
    "trigger_id": lambda id_: select(Trigger.org_id).where(Trigger.id == id_),
    "document_id": lambda id_: select(Document.org_id).where(Document.id == id_),
    "job_id": lambda id_: select(Job.org_id).where(Job.id == id_),
}
REFUSED = {401, 403, 404}
REASONS = {403: "not allowed for this person", 404: "hidden from this person"}


def owner_of_path() -> int | None:
    """The firm of the first thing the URL names that exists, or None."""
    for name, value in (request.view_args or {}).items():
        query: Select[Any] | None = OWNER[name](value) if name in OWNER else None
        if query is not None and isinstance(value, int):
            org_id = db.session.scalar(query)
            if org_id is not None:
                return int(org_id)
    return None


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def token_holder(token: str) -> User | None:
    """The person a refused token belongs to (revoked, expired, or theirs deactivated)."""
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    return db.session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash)
    )


def record_refused_access(status: int) -> None:
    if status == 401:
        record_unauthenticated()
        return
    if not current_user.is_authenticated:
        return
    owner = owner_of_path()
    if status == 404 and owner is None:
        return  # nothing there: a mistyped address, not a refusal
    security.record_refusal(SecurityEventKind.ACCESS_REFUSED, status, REASONS[status], owner)


def record_unauthenticated() -> None:
    token = bearer_token()
    holder = token_holder(token) if token else None
    if holder is not None:
        detail = {"status": 401, "reason": "token refused", **security.where()}
        security.record_security_event(
            holder.org_id, SecurityEventKind.ACCESS_REFUSED, holder.id, detail
        )
        return
    if request.endpoint == "api.receive_hook":
        owner = owner_of_path()
        if owner is not None:
            detail = {"status": 401, "reason": "hook signature refused", **security.where()}
            security.record_security_event(owner, SecurityEventKind.ACCESS_REFUSED, None, detail)


def register_events(app: Flask) -> None:
    @app.after_request
    def record_security_events(response: Response) -> Response:
        if request.endpoint == "static":
            return response
        try:
            if response.status_code in REFUSED:
                record_refused_access(response.status_code)
            elif g.get("token_auth") and current_user.is_authenticated:
                token = bearer_token()
                if token:
                    security.record_token_use(current_user, token)
        except Exception as error:
            # The answer is ready (a change in it already saved): a database that drops
            # the connection now costs this note, never the answer (a 500 would say the
            # change failed). Found by tests/integration/test_chaos.py.
            if not faults.is_transient(error):
                raise
            app.logger.warning("The database failed while noting a security event: %s", error)
            faults.drop_session()
        return response

    @app.teardown_request
    def write_security_events(_error: BaseException | None) -> None:
        security.write_pending()
