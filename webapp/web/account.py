"""/account: a person's own password and API tokens. /invitations/<token>: the page an
invitation link opens, where the person sets their password and is signed in. Each
form calls the same service as the API."""

from typing import Any

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.engine.errors import Conflict, Invalid, NotFound, Unprocessable
from webapp.services import auth, people
from webapp.web.auth import start_session
from webapp.web.htmx import redirect_to
from webapp.web.reads import people as reads

bp = Blueprint("account", __name__, url_prefix="/account")
invitations = Blueprint("invitations", __name__, url_prefix="/invitations")
PAGE = "account/account.html"
TOKENS = "account/tokens.html"
INVITATION = "account/invitation.html"


def form_errors(error: Invalid | Unprocessable | Conflict) -> dict[str, list[str]]:
    """Each refused field's message under its form name; the rest under "form"."""
    found: dict[str, list[str]] = {}
    for detail in error.details or []:
        if isinstance(detail, dict) and detail.get("field"):
            name = {"expiresInDays": "expires_in_days"}.get(detail["field"], detail["field"])
            found.setdefault(str(name), []).append(str(detail.get("message")))
    return found or {"form": [error.message]}


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


@bp.get("")
def page() -> Any:
    return render_template(PAGE, errors={})


@bp.post("/password")
def change_password() -> Any:
    form = request.form
    try:
        people.change_password(
            current_user, form.get("current", ""), form.get("password", ""), form.get("confirm")
        )
    except (Unprocessable, Invalid) as error:
        return render_template(PAGE, errors=form_errors(error)), 422
    flash("Your password is changed. Use the new one next time you sign in.", "success")
    return redirect_to(url_for(".page"))


# ---- your API tokens ------------------------------------------------------------------------


@bp.get("/tokens")
def tokens_page() -> Any:
    page = reads.tokens_page(current_user)
    page.confirming = request.args.get("confirm")
    return render_template(TOKENS, page=page)


@bp.post("/tokens")
def create_token() -> Any:
    name = request.form.get("name", "")
    days = request.form.get("expires_in_days", type=int)
    try:
        if days is None:
            raise Unprocessable(
                "Choose how many days the token works.",
                [{"field": "expiresInDays", "message": "Choose how many days the token works."}],
            )
        changed = auth.perform_token(current_user, None, auth.CreateToken(name, days))
    except (Unprocessable, Invalid) as error:
        page = reads.tokens_page(current_user)
        page.form = request.form.to_dict()
        page.errors = form_errors(error)
        return render_template(TOKENS, page=page), 422
    # The token is shown in this answer and never again (never through a redirect: it
    # would travel in the session cookie).
    page = reads.tokens_page(current_user)
    page.revealed = {"name": changed.token.name, "token": changed.secret}
    return render_template(TOKENS, page=page)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Any:
    changed = auth.perform_token(current_user, token_id, auth.RevokeToken())
    flash(f"The token “{changed.token.name}” is revoked: it no longer works.", "success")
    return redirect_to(url_for(".tokens_page"))


# ---- invitations (no sign-in: the link is the proof) ----------------------------------------


@invitations.get("/<token>")
def show(token: str) -> Any:
    try:
        invitation = people.invitation_for(token)
    except NotFound as error:
        return render_template(INVITATION, refused=error.message, errors={}), 404
    return render_template(INVITATION, person=invitation.user, token=token, errors={})


@invitations.post("/<token>")
def accept(token: str) -> Any:
    form = request.form
    try:
        user = people.accept_invitation(token, form.get("password", ""), form.get("confirm"))
    except NotFound as error:
        return render_template(INVITATION, refused=error.message, errors={}), 404
    except (Unprocessable, Invalid) as error:
        invitation = people.invitation_for(token)
        return render_template(
            INVITATION, person=invitation.user, token=token, errors=form_errors(error)
        ), 422
    start_session(user)
    flash(f"Welcome, {user.name}. Your password is set and you are signed in.", "success")
    return redirect_to(url_for("web.home"))
