"""/admin/jobs: the background work at a glance and its dead letters, each with a Retry
that calls the same service as `POST /api/v1/jobs/{id}/retry`. /admin/triggers: the
firm's triggers, through the same door as `/api/v1/triggers`. /admin/users and
/admin/tokens: the firm's people and API tokens, through the doors of `/api/v1/users`
and `/api/v1/tokens`. /admin/secrets: the firm's secrets by name, through the door of
`/api/v1/secrets` (a value goes in, never out). Admins only."""

from typing import Any

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.engine.errors import Conflict, Invalid, Unprocessable
from webapp.services import auth, dead_letters, people, secrets, triggers
from webapp.web import account
from webapp.web.htmx import blocks, is_htmx, page_or_block, redirect_to
from webapp.web.reads import operations as reads
from webapp.web.reads import people as people_reads
from webapp.web.reads import triggers as trigger_reads

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = "admin/jobs.html"


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


@bp.get("/jobs")
def jobs_page() -> Any:
    ops = reads.operations(current_user)
    return page_or_block(PAGE, "dead_letters", ops=ops, notice=None, oob=False)


@bp.post("/jobs/<int:job_id>/retry")
def retry_job(job_id: int) -> Any:
    job = dead_letters.retry_job(current_user, job_id)
    notice = f"Job #{job.id} is queued again with a fresh set of attempts."
    if not is_htmx():
        flash(notice, "success")
        return redirect_to(url_for(".jobs_page"))
    ops = reads.operations(current_user)
    parts = [("dead_letters", {}), ("job_summary", {"oob": True})]
    return blocks(PAGE, parts, ops=ops, notice=notice, oob=False)


# ---- triggers ---------------------------------------------------------------------------

TRIGGERS = "admin/triggers.html"


@bp.get("/triggers")
def triggers_page() -> Any:
    page = trigger_reads.triggers_page(current_user)
    page.confirming = request.args.get("confirm")
    return render_template(TRIGGERS, page=page)


def definition_from(form: Any) -> triggers.Definition:
    """The create form as a definition; the door checks it as it checks the API's."""
    kind = form.get("kind", "")
    rule = form.get("matter_rule", "")
    matter: dict[str, Any] = {
        "payload": {"fromPayload": True},
        "create": {"create": True},
        "fixed": {"id": form.get("matter_id", type=int)},
        "filter": {"filter": form.get("matter_filter", "").strip()},
    }.get(rule, {})
    version = form.get("template_version", type=int)
    return triggers.Definition(
        name=form.get("name", ""),
        kind=kind,
        template_key=form.get("template_key", ""),
        template_version=version,
        condition=form.get("condition", "").strip() or None,
        matter=matter or None,
        schedule={
            "cron": form.get("cron", "").strip(),
            "timezone": form.get("timezone", "").strip() or "UTC",
            "missed": form.get("missed", "skip"),
        }
        if kind == "schedule"
        else None,
        event={"type": form.get("event_type", "")} if kind == "event" else None,
    )


@bp.post("/triggers")
def create_trigger() -> Any:
    try:
        changed = triggers.perform(
            current_user, None, triggers.Create(definition_from(request.form))
        )
    except (Unprocessable, Invalid) as error:
        page = trigger_reads.triggers_page(current_user)
        page.form = request.form.to_dict()
        page.errors = form_errors(error)
        return render_template(TRIGGERS, page=page), 422
    assert changed.trigger is not None
    if changed.secret is None:
        flash(f"Trigger “{changed.trigger.name}” is saved.", "success")
        return redirect_to(url_for(".triggers_page"))
    return _reveal(changed)


# The door names fields as the API does; the form's names differ in one place.
FORM_FIELDS = {"templateKey": "template_key"}


def form_errors(error: Invalid | Unprocessable) -> dict[str, list[str]]:
    """Each refused field's message, under the form's field names."""
    found: dict[str, list[str]] = {}
    for detail in error.details or []:
        if isinstance(detail, dict) and detail.get("field"):
            head = str(detail["field"]).split(".")[0]
            found.setdefault(FORM_FIELDS.get(head, head), []).append(str(detail.get("message")))
    return found or {"form": [error.message]}


def _reveal(changed: triggers.TriggerChanged) -> Any:
    """The page with the new secret shown this once (never through a redirect: the
    secret would travel in the session cookie)."""
    assert changed.trigger is not None
    page = trigger_reads.triggers_page(current_user)
    page.revealed = {
        "name": changed.trigger.name,
        "secret": changed.secret,
        "hook_url": url_for("api.receive_hook", trigger_id=changed.trigger.id, _external=True),
    }
    return render_template(TRIGGERS, page=page)


@bp.post("/triggers/<int:trigger_id>/enabled")
def set_enabled(trigger_id: int) -> Any:
    enabled = request.form.get("enabled") == "true"
    changed = triggers.perform(current_user, trigger_id, triggers.Update({"enabled": enabled}))
    assert changed.trigger is not None
    state = "enabled" if enabled else "disabled"
    flash(f"Trigger “{changed.trigger.name}” is {state}.", "success")
    return redirect_to(url_for(".triggers_page"))


@bp.post("/triggers/<int:trigger_id>/secret")
def rotate_secret(trigger_id: int) -> Any:
    return _reveal(triggers.perform(current_user, trigger_id, triggers.RotateSecret()))


@bp.post("/triggers/<int:trigger_id>/delete")
def delete_trigger(trigger_id: int) -> Any:
    triggers.perform(current_user, trigger_id, triggers.Delete())
    flash("The trigger is deleted; the workflows it started stay.", "success")
    return redirect_to(url_for(".triggers_page"))


# ---- people -------------------------------------------------------------------------------

USERS = "admin/users.html"


def _users_page(**extra: Any) -> Any:
    page = people_reads.users_page(current_user)
    for name, value in extra.items():
        setattr(page, name, value)
    return page


@bp.get("/users")
def users_page() -> Any:
    return render_template(USERS, page=_users_page(confirming=request.args.get("confirm")))


@bp.post("/users")
def invite_user() -> Any:
    people.require_manager(current_user)  # lawyers invite clients from a new matter, not here
    form = request.form
    command = people.Invite(form.get("email", ""), form.get("name", ""), form.get("role", ""))
    try:
        changed = people.perform(current_user, None, command)
    except (Unprocessable, Invalid, Conflict) as error:
        page = _users_page(form=form.to_dict(), errors=account.form_errors(error))
        return render_template(USERS, page=page), 422
    user = changed.user
    flash(
        f"{user.name} is invited: an email with their link is on its way to {user.email}.",
        "success",
    )
    return redirect_to(url_for(".users_page"))


@bp.post("/users/<int:user_id>")
def update_user(user_id: int) -> Any:
    """One form per change: a new role, or deactivate / reactivate."""
    role = request.form.get("role") or None
    active = {"true": True, "false": False}.get(request.form.get("active", ""))
    try:
        changed = people.perform(current_user, user_id, people.Update(role=role, active=active))
    except Conflict as error:
        flash(error.message, "error")
        return redirect_to(url_for(".users_page"))
    flash(_updated_note(changed), "success")
    return redirect_to(url_for(".users_page"))


def _updated_note(changed: people.PersonChanged) -> str:
    user, changes = changed.user, changed.changes
    if not changes:
        return f"Nothing changed for {user.name}."
    if "active" in changes:
        if user.active:
            return f"{user.name} is active again and can sign in."
        return f"{user.name} is deactivated: they are signed out and their tokens are revoked."
    return f"{user.name} is now {user.role.title()}."


@bp.post("/users/<int:user_id>/invitation")
def resend_invitation(user_id: int) -> Any:
    people.require_manager(current_user)
    try:
        changed = people.perform(current_user, user_id, people.ResendInvitation())
    except Conflict as error:
        flash(error.message, "error")
        return redirect_to(url_for(".users_page"))
    user = changed.user
    flash(
        f"A new invitation is on its way to {user.email}; the last link no longer works.", "success"
    )
    return redirect_to(url_for(".users_page"))


# ---- the firm's API tokens ----------------------------------------------------------------

TOKENS = "admin/tokens.html"


@bp.get("/tokens")
def tokens_page() -> Any:
    people.require_manager(current_user)
    page = people_reads.tokens_page(current_user, everyone=True)
    page.confirming = request.args.get("confirm")
    return render_template(TOKENS, page=page)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Any:
    people.require_manager(current_user)
    changed = auth.perform_token(current_user, token_id, auth.RevokeToken())
    token = changed.token
    flash(f"The token “{token.name}” of {token.user.name} is revoked.", "success")
    return redirect_to(url_for(".tokens_page"))


# ---- the firm's secrets -------------------------------------------------------------------

SECRETS = "admin/secrets.html"


def _secrets_page(**extra: Any) -> dict[str, Any]:
    page = {"secrets": secrets.list_secrets(current_user), "form": {}, "errors": {}}
    return {**page, "confirming": request.args.get("confirm"), **extra}


@bp.get("/secrets")
def secrets_page() -> Any:
    return render_template(SECRETS, page=_secrets_page())


@bp.post("/secrets")
def put_secret() -> Any:
    form = request.form
    try:
        changed = secrets.put_secret(current_user, form.get("name", ""), form.get("value", ""))
    except (Unprocessable, Conflict) as error:
        # The value is never sent back, not even into the form it came from.
        page = _secrets_page(form={"name": form.get("name", "")}, errors=account.form_errors(error))
        return render_template(SECRETS, page=page), 422
    name = changed.secret.name
    done = "is stored" if changed.created else "has its new value"
    flash(f"The secret {name} {done}. Configs use it as {{{{ secrets.{name} }}}}.", "success")
    return redirect_to(url_for(".secrets_page"))


@bp.post("/secrets/<name>/delete")
def delete_secret(name: str) -> Any:
    secrets.delete_secret(current_user, name)
    flash(f"The secret {name} is deleted; steps that use it fail until it is set again.", "success")
    return redirect_to(url_for(".secrets_page"))
