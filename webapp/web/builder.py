"""The template builder: step rows, the config inspector generated from the handler's
JSON Schema, adding, removing and reordering steps, the preview, and publishing."""

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.engine.errors import Invalid, Unprocessable
from webapp.models import TemplateStep, WorkflowTemplate
from webapp.services import templates
from webapp.web.forms import (
    StepForm,
    field_errors,
    new_step_form,
    problems_by_step,
    saved_step_form,
    step_body,
    step_ids,
    step_values,
    submitted_values,
)
from webapp.web.htmx import blocks, page_or_block, redirect_to
from webapp.web.reads import builder as reads
from webapp.web.reads.builder import BuilderView

bp = Blueprint("builder", __name__, url_prefix="/workflows/templates/<int:template_id>")
PAGE = "workflow_templates/builder.html"


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


def context(
    view: BuilderView,
    selected: TemplateStep | None = None,
    inspector: StepForm | None = None,
    adding: StepForm | None = None,
    around: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The window of rows is the one the request names (`list_from`, or `all`), moved to
    show `around` (a step just moved or added); a request naming none opens it at the
    selected step."""
    steps = view.template.steps
    selected = selected or (steps[0] if steps else None)
    args = request.values
    start = args.get("list_from", type=int)
    if around is None and start is None and selected is not None:
        around = selected.id
    window = reads.step_window(steps, start, around, whole=args.get("all") == "1")
    return {
        "view": view,
        "template": view.template,
        "window": window,
        "preview": view.preview.cut(whole=args.get("preview") == "all"),
        "selected": selected,
        "inspector": inspector or saved_step_form(selected),
        "adding": adding or new_step_form(),
        "problems": {},
        "general": [],
        "oob": False,
        **extra,
    }


def _view(template_id: int) -> BuilderView:
    return reads.builder_view(current_user, template_id)


def _step(view: BuilderView, step_id: int | None) -> TemplateStep | None:
    if step_id is None:
        return None
    return reads.template_step(view.template, step_id)


def _new_draft(template: WorkflowTemplate, template_id: int) -> Any:
    """An edit sent to a published version made the next draft: show that one."""
    if template.id != template_id:
        return redirect_to(url_for(".show", template_id=template.id))
    return None


def _list_answer(view: BuilderView, selected: TemplateStep | None = None, **extra: Any) -> str:
    """The step list, with the preview and the inspector out of band."""
    ctx = context(view, selected, **extra)
    return blocks(
        PAGE, [("step_list", {}), ("preview", {"oob": True}), ("inspector", {"oob": True})], **ctx
    )


# ---- pages and fragments ---------------------------------------------------------------


@bp.get("")
def show(template_id: int) -> Any:
    view = _view(template_id)
    selected = _step(view, request.args.get("step", type=int))
    return render_template(PAGE, **context(view, selected))


@bp.get("/steps")
def step_list(template_id: int) -> Any:
    """Another window of a long template's rows, or all of them (`list_from`, `all`)."""
    return page_or_block(PAGE, "step_list", **context(_view(template_id)))


@bp.get("/preview")
def preview(template_id: int) -> Any:
    """The whole preview of a long template (`preview=all`)."""
    return page_or_block(PAGE, "preview", **context(_view(template_id)))


@bp.get("/inspector")
def inspector(template_id: int) -> Any:
    view = _view(template_id)
    step = _step(view, request.args.get("step", type=int))
    chosen = request.args.get("action_type") or None
    form = request.args if request.args.getlist("sections") else None
    ctx = context(view, step, saved_step_form(step, chosen, form))
    return blocks(PAGE, [("inspector", {})], **ctx)


@bp.get("/add-form")
def add_step_form(template_id: int) -> Any:
    view = _view(template_id)
    chosen = request.args.get("action_type") or None
    ctx = context(view, adding=new_step_form(chosen, request.args))
    return blocks(PAGE, [("add_step", {})], **ctx)


# ---- edits -----------------------------------------------------------------------------


@bp.post("/steps")
def add_step(template_id: int) -> Any:
    form = request.form
    try:
        added = templates.perform(current_user, template_id, templates.AddStep(step_body(form)))
        template, step_id = added.template, added.step_id
    except (Unprocessable, Invalid) as error:
        view = _view(template_id)
        errors = field_errors(error.details, len(view.template.steps)) or {"form": [error.message]}
        adding = new_step_form(form.get("action_type"), form, errors)
        return blocks(PAGE, [("add_step", {})], **context(view, adding=adding)), 422
    redirect = _new_draft(template, template_id)
    if redirect:
        return redirect
    view = _view(template_id)
    ctx = context(view, _step(view, step_id), around=step_id, focus_step=step_id)
    parts = [("add_step", {}), ("step_list", {"oob": True}), ("preview", {"oob": True})]
    return blocks(PAGE, [*parts, ("inspector", {"oob": True})], **ctx)


def _index_of(view: BuilderView, step_id: int) -> int:
    return [s.id for s in view.template.steps].index(step_id)


@bp.post("/steps/<int:step_id>/row")
def update_row(template_id: int, step_id: int) -> Any:
    """Title, role and required, saved as they are changed in the row."""
    form = request.form
    try:
        command = templates.EditStep(step_id, step_body(form))
        template = templates.perform(current_user, template_id, command).template
    except (Unprocessable, Invalid) as error:
        view = _view(template_id)
        errors = field_errors(error.details, _index_of(view, step_id)) or {"form": [error.message]}
        step = _step(view, step_id)
        values = submitted_values(form, step_values(step))
        ctx = context(view, step)
        return blocks(
            PAGE, [("step_row", {"step": step, "row_values": values, "row_errors": errors})], **ctx
        ), 422
    redirect = _new_draft(template, template_id)
    if redirect:
        return redirect
    view = _view(template_id)
    step = _step(view, step_id)
    parts: list[tuple[str, dict[str, Any]]] = [
        ("step_row", {"step": step}),
        ("preview", {"oob": True}),
    ]
    if form.get("inspector_step") == str(step_id):
        parts.append(("inspector", {"oob": True}))
    return blocks(PAGE, parts, **context(view, step))


@bp.post("/steps/<int:step_id>/settings")
def update_settings(template_id: int, step_id: int) -> Any:
    """Action type, its configuration and the advanced fields, from the inspector."""
    form = request.form
    try:
        command = templates.EditStep(step_id, step_body(form))
        template = templates.perform(current_user, template_id, command).template
    except (Unprocessable, Invalid) as error:
        view = _view(template_id)
        step = _step(view, step_id)
        errors = field_errors(error.details, _index_of(view, step_id)) or {"form": [error.message]}
        inspector = saved_step_form(step, form.get("action_type"), form, errors)
        return blocks(PAGE, [("inspector", {})], **context(view, step, inspector)), 422
    redirect = _new_draft(template, template_id)
    if redirect:
        return redirect
    view = _view(template_id)
    step = _step(view, step_id)
    ctx = context(view, step, saved=True)
    parts: list[tuple[str, dict[str, Any]]] = [
        ("inspector", {}),
        ("step_row", {"step": step, "oob": True}),
        ("preview", {"oob": True}),
    ]
    return blocks(PAGE, parts, **ctx)


@bp.post("/steps/<int:step_id>/remove")
def remove_step(template_id: int, step_id: int) -> Any:
    try:
        command = templates.RemoveStep(step_id)
        template = templates.perform(current_user, template_id, command).template
    except Unprocessable as error:
        view = _view(template_id)
        problems, general = problems_by_step(error.details, view.template.steps)
        first = next(iter(problems), None)
        answer = _list_answer(
            view, problems=problems, general=[error.message, *general], around=first
        )
        return answer, 422
    return _new_draft(template, template_id) or _list_answer(_view(template_id))


@bp.post("/steps/reorder")
def reorder_steps(template_id: int) -> Any:
    """Drag-and-drop: the list form posts its rows' step ids in their new order."""
    command = templates.ReorderSteps(step_ids(request.form))
    template = templates.perform(current_user, template_id, command).template
    return _new_draft(template, template_id) or _reordered(template_id)


@bp.post("/steps/<int:step_id>/move")
def move_step(template_id: int, step_id: int) -> Any:
    """The keyboard's way to reorder: one place up (-1) or down (+1)."""
    offset = request.args.get("offset", type=int)
    if offset not in (-1, 1):
        abort(400, "Move a step by -1 (up) or 1 (down).")
    command = templates.MoveStep(step_id, offset)
    template = templates.perform(current_user, template_id, command).template
    return _new_draft(template, template_id) or _reordered(template_id, around=step_id)


def _reordered(template_id: int, around: int | None = None) -> str:
    view = _view(template_id)
    selected = _step(view, request.form.get("inspector_step", type=int))
    ctx = context(view, selected, around=around)
    return blocks(PAGE, [("step_list", {}), ("preview", {"oob": True})], **ctx)


def publish_problems(template_id: int, error: Unprocessable) -> Any:
    """Publishing refused: every problem next to the step it concerns."""
    view = _view(template_id)
    problems, general = problems_by_step(error.details, view.template.steps)
    summary = f"{error.message} Fix what is marked below, then publish again."
    first = next(iter(problems), None)  # a long template's window opens at the first problem
    answer = _list_answer(view, problems=problems, general=[summary, *general], around=first)
    return answer, 422


@bp.post("/details")
def update_details(template_id: int) -> Any:
    form = request.form
    try:
        command = templates.Update(
            name=form.get("name", ""), description=form.get("description", "")
        )
        template = templates.perform(current_user, template_id, command).template
    except (Unprocessable, Invalid) as error:
        view = _view(template_id)
        errors = field_errors(error.details) or {"name": [error.message]}
        ctx = context(view, details_form=form, details_errors=errors, editing_details=True)
        return blocks(PAGE, [("builder_header", {})], **ctx), 422
    redirect = _new_draft(template, template_id)
    if redirect:
        return redirect
    return blocks(PAGE, [("builder_header", {})], **context(_view(template_id)))
