"""`/c/<token>`: a client's one-step link. No sign-in: the signed link is the proof, and it
opens one step and nothing else of the matter. The client's answer goes through the
step door as the client (services/client_links.py); a link that was used, expired or
was withdrawn shows a page saying so (410) and changes nothing.

`/steps/<id>/client-link/...`: the lawyer's controls in the runner (withdraw, send again)."""

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.adapters.storage import incoming_files
from webapp.engine.errors import Invalid, TooLarge, Unprocessable
from webapp.services import client_links, steps
from webapp.services.client_links import LinkRefused
from webapp.web.htmx import redirect_to
from webapp.web.reads import runner as runner_reads

bp = Blueprint("client_links", __name__, url_prefix="/c")
controls = Blueprint(
    "client_link_controls", __name__, url_prefix="/steps/<int:step_id>/client-link"
)
PAGE = "client_links/step.html"
SANDBOX = "client_links/provider.html"
PROVIDER_TYPES = ("SIGNATURE_CLIENT", "PAYMENT_CLIENT")


def _refused(error: LinkRefused) -> Any:
    return render_template(PAGE, refused=error.message, firm=error.firm), (
        410 if error.gone else 404
    )


@bp.get("/<token>")
def show(token: str) -> Any:
    try:
        page = client_links.open_link(token)
    except LinkRefused as error:
        return _refused(error)
    return render_template(PAGE, page=page)


def _command(step_type: str) -> steps.Command:
    """The client's answer as the runner sends it: files, or every item ticked."""
    if step_type == "REQUEST_DOC_CLIENT":
        return steps.Upload(incoming_files(request.files))
    if step_type == "CHECKLIST":
        return steps.Complete({"checkedItems": request.form.getlist("checked")})
    fields = {key: request.form.getlist(key) for key in request.form if key != "csrf_token"}
    return steps.Complete(fields, from_form=True)


@bp.post("/<token>")
def submit(token: str) -> Any:
    try:
        page = client_links.page_of(token)
        if page.step.action_type in PROVIDER_TYPES:
            url = client_links.start_provider(token)
            if url is None:  # the provider emailed the document to the client to sign
                notice = "We have emailed you the document to sign. Follow that email to sign it."
                return render_template(PAGE, page=client_links.page_of(token), notice=notice)
            if url.startswith("/sandbox/"):  # the built-in sandbox: its page under the link
                return redirect(url_for(".provider", token=token), code=303)
            return redirect(url, code=303)
        submitted = client_links.submit(token, _command(page.step.action_type))
    except LinkRefused as error:
        return _refused(error)
    except (Invalid, Unprocessable, TooLarge) as error:
        page = client_links.page_of(token)
        return render_template(PAGE, page=page, error=error.message), 422
    return render_template(PAGE, page=submitted.page, submitted=submitted)


@bp.get("/<token>/provider")
def provider(token: str) -> Any:
    """The sandbox provider's page, reached through the link (no sign-in)."""
    try:
        page, reference = client_links.provider_reference(token)
    except LinkRefused as error:
        return _refused(error)
    return render_template(SANDBOX, page=page, reference=reference)


@bp.post("/<token>/provider")
def confirm(token: str) -> Any:
    try:
        submitted = client_links.confirm_in_sandbox(token)
    except LinkRefused as error:
        return _refused(error)
    return render_template(PAGE, page=submitted.page, submitted=submitted)


# ---- the lawyer's controls ------------------------------------------------------------------


@controls.before_request
@login_required
def require_sign_in() -> None:
    return None


def _back(step_id: int, message: str) -> Any:
    place = runner_reads.step_place(current_user, step_id)
    flash(message, "success")
    return redirect_to(
        url_for("web.runner.show", matter_id=place.matter_id, instance_id=place.instance_id)
        + f"#step-{step_id}"
    )


@controls.post("/revoke")
def revoke(step_id: int) -> Any:
    withdrawn = client_links.revoke(current_user, step_id)
    message = (
        "The client's link is withdrawn: it no longer opens the step."
        if withdrawn
        else "No link to this step was still open."
    )
    return _back(step_id, message)


@controls.post("/resend")
def resend(step_id: int) -> Any:
    links = client_links.resend(current_user, step_id)
    names = ", ".join(link.user.name for link in links)
    return _back(step_id, f"A new link is on its way to {names}; the old one no longer works.")
