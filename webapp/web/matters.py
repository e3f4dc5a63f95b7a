"""/matters: the person's matters, and each matter's Workflows tab."""

from typing import Any

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from webapp.engine.errors import Invalid, Unprocessable
from webapp.services import instances, queries
from webapp.web.htmx import page_or_block, redirect_to

bp = Blueprint("matters", __name__, url_prefix="/matters")
LIST = "matters/list.html"
WORKFLOWS = "matters/workflows.html"


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


@bp.get("")
def index() -> Any:
    q = request.args.get("q", "").strip()
    return page_or_block(LIST, "matter_rows", rows=queries.matter_rows(current_user, q), q=q)


@bp.get("/<int:matter_id>")
def show(matter_id: int) -> Any:
    return redirect(url_for(".workflows", matter_id=matter_id))


@bp.get("/<int:matter_id>/workflows")
def workflows(matter_id: int) -> Any:
    view = queries.matter_workflows(current_user, matter_id)
    return page_or_block(WORKFLOWS, "instance_rows", view=view, form={}, errors={})


@bp.post("/<int:matter_id>/workflows")
def start(matter_id: int) -> Any:
    """Instantiate a published template on this matter; it starts at once."""
    form = request.form
    template_id = form.get("template_id", type=int)
    try:
        if template_id is None:
            raise Unprocessable(
                "Choose a template.", [{"field": "template_id", "message": "Choose a template."}]
            )
        instance, _created = instances.instantiate(
            current_user, template_id, matter_id, title=form.get("title", "").strip() or None
        )
    except (Unprocessable, Invalid) as error:
        view = queries.matter_workflows(current_user, matter_id)
        errors = {"template_id": [error.message]}
        return render_block(WORKFLOWS, "start_form", view=view, form=form, errors=errors), 422
    return redirect_to(url_for("web.runner.show", matter_id=matter_id, instance_id=instance.id))
