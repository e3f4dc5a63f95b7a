"""The instance editor: an admin or the matter's owner tailors a running workflow — a
step's title, role and config; adding, removing and reordering steps. Anyone else sees
no controls and gets 403 from the services, with nothing changed."""

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from webapp.engine.errors import Invalid, Unprocessable
from webapp.models import InstanceStep
from webapp.services import instances
from webapp.services.templates import move_order
from webapp.web.forms import (
    StepForm,
    as_config_errors,
    field_errors,
    instance_changes,
    new_step_form,
    saved_step_form,
    step_body,
    step_ids,
    step_values,
    submitted_values,
)
from webapp.web.htmx import blocks
from webapp.web.reads import editor as reads
from webapp.web.reads.editor import EditorRow, EditorView
from webapp.web.runner import definition_context

bp = Blueprint(
    "editor", __name__, url_prefix="/matters/<int:matter_id>/workflows/<int:instance_id>/edit"
)
PAGE = "runner/editor.html"


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


def context(
    view: EditorView,
    selected: InstanceStep | None = None,
    inspector: StepForm | None = None,
    adding: StepForm | None = None,
    **extra: Any,
) -> dict[str, Any]:
    steps = view.instance.steps
    selected = selected or next((r.step for r in view.rows if r.editable), None)
    selected = selected or (steps[0] if steps else None)
    return {
        "view": view,
        "instance": view.instance,
        "matter": view.matter,
        "selected": selected,
        "inspector": inspector or saved_step_form(selected),
        "adding": adding or new_step_form(),
        "oob": False,
        **extra,
    }


def _view(matter_id: int, instance_id: int) -> EditorView:
    return reads.editor_view(current_user, matter_id, instance_id)


def _step(view: EditorView, step_id: int | None) -> InstanceStep | None:
    return instances.find_step(view.instance, step_id) if step_id is not None else None


def _row(view: EditorView, step_id: int) -> EditorRow:
    return next(r for r in view.rows if r.step.id == step_id)


def _edited(parts: list[tuple[str, dict[str, Any]]], ctx: dict[str, Any]) -> str:
    """A saved edit's answer: its own regions, plus the drift badge and the change history
    out of band — the edit may have moved the workflow away from its template."""
    instance = ctx["instance"]
    definition = definition_context(instance.matter_id, instance.id, True)
    more = [("drift", {"oob": True}), ("change_history", {"oob": True})]
    return blocks(PAGE, [*parts, *more], **ctx, **definition)


def _list_answer(view: EditorView, selected: InstanceStep | None = None, **extra: Any) -> str:
    ctx = context(view, selected, **extra)
    parts = [("step_list", {}), ("inspector", {"oob": True})]
    return _edited(parts, ctx)


@bp.get("")
def show(matter_id: int, instance_id: int) -> Any:
    view = _view(matter_id, instance_id)
    selected = _step(view, request.args.get("step", type=int))
    definition = definition_context(matter_id, instance_id, True)
    return render_template(PAGE, **context(view, selected), **definition)


@bp.get("/inspector")
def inspector(matter_id: int, instance_id: int) -> Any:
    view = _view(matter_id, instance_id)
    step = _step(view, request.args.get("step", type=int))
    return blocks(PAGE, [("inspector", {})], **context(view, step))


@bp.get("/add-form")
def add_step_form(matter_id: int, instance_id: int) -> Any:
    view = _view(matter_id, instance_id)
    adding = new_step_form(request.args.get("action_type"), request.args)
    return blocks(PAGE, [("add_step", {})], **context(view, adding=adding))


@bp.post("/steps")
def add_step(matter_id: int, instance_id: int) -> Any:
    form = request.form
    view = _view(matter_id, instance_id)
    try:
        command = instances.AddStep(step_body(form, retry=False))
        step_id = instances.perform(current_user, instance_id, command).step_id
    except (Unprocessable, Invalid) as error:
        errors = field_errors(error.details) or {"form": [error.message]}
        adding = new_step_form(form.get("action_type"), form, errors)
        return blocks(PAGE, [("add_step", {})], **context(view, adding=adding)), 422
    view = _view(matter_id, instance_id)
    parts = [("add_step", {}), ("step_list", {"oob": True}), ("inspector", {"oob": True})]
    return _edited(parts, context(view, _step(view, step_id), focus_step=step_id))


def _update(matter_id: int, instance_id: int, step_id: int, form: MultiDict) -> None:
    # The fields on the form are those of the step's own type (`config_type`); the
    # service validates them with that step's handler.
    body = step_body(form, form.get("config_type"), retry=False)
    command = instances.EditStep(step_id, instance_changes(body))
    instances.perform(current_user, instance_id, command)


@bp.post("/steps/<int:step_id>/row")
def update_row(matter_id: int, instance_id: int, step_id: int) -> Any:
    form = request.form
    try:
        _update(matter_id, instance_id, step_id, form)
    except (Unprocessable, Invalid) as error:
        view = _view(matter_id, instance_id)
        step = _step(view, step_id)
        values = submitted_values(form, step_values(step))
        errors = field_errors(error.details) or {"form": [error.message]}
        row = _row(view, step_id)
        extra = {"row": row, "row_values": values, "row_errors": errors}
        return blocks(PAGE, [("step_row", extra)], **context(view, step)), 422
    view = _view(matter_id, instance_id)
    step = _step(view, step_id)
    row = _row(view, step_id)
    parts: list[tuple[str, dict[str, Any]]] = [("step_row", {"row": row})]
    if form.get("inspector_step") == str(step_id):
        parts.append(("inspector", {"oob": True}))
    return _edited(parts, context(view, step))


@bp.post("/steps/<int:step_id>/settings")
def update_settings(matter_id: int, instance_id: int, step_id: int) -> Any:
    form = request.form
    try:
        _update(matter_id, instance_id, step_id, form)
    except (Unprocessable, Invalid) as error:
        view = _view(matter_id, instance_id)
        step = instances.find_step(view.instance, step_id)
        errors = as_config_errors(field_errors(error.details), step.action_type)
        inspector = saved_step_form(step, None, form, errors or {"form": [error.message]})
        return blocks(PAGE, [("inspector", {})], **context(view, step, inspector)), 422
    view = _view(matter_id, instance_id)
    step = instances.find_step(view.instance, step_id)
    row = _row(view, step_id)
    parts = [("inspector", {}), ("step_row", {"row": row, "oob": True})]
    return _edited(parts, context(view, step, saved=True))


@bp.post("/steps/<int:step_id>/remove")
def remove_step(matter_id: int, instance_id: int, step_id: int) -> Any:
    instances.perform(current_user, instance_id, instances.RemoveStep(step_id))
    return _list_answer(_view(matter_id, instance_id))


@bp.post("/steps/reorder")
def reorder_steps(matter_id: int, instance_id: int) -> Any:
    command = instances.ReorderSteps(step_ids(request.form))
    instances.perform(current_user, instance_id, command)
    return _reordered(matter_id, instance_id)


@bp.post("/steps/<int:step_id>/move")
def move_step(matter_id: int, instance_id: int, step_id: int) -> Any:
    offset = request.args.get("offset", type=int)
    if offset not in (-1, 1):
        abort(400, "Move a step by -1 (up) or 1 (down).")
    view = _view(matter_id, instance_id)
    order = move_order([s.id for s in view.instance.steps], step_id, offset)
    instances.perform(current_user, instance_id, instances.ReorderSteps(order))
    return _reordered(matter_id, instance_id)


def _reordered(matter_id: int, instance_id: int) -> str:
    view = _view(matter_id, instance_id)
    selected = _step(view, request.form.get("inspector_step", type=int))
    return _edited([("step_list", {})], context(view, selected))
