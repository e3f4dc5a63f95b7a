"""Step actions from the runner. Each calls the same service as the API, so the browser
is role-checked and audited exactly like it; the answer swaps only what changed."""

from collections.abc import Callable
from functools import partial
from typing import Any

from flask import Blueprint, flash, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from webapp.engine.errors import Invalid, Unprocessable
from webapp.engine.states import StepState
from webapp.models import WorkflowInstance
from webapp.services import documents, providers, steps
from webapp.web.htmx import is_htmx, redirect_to
from webapp.web.reads.runner import StepPlace, status_regroups, step_place
from webapp.web.runner import card_with_error, changed_regions

bp = Blueprint("steps", __name__, url_prefix="/steps/<int:step_id>")


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


S = StepState
# Until the step door says what moved (`Changed.states`): the states an action can leave
# its step in and, when it can close the step, the states its successors move between
# (activated, bypassed by a condition, routed after a failure).
FOLLOWERS = frozenset({S.PENDING, S.READY, S.IN_PROGRESS, S.SKIPPED})
AFTER = {
    "claim": frozenset({S.IN_PROGRESS}),
    "start": frozenset({S.IN_PROGRESS}),
    "unblock": frozenset({S.IN_PROGRESS}),
    "block": frozenset({S.BLOCKED}),
    "fail": frozenset({S.FAILED}) | FOLLOWERS,
    "skip": frozenset({S.SKIPPED}) | FOLLOWERS,
    "complete": frozenset({S.COMPLETED}) | FOLLOWERS,
    "tick": frozenset({S.COMPLETED}) | FOLLOWERS,
    "upload": frozenset({S.COMPLETED}) | FOLLOWERS,
}


def moved_states(place: StepPlace, event: str, instance: WorkflowInstance) -> set[str] | None:
    """The groups an action changed: where its step was and can now be; None (every
    group) when the instance started or stopped being workable."""
    if status_regroups(place.status, instance.status):
        return None
    return {place.state, *AFTER[event]}


def _act(step_id: int, event: str, action: Callable[[], WorkflowInstance], done: str) -> Any:
    """Run one service call; answer with the changed regions, or the step card with the
    message inside it when the input was not acceptable (422)."""
    place = step_place(current_user, step_id)
    try:
        instance = action()
    except (Invalid, Unprocessable) as error:
        if not is_htmx():
            raise
        return card_with_error(place.matter_id, place.instance_id, step_id, error.message), 422
    if not is_htmx():
        flash(done, "success")
        return redirect_to(
            url_for("web.runner.show", matter_id=place.matter_id, instance_id=place.instance_id)
        )
    states = moved_states(place, event, instance)
    return changed_regions(place.matter_id, place.instance_id, states)


def _transition(step_id: int, event: str, payload: dict[str, Any] | None = None) -> Callable:
    return partial(steps.transition, current_user, step_id, event, payload)


@bp.post("/claim")
def claim(step_id: int) -> Any:
    return _act(step_id, "claim", _transition(step_id, "claim"), "You claimed the step.")


@bp.post("/start")
def start(step_id: int) -> Any:
    return _act(step_id, "start", _transition(step_id, "start"), "The step is in progress.")


@bp.post("/unblock")
def unblock(step_id: int) -> Any:
    return _act(step_id, "unblock", _transition(step_id, "unblock"), "The step is unblocked.")


@bp.post("/fail")
def fail(step_id: int) -> Any:
    reason = {"reason": request.form.get("reason", "")}
    return _act(
        step_id, "fail", _transition(step_id, "fail", reason), "The step is marked as failed."
    )


@bp.post("/block")
def block(step_id: int) -> Any:
    reason = {"reason": request.form.get("reason", "")}
    return _act(step_id, "block", _transition(step_id, "block", reason), "The step is blocked.")


@bp.post("/skip")
def skip(step_id: int) -> Any:
    reason = request.form.get("reason", "").strip()
    payload = {"reason": reason} if reason else {}
    return _act(step_id, "skip", _transition(step_id, "skip", payload), "The step was skipped.")


def completion_payload(form: MultiDict) -> dict[str, Any]:
    """A completion form as the handler's payload: repeated fields become lists and
    "true"/"false" become booleans (an approval's decision)."""
    payload: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        values = form.getlist(key)
        if len(values) > 1 or key.endswith("[]"):
            payload[key.removesuffix("[]")] = values
        else:
            payload[key] = {"true": True, "false": False}.get(values[0], values[0])
    return payload


@bp.post("/complete")
def complete(step_id: int) -> Any:
    payload = completion_payload(request.form)
    return _act(
        step_id, "complete", _transition(step_id, "complete", payload), "The step is completed."
    )


@bp.post("/tick")
def tick(step_id: int) -> Any:
    """One checklist item, saved as it is ticked; the last tick completes the step."""
    item = request.form.get("item", "")
    checked = item in request.form.getlist("checked")
    action = partial(steps.tick_checklist_item, current_user, step_id, item, checked)
    return _act(step_id, "tick", action, "Saved.")


@bp.post("/upload")
def upload(step_id: int) -> Any:
    incoming = [
        documents.IncomingFile(f.filename or "upload", f.mimetype or "", f.read())
        for f in request.files.getlist("file")
        if f.filename
    ]
    action = partial(documents.upload_to_step, current_user, step_id, incoming)
    return _act(step_id, "upload", action, "Your files were uploaded.")


@bp.post("/provider")
def provider(step_id: int) -> Any:
    """Signature and payment steps continue on the provider's page (the sandbox here)."""
    return redirect_to(providers.open_provider_page(current_user, step_id))
