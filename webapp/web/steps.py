"""Step actions from the runner. Each calls the same service as the API, so the browser
is role-checked and audited exactly like it; the answer swaps only what changed."""

from typing import Any

from flask import Blueprint, flash, request, url_for
from flask_login import current_user, login_required

from webapp.adapters.storage import incoming_files
from webapp.engine.errors import Invalid, Unprocessable
from webapp.services import providers, steps
from webapp.web.htmx import is_htmx, redirect_to
from webapp.web.reads import runner as reads
from webapp.web.runner import card_with_error, changed_regions

bp = Blueprint("steps", __name__, url_prefix="/steps/<int:step_id>")


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


def _act(step_id: int, command: steps.Command, done: str) -> Any:
    """Run one command through the step door; answer with the regions it changed, or
    the step card with the message inside it when the input was not acceptable (422)."""
    try:
        changed = steps.perform(current_user, step_id, command)
    except (Invalid, Unprocessable) as error:
        if not is_htmx():
            raise
        instance, _step = reads.step_of(current_user, step_id)
        return card_with_error(instance.matter_id, instance.id, step_id, error.message), 422
    if not is_htmx():
        flash(done, "success")
        return redirect_to(
            url_for("web.runner.show", matter_id=changed.matter_id, instance_id=changed.instance_id)
        )
    return changed_regions(
        changed.matter_id,
        changed.instance_id,
        regions_of(changed),
        acted_step=changed.step_id,
        access=changed.access,
    )


def regions_of(changed: steps.Changed) -> set[str] | None:
    """The step groups to show again: those the moved steps left and entered, and the
    acted step's own (a tick or an assignment changes its card without moving it). An
    instance that stopped or resumed accepting changes alters what every step offers:
    all groups."""
    if changed.status is not None and reads.status_regroups(*changed.status):
        return None
    acted = {changed.step_state} if changed.step_state else set()
    return set(changed.states) | acted


@bp.post("/claim")
def claim(step_id: int) -> Any:
    return _act(step_id, steps.Claim(), "You claimed the step.")


@bp.post("/start")
def start(step_id: int) -> Any:
    return _act(step_id, steps.Start(), "The step is in progress.")


@bp.post("/unblock")
def unblock(step_id: int) -> Any:
    return _act(step_id, steps.Unblock(), "The step is unblocked.")


@bp.post("/fail")
def fail(step_id: int) -> Any:
    reason = request.form.get("reason", "")
    return _act(step_id, steps.Fail(reason), "The step is marked as failed.")


@bp.post("/block")
def block(step_id: int) -> Any:
    reason = request.form.get("reason", "")
    return _act(step_id, steps.Block(reason), "The step is blocked.")


@bp.post("/skip")
def skip(step_id: int) -> Any:
    return _act(step_id, steps.Skip(request.form.get("reason")), "The step was skipped.")


@bp.post("/assign")
def assign(step_id: int) -> Any:
    chosen = request.form.get("user_id", "").strip()
    user_id = int(chosen) if chosen.isdigit() else None
    if chosen and user_id is None:
        raise Unprocessable("Choose a person from the list.")
    done = "The step is assigned." if user_id else "The step is open to everyone it is for."
    return _act(step_id, steps.Assign(user_id), done)


@bp.post("/complete")
def complete(step_id: int) -> Any:
    fields = {key: request.form.getlist(key) for key in request.form if key != "csrf_token"}
    return _act(step_id, steps.Complete(fields, from_form=True), "The step is completed.")


@bp.post("/tick")
def tick(step_id: int) -> Any:
    """One checklist item, saved as it is ticked; the last tick completes the step."""
    item = request.form.get("item", "")
    checked = item in request.form.getlist("checked")
    return _act(step_id, steps.Tick(item, checked), "Saved.")


@bp.post("/upload")
def upload(step_id: int) -> Any:
    return _act(step_id, steps.Upload(incoming_files(request.files)), "Your files were uploaded.")


@bp.post("/files")
def add_file(step_id: int) -> Any:
    """Another file for a document request already answered (the client's portal)."""
    files = incoming_files(request.files)
    return _act(step_id, steps.AddFile(files), "Your file was added to the request.")


@bp.post("/provider")
def provider(step_id: int) -> Any:
    """Signature and payment steps continue on the provider's page (the sandbox's, Stripe
    Checkout), or in the person's mailbox (Dropbox Sign emails the document). A provider
    that cannot start (its keys are missing) says so in the step's card."""
    try:
        page = providers.provider_page(current_user, step_id)
    except (Invalid, Unprocessable) as error:
        if not is_htmx():
            raise
        instance, _step = reads.step_of(current_user, step_id)
        return card_with_error(instance.matter_id, instance.id, step_id, error.message), 422
    if page is not None:
        return redirect_to(page)
    instance, _step = reads.step_of(current_user, step_id)
    flash("The document to sign is on its way to your email.", "success")
    return redirect_to(
        url_for("web.runner.show", matter_id=instance.matter_id, instance_id=instance.id)
    )
