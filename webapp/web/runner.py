"""The runner: one workflow instance's steps grouped by state, who may act on each and
why not, the action panels, the lifecycle controls (start, pause, resume, cancel), the
drift from its template, its change history and the audit trail."""

from collections.abc import Collection
from typing import Any

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from webapp.engine.eligibility import MatterAccess
from webapp.engine.errors import Invalid
from webapp.engine.roles import Role
from webapp.engine.states import StepState
from webapp.services import dead_letters, instances
from webapp.web.htmx import blocks, is_htmx, page_or_block, redirect_to
from webapp.web.reads import client_portal
from webapp.web.reads import migration as moves
from webapp.web.reads import runner as reads
from webapp.web.reads.common import instance_on_matter
from webapp.web.reads.drift import DRIFT_LATER, drift_state, drift_view
from webapp.web.reads.history import history_page
from webapp.web.wording import drift_lines, history_sentence

bp = Blueprint("runner", __name__, url_prefix="/matters/<int:matter_id>/workflows")
WORKABLE = (StepState.READY, StepState.IN_PROGRESS)
PAGE = "runner/runner.html"
PORTAL = "client_links/portal.html"
MOVE_PAGE = "runner/migration.html"
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


def definition_context(
    matter_id: int, instance_id: int, view_reads: bool, drift_later: bool = False
) -> dict[str, Any]:
    """The drift badge (`drift_later`: fetched once the page shows) and the first page of
    the change history (not for clients)."""
    if not view_reads:
        return {"drift": None, "history": None}
    history = history_page(current_user, matter_id, instance_id, HISTORY_PAGE_SIZE)
    drifted = DRIFT_LATER if drift_later else drift_state(current_user, instance_id)
    return {
        "drift": drifted,
        "history": history,
        "sentence": history_sentence,
    }


def _state_of(name: str) -> StepState:
    try:
        return StepState(name.upper().replace("-", "_"))
    except ValueError:
        abort(404)


@bp.get("/<int:instance_id>")
def show(matter_id: int, instance_id: int) -> Any:
    """The page; `?show=completed` (the "Show all" link without JavaScript) shows a
    collapsed group in full."""
    if current_user.role == Role.CLIENT:  # a portal, not the staff page
        portal = client_portal.portal_view(current_user, matter_id, instance_id)
        return render_template(PORTAL, view=portal)
    names = {name.upper().replace("-", "_") for name in request.args.getlist("show")}
    expanded = {state for state in StepState if state in names}  # unknown names: ignored
    view = reads.runner_view(current_user, matter_id, instance_id, expanded=expanded)
    confirming = request.args.get("confirm") == "cancel"  # the dialog without JavaScript
    return render_template(
        PAGE,
        view=view,
        oob=False,
        confirming=confirming,
        newer_version=moves.newer_version(current_user, view.instance, view.can_edit),
        **definition_context(matter_id, instance_id, view.reads_definition, drift_later=True),
    )


@bp.get("/<int:instance_id>/groups/<state>")
def group(matter_id: int, instance_id: int, state: str) -> Any:
    """A collapsed group in full ("Show all"), loaded when someone asks for it."""
    wanted = _state_of(state)
    if not is_htmx():
        return redirect_to(
            url_for(".show", matter_id=matter_id, instance_id=instance_id, show=state.lower())
            + f"#group-{wanted.lower().replace('_', '-')}"
        )
    view = reads.runner_view(
        current_user, matter_id, instance_id, states=[wanted], expanded=[wanted]
    )
    return render_block(PAGE, "step_group", view=view, group=view.group(wanted), oob=False)


@bp.get("/<int:instance_id>/audit")
def audit(matter_id: int, instance_id: int) -> Any:
    """Older entries of the audit trail ("Show older entries")."""
    before = request.args.get("before", type=int)
    if before is None or current_user.role == Role.CLIENT:  # the firm's record, not theirs
        abort(404)
    page = reads.audit_page(current_user, matter_id, instance_id, before)
    return render_block(
        PAGE,
        "audit_entries",
        entries=page.entries,
        older=page.older,
        matter_id=matter_id,
        instance_id=instance_id,
    )


def changed_regions(
    matter_id: int,
    instance_id: int,
    states: Collection[str] | None = None,
    notice: str | None = None,
    acted_step: int | None = None,
    access: MatterAccess | None = None,
) -> str:
    """After an action: the status badge and controls, the progress, the step groups of
    `states` (every group when None: a status change alters what every step offers), and
    the audit trail's newest rows — each swapped out of band into the page. Reads only
    what those regions show. The keyboard focus goes to the next step the person may
    work on, else back to the step they acted on (never the page body)."""
    view = reads.runner_view(current_user, matter_id, instance_id, states=states, access=access)
    groups = [
        ("step_group", {"group": group, "oob": True, "focus_id": _focus(view, acted_step)})
        for group in view.groups
    ]
    parts: list[tuple[str, dict[str, Any]]] = [
        ("instance_status", {"oob": True}),
        ("instance_controls", {"oob": True, "notice": notice}),
        ("instance_progress", {"oob": True}),
        *groups,
        ("audit_trail", {"oob": True}),
    ]
    return blocks(PAGE, parts, view=view, confirming=False)


def _focus(view: reads.RunnerView, acted_step: int | None) -> int | None:
    cards = [card for group in view.groups for card in group.cards]
    workable = (c for c in cards if c.may_act and c.step.action_state in WORKABLE)
    return next((c.step.id for c in workable), acted_step)


def card_with_error(matter_id: int, instance_id: int, step_id: int, message: str) -> str:
    """The step as it is now, with what went wrong written inside it."""
    view, card = reads.card_view(current_user, matter_id, instance_id, step_id)
    return blocks(PAGE, [("step_card", {"card": card, "card_error": message})], view=view)


def _back_to_runner(matter_id: int, instance_id: int, message: str) -> Any:
    flash(message, "success")
    return redirect_to(url_for(".show", matter_id=matter_id, instance_id=instance_id))


@bp.post("/<int:instance_id>/status")
def change_status(matter_id: int, instance_id: int) -> Any:
    """Start, pause, resume or cancel. `seen` is the status the page showed: a button
    pressed on a stale page is a conflict shown in place, not a surprise."""
    target = request.form.get("status", "")
    reads.require_seen_status(current_user, matter_id, instance_id, request.form.get("seen"))
    reason = request.form.get("reason", "").strip() or None
    instances.perform(current_user, instance_id, instances.Update(status=target, reason=reason))
    done = STATUS_DONE.get(target, "The workflow's status changed.")
    if not is_htmx():
        return _back_to_runner(matter_id, instance_id, done)
    return changed_regions(matter_id, instance_id, notice=done)


@bp.post("/<int:instance_id>/jobs/<int:job_id>/retry")
def retry_job(matter_id: int, instance_id: int, job_id: int) -> Any:
    """An admin runs a failed automated step again (its dead job gets fresh attempts)."""
    place = reads.dead_job_place(current_user, matter_id, instance_id, job_id)
    dead_letters.retry_job(current_user, job_id)
    if not is_htmx():
        return _back_to_runner(matter_id, instance_id, "The step will run again shortly.")
    # A retried step run goes from FAILED back to READY; the worker takes it from there.
    states = {place.state, StepState.READY} if place else None
    return changed_regions(matter_id, instance_id, states)


@bp.get("/<int:instance_id>/drift")
def drift(matter_id: int, instance_id: int) -> Any:
    """The drift summary, loaded when someone opens it (it compares every step), or with
    `?badge=1` only the badge the page shows once it has loaded."""
    if request.args.get("badge"):
        drifted = drift_state(current_user, instance_id, matter_id)
        compact = bool(request.args.get("compact"))  # a row of the matter's Workflows tab
        return render_template("partials/drift_badge.html", drifted=drifted, compact=compact)
    view = drift_view(current_user, matter_id, instance_id)
    return render_template("partials/drift.html", drift=view, lines=drift_lines(view))


@bp.get("/<int:instance_id>/history")
def history(matter_id: int, instance_id: int) -> Any:
    """The next page of the change history ("Show more")."""
    offset = max(request.args.get("offset", 0, type=int), 0)
    limit = min(max(request.args.get("limit", HISTORY_PAGE_SIZE, type=int), 1), 50)
    page = history_page(current_user, matter_id, instance_id, limit, offset)
    return render_template(
        "partials/history.html",
        history=page,
        sentence=history_sentence,
        matter_id=matter_id,
        instance_id=instance_id,
    )


@bp.get("/<int:instance_id>/migration")
def migration_preview(matter_id: int, instance_id: int) -> Any:
    """What moving to `toVersion` would change and what blocks it: the runner's panel
    loads it in place; without JavaScript it is a page (`confirm=1`: the dialog open)."""
    to_version = request.args.get("toVersion", type=int)
    if to_version is None or to_version < 1:
        abort(404)
    move = moves.move_view(current_user, matter_id, instance_id, to_version)
    confirming = request.args.get("confirm") == "1"
    return page_or_block(MOVE_PAGE, "move_preview", move=move, confirming=confirming)


@bp.post("/<int:instance_id>/migration")
def migrate(matter_id: int, instance_id: int) -> Any:
    to_version = request.form.get("toVersion", type=int)
    if to_version is None:
        raise Invalid("Choose the version to move this workflow to.")
    instance_on_matter(current_user, matter_id, instance_id)
    instances.perform(current_user, instance_id, instances.Migrate(to_version))
    message = f"The workflow now follows version {to_version} of its template; work done is kept."
    return _back_to_runner(matter_id, instance_id, message)
