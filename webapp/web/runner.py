"""The runner: one workflow instance's steps grouped by state, who may act on each and
why not, the action panels, the lifecycle controls (start, pause, resume, cancel), the
drift from its template, its change history and the audit trail."""

from typing import Any

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.services import dead_letters, instances, queries
from webapp.services.queries import RunnerView, StepCard
from webapp.web.htmx import blocks, is_htmx, redirect_to
from webapp.web.wording import drift_lines, history_sentence

bp = Blueprint("runner", __name__, url_prefix="/matters/<int:matter_id>/workflows")
PAGE = "runner/runner.html"
HISTORY_PAGE_SIZE = 8
STATUS_DONE = {
    "Running": "The workflow is running.",
    "Paused": "The workflow is paused.",
    "Cancelled": "The workflow was cancelled.",
}


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


def definition_context(matter_id: int, instance_id: int, view_reads: bool) -> dict[str, Any]:
    """The drift badge and the first page of the change history (not for clients)."""
    if not view_reads:
        return {"drift": None, "history": None}
    history = queries.history_page(current_user, matter_id, instance_id, HISTORY_PAGE_SIZE)
    return {
        "drift": queries.drift_state(current_user, instance_id),
        "history": history,
        "sentence": history_sentence,
    }


@bp.get("/<int:instance_id>")
def show(matter_id: int, instance_id: int) -> Any:
    view = queries.runner_view(current_user, matter_id, instance_id)
    confirming = request.args.get("confirm") == "cancel"  # the dialog without JavaScript
    return render_template(
        PAGE,
        view=view,
        oob=False,
        confirming=confirming,
        **definition_context(matter_id, instance_id, view.reads_definition),
    )


def card_of(view: RunnerView, step_id: int) -> StepCard | None:
    for group in view.groups:
        for card in group.cards:
            if card.step.id == step_id:
                return card
    return None


def changed_regions(
    matter_id: int,
    instance_id: int,
    states: set[str] | None = None,
    notice: str | None = None,
) -> str:
    """After an action: the status badge and controls, the progress, every step group
    named in `states` (all of them when it is None: a lifecycle change alters what
    every step offers), and the audit trail — each swapped out of band into the page."""
    view = queries.runner_view(current_user, matter_id, instance_id)
    shown = [state for state, _label in queries.GROUPS if states is None or state in states]
    groups = [("step_group", {"group": view.group(state), "oob": True}) for state in shown]
    parts: list[tuple[str, dict[str, Any]]] = [
        ("instance_status", {"oob": True}),
        ("instance_controls", {"oob": True, "notice": notice}),
        ("instance_progress", {"oob": True}),
        *groups,
        ("audit_trail", {"oob": True}),
    ]
    return blocks(PAGE, parts, view=view, confirming=False)


def card_with_error(matter_id: int, instance_id: int, step_id: int, message: str) -> str:
    """The step as it is now, with what went wrong written inside it."""
    view = queries.runner_view(current_user, matter_id, instance_id)
    card = card_of(view, step_id)
    return blocks(PAGE, [("step_card", {"card": card, "card_error": message})], view=view)


def _back_to_runner(matter_id: int, instance_id: int, message: str) -> Any:
    flash(message, "success")
    return redirect_to(url_for(".show", matter_id=matter_id, instance_id=instance_id))


@bp.post("/<int:instance_id>/status")
def change_status(matter_id: int, instance_id: int) -> Any:
    """Start, pause, resume or cancel. `seen` is the status the page showed: a button
    pressed on a stale page is a conflict shown in place, not a surprise."""
    target = request.form.get("status", "")
    queries.require_seen_status(current_user, matter_id, instance_id, request.form.get("seen"))
    reason = request.form.get("reason", "").strip() or None
    instances.perform(current_user, instance_id, instances.Update(status=target, reason=reason))
    done = STATUS_DONE.get(target, "The workflow's status changed.")
    if not is_htmx():
        return _back_to_runner(matter_id, instance_id, done)
    return changed_regions(matter_id, instance_id, notice=done)


@bp.post("/<int:instance_id>/jobs/<int:job_id>/retry")
def retry_job(matter_id: int, instance_id: int, job_id: int) -> Any:
    """An admin runs a failed automated step again (its dead job gets fresh attempts)."""
    queries.require_job_of(current_user, matter_id, instance_id, job_id)
    dead_letters.retry_job(current_user, job_id)
    if not is_htmx():
        return _back_to_runner(matter_id, instance_id, "The step will run again shortly.")
    return changed_regions(matter_id, instance_id)


@bp.get("/<int:instance_id>/drift")
def drift(matter_id: int, instance_id: int) -> Any:
    """The drift summary, loaded when someone opens it (it compares every step)."""
    view = queries.drift_view(current_user, matter_id, instance_id)
    return render_template("partials/drift.html", drift=view, lines=drift_lines(view))


@bp.get("/<int:instance_id>/history")
def history(matter_id: int, instance_id: int) -> Any:
    """The next page of the change history ("Show more")."""
    offset = max(request.args.get("offset", 0, type=int), 0)
    limit = min(max(request.args.get("limit", HISTORY_PAGE_SIZE, type=int), 1), 50)
    page = queries.history_page(current_user, matter_id, instance_id, limit, offset)
    return render_template(
        "partials/history.html",
        history=page,
        sentence=history_sentence,
        matter_id=matter_id,
        instance_id=instance_id,
    )
