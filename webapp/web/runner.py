"""The runner: one workflow instance's steps grouped by state, who may act on each and
why not, the action panels and the audit trail."""

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from webapp.services import queries
from webapp.services.queries import RunnerView, StepCard
from webapp.web.htmx import blocks

bp = Blueprint("runner", __name__, url_prefix="/matters/<int:matter_id>/workflows")
PAGE = "runner/runner.html"


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


@bp.get("/<int:instance_id>")
def show(matter_id: int, instance_id: int) -> Any:
    view = queries.runner_view(current_user, matter_id, instance_id)
    return render_template(PAGE, view=view, oob=False)


def card_of(view: RunnerView, step_id: int) -> StepCard | None:
    for group in view.groups:
        for card in group.cards:
            if card.step.id == step_id:
                return card
    return None


def changed_regions(matter_id: int, instance_id: int, before: dict[int, tuple[str, int]]) -> str:
    """After an action: the status badge, the progress, every step group whose steps
    changed, and the audit trail — each swapped out of band into the page."""
    view = queries.runner_view(current_user, matter_id, instance_id)
    after = queries.instance_fingerprint(view.instance)
    groups = [
        ("step_group", {"group": view.group(state), "oob": True})
        for state in queries.changed_groups(before, after)
    ]
    parts = [
        ("instance_status", {"oob": True}),
        ("instance_progress", {"oob": True}),
        *groups,
        ("audit_trail", {"oob": True}),
    ]
    return blocks(PAGE, parts, view=view)


def card_with_error(matter_id: int, instance_id: int, step_id: int, message: str) -> str:
    """The step as it is now, with what went wrong written inside it."""
    view = queries.runner_view(current_user, matter_id, instance_id)
    card = card_of(view, step_id)
    return blocks(PAGE, [("step_card", {"card": card, "card_error": message})], view=view)
