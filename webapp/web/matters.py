"""/matters: the person's matters (and opening a new one with its client and team), each
matter's Workflows and People tabs (the team, and the ethical walls that keep people away
from the matter), and the matter's lifecycle: close, archive, reopen and (admins) delete."""

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from webapp.engine.errors import Conflict, Invalid, NotFound, Unprocessable
from webapp.services import instances, matters
from webapp.web.htmx import blocks, is_htmx, page_or_block, redirect_to
from webapp.web.reads import matter_people, matter_workflows
from webapp.web.reads import matters as reads
from webapp.web.reads.common import is_staff

bp = Blueprint("matters", __name__, url_prefix="/matters")
LIST = "matters/list.html"
WORKFLOWS = "matters/workflows.html"
PEOPLE = "matters/people.html"
NEW_CLIENT = "new"  # the client select's choice of a new client
STATUS_DONE = {
    "OPEN": "The matter is open again.",
    "CLOSED": "The matter is closed. Its workflows are left as they are.",
    "ARCHIVED": "The matter is archived. Its workflows are left as they are.",
}


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


def _list_context(q: str = "", after: str | None = None, **extra: Any) -> dict[str, Any]:
    staff = is_staff(current_user)
    page = reads.matters_page(current_user, q, after)
    return {
        "page": page,
        "rows": page.rows,
        "q": q,
        "people": reads.firm_people(current_user) if staff else None,
        "form": {},
        "errors": {},
        "open": False,
        **extra,
    }


@bp.get("")
def index() -> Any:
    q = request.args.get("q", "").strip()
    after = request.args.get("after") or None
    return page_or_block(LIST, "matter_rows", **_list_context(q, after))


@bp.post("")
def create() -> Any:
    """Open a matter (lawyers and admins); its owner is a lawyer, by default the author."""
    form = request.form
    try:
        command = matters.Create(
            form.get("reference", ""),
            form.get("title", ""),
            form.get("owner_id", type=int),
            _client_of(form),
            tuple(matters.Seat(user_id, None) for user_id in form.getlist("team", type=int)),
        )
        matter = matters.perform(current_user, None, command).kept()
    except (Invalid, Unprocessable, Conflict, NotFound) as error:
        field = "reference" if "reference" in error.message else "form"
        status = 409 if isinstance(error, Conflict) else 422
        ctx = _list_context(form=form, errors={field: [error.message]}, open=True)
        return render_block(LIST, "create_form", **ctx), status
    flash(f"Matter {matter.reference} is open.", "success")
    return redirect_to(url_for(".workflows", matter_id=matter.id))


def _client_of(form: Any) -> int | matters.NewClient | None:
    """The client the form names: none, an existing contact's id, or a new one."""
    choice = form.get("client_id", "")
    if choice == NEW_CLIENT:
        return matters.NewClient(form.get("client_name", ""), form.get("client_email", ""))
    return int(choice) if choice.isdigit() else None


@bp.get("/<int:matter_id>")
def show(matter_id: int) -> Any:
    return redirect(url_for(".workflows", matter_id=matter_id))


def _workflows_context(matter_id: int, **extra: Any) -> dict[str, Any]:
    before = request.args.get("before", type=int)  # a page further down the list
    return {
        "view": matter_workflows.matter_workflows(current_user, matter_id, before),
        "form": {},
        "errors": {},
        "delete_errors": {},
        "confirming": request.args.get("confirm") == "delete",  # the dialog without JS
        "oob": False,
        **extra,
    }


@bp.get("/<int:matter_id>/workflows")
def workflows(matter_id: int) -> Any:
    return page_or_block(WORKFLOWS, "instance_rows", **_workflows_context(matter_id))


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
        errors = {"template_id": [error.message]}
        ctx = _workflows_context(matter_id, form=form, errors=errors)
        return render_block(WORKFLOWS, "start_form", **ctx), 422
    return redirect_to(url_for("web.runner.show", matter_id=matter_id, instance_id=instance.id))


@bp.post("/<int:matter_id>/status")
def change_status(matter_id: int) -> Any:
    """Close, archive or reopen. A button from a page that showed another status is a
    conflict shown in place (409)."""
    status = request.form.get("status", "")
    reads.require_seen_matter_status(current_user, matter_id, request.form.get("seen"))
    matters.perform(current_user, matter_id, matters.Update(status=status))
    done = STATUS_DONE.get(status, "The matter was updated.")
    if not is_htmx():
        flash(done, "success")
        return redirect_to(url_for(".workflows", matter_id=matter_id))
    ctx = _workflows_context(matter_id, notice=done)
    return blocks(WORKFLOWS, [("matter_header", {}), ("matter_side", {"oob": True})], **ctx)


@bp.post("/<int:matter_id>/delete")
def delete(matter_id: int) -> Any:
    """Admins only, after typing the matter's reference: the confirmation says what goes
    (the matter, its workflows, their documents) and what stays (the audit trail)."""
    ctx = _workflows_context(matter_id)
    matter = ctx["view"].matter
    typed = request.form.get("confirm_reference", "").strip()
    if ctx["view"].can_delete and typed != matter.reference:
        message = f"Type {matter.reference} exactly to confirm."
        ctx.update(delete_errors={"confirm_reference": [message]}, typed=typed)
        return render_block(WORKFLOWS, "delete_form", **ctx), 422
    gone = matters.perform(current_user, matter_id, matters.Delete()).gone()
    count = len(gone.instance_ids)
    flash(
        f"Matter {gone.reference} and its {count} workflow{'s' if count != 1 else ''} "
        "were deleted. The audit trail keeps their record.",
        "success",
    )
    return redirect_to(url_for(".index"))


# ---- the People tab: the team and the ethical walls -------------------------------------


def _people_context(matter_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "view": matter_people.matter_people(current_user, matter_id),
        "form": {},
        "errors": {},
        "confirming": request.args.get("confirm", type=int),  # the dialog without JS
        **extra,
    }


@bp.get("/<int:matter_id>/people")
def people(matter_id: int) -> Any:
    return page_or_block(PEOPLE, "team_card", **_people_context(matter_id))


def _people_refused(matter_id: int, block: str, field: str, error: Any) -> Any:
    """The page (or the form's block) again, with the refusal in plain words by the field."""
    status = 409 if isinstance(error, Conflict) else 422
    ctx = _people_context(matter_id, form=request.form, errors={field: [error.message]})
    return page_or_block(PEOPLE, block, **ctx), status


@bp.post("/<int:matter_id>/people")
def add_person(matter_id: int) -> Any:
    """Put a person of the firm on the team with their own role; they are emailed the
    steps already waiting for them."""
    try:
        user_id = request.form.get("user_id", type=int)
        if user_id is None:
            raise Unprocessable("Choose a person to add.")
        matters.perform(current_user, matter_id, matters.AddMember(user_id))
    except (Unprocessable, Invalid, Conflict, NotFound) as error:
        return _people_refused(matter_id, "add_form", "user_id", error)
    flash("Added to the team. They are emailed the steps already waiting for them.", "success")
    return redirect_to(url_for(".people", matter_id=matter_id))


@bp.post("/<int:matter_id>/people/<int:user_id>/remove")
def remove_person(matter_id: int, user_id: int) -> Any:
    """After the confirmation: their access ends now and their open steps are freed."""
    try:
        matters.perform(current_user, matter_id, matters.RemoveMember(user_id))
    except (Conflict, NotFound) as error:
        return _people_refused(matter_id, "team_card", "team", error)
    flash("Removed from the team. Their open steps on this matter are free again.", "success")
    return redirect_to(url_for(".people", matter_id=matter_id))


@bp.post("/<int:matter_id>/screens")
def screen_person(matter_id: int) -> Any:
    """An ethical wall (admins): the reason is required and kept with the screen."""
    try:
        user_id = request.form.get("user_id", type=int)
        if user_id is None:
            raise Unprocessable("Choose the person to screen.")
        command = matters.Screen(user_id, request.form.get("reason", ""))
        matters.perform(current_user, matter_id, command)
    except (Unprocessable, Invalid, Conflict, NotFound) as error:
        field = "reason" if "reason" in error.message else "screen_user_id"
        return _people_refused(matter_id, "screen_form", field, error)
    flash("Screened. From now on this matter does not exist for them.", "success")
    return redirect_to(url_for(".people", matter_id=matter_id))


@bp.post("/<int:matter_id>/screens/<int:user_id>/lift")
def lift_screen(matter_id: int, user_id: int) -> Any:
    matters.perform(current_user, matter_id, matters.LiftScreen(user_id))
    flash("The screen is lifted. Add them to the team again if they should work on it.", "success")
    return redirect_to(url_for(".people", matter_id=matter_id))
