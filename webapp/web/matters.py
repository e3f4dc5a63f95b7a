"""/matters: the person's matters (and opening a new one), each matter's Workflows tab,
and the matter's lifecycle: close, archive, reopen and (admins) delete."""

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from webapp.engine.errors import Conflict, Invalid, Unprocessable
from webapp.services import instances, matters
from webapp.web.htmx import blocks, is_htmx, page_or_block, redirect_to
from webapp.web.reads import matter_workflows
from webapp.web.reads import matters as reads
from webapp.web.reads.common import is_staff

bp = Blueprint("matters", __name__, url_prefix="/matters")
LIST = "matters/list.html"
WORKFLOWS = "matters/workflows.html"
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
        "lawyers": reads.firm_lawyers(current_user) if staff else [],
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
        matter = matters.create_matter(
            current_user,
            form.get("reference", ""),
            form.get("title", ""),
            form.get("owner_id", type=int),
        )
    except (Invalid, Unprocessable, Conflict) as error:
        field = "reference" if isinstance(error, Conflict) else "form"
        status = 409 if isinstance(error, Conflict) else 422
        ctx = _list_context(form=form, errors={field: [error.message]}, open=True)
        return render_block(LIST, "create_form", **ctx), status
    flash(f"Matter {matter.reference} is open.", "success")
    return redirect_to(url_for(".workflows", matter_id=matter.id))


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
