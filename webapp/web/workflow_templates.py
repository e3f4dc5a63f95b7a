"""/workflows/templates: the list, creating a template, publishing and archiving, and
moving a version's running workflows to a newer one in bulk."""

from typing import Any

from flask import Blueprint, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from webapp.engine.errors import Invalid, Unprocessable
from webapp.services import migration, templates
from webapp.web import builder
from webapp.web.forms import field_errors, problems_by_step
from webapp.web.htmx import is_htmx, page_or_block, redirect_to
from webapp.web.reads import migration as moves
from webapp.web.reads import templates as reads

bp = Blueprint("templates", __name__, url_prefix="/workflows/templates")
PAGE = "workflow_templates/list.html"
BULK_PAGE = "workflow_templates/migrations.html"


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


@bp.get("")
def index() -> Any:
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "").strip().upper()
    page = reads.templates_page(current_user, q, status, request.args.get("after") or None)
    return page_or_block(
        PAGE,
        "template_rows",
        page=page,
        rows=page.rows,
        q=q,
        status_filter=status,
        form={},
        errors={},
    )


@bp.post("")
def create() -> Any:
    form = request.form
    try:
        template = templates.create_template(
            current_user, form.get("name", ""), [], description=form.get("description", "")
        )
    except (Unprocessable, Invalid) as error:
        return render_block(
            PAGE, "create_form", form=form, errors=field_errors(error.details), open=True
        ), 422
    return redirect_to(url_for("web.builder.show", template_id=template.id))


def _row(template_id: int, problems: list[str] | None = None, status: int = 200) -> Any:
    row = reads.template_row(current_user, template_id)
    return render_block(PAGE, "template_row", row=row, problems=problems or []), status


@bp.post("/<int:template_id>/publish")
def publish(template_id: int) -> Any:
    """From the list (answers with the row) or from the builder (`view=builder`)."""
    on_builder = request.form.get("view") == "builder"
    try:
        templates.perform(current_user, template_id, templates.Publish())
    except Unprocessable as error:
        if on_builder:
            return builder.publish_problems(template_id, error)
        template = templates.get_template(template_id, current_user)
        by_step, general = problems_by_step(error.details, template.steps)
        problems = general + [m for messages in by_step.values() for m in messages]
        return _row(template_id, [error.message, *problems], 422)
    if on_builder:
        return redirect_to(url_for("web.builder.show", template_id=template_id))
    return _row(template_id) if is_htmx() else redirect_to(url_for(".index"))


@bp.post("/<int:template_id>/archive")
def archive(template_id: int) -> Any:
    templates.perform(current_user, template_id, templates.Archive())
    return _row(template_id) if is_htmx() else redirect_to(url_for(".index"))


@bp.post("/<int:template_id>/new-version")
def new_version(template_id: int) -> Any:
    """A published version stays as it is; its edits go to the next draft version."""
    draft = templates.perform(current_user, template_id, templates.Update()).template
    return redirect_to(url_for("web.builder.show", template_id=draft.id))


@bp.get("/<int:template_id>/migrations")
def migrations(template_id: int) -> Any:
    """The older versions' running workflows; `from=N` adds the dry run's report for
    version N (nothing changes until a run is started)."""
    from_version = request.args.get("from", type=int)
    view = moves.bulk_view(current_user, template_id, from_version, dry_run=True)
    return page_or_block(BULK_PAGE, "bulk_report", view=view, confirming=False)


@bp.post("/<int:template_id>/migrations")
def start_migration(template_id: int) -> Any:
    from_version = request.form.get("fromVersion", type=int)
    if from_version is None:
        raise Invalid("Choose the version whose running workflows should move.")
    run = migration.start_run(current_user, template_id, from_version)
    return redirect_to(url_for(".migration_run", template_id=template_id, run_id=run.id))


@bp.get("/<int:template_id>/migrations/<int:run_id>")
def migration_run(template_id: int, run_id: int) -> Any:
    """A run's progress and report; the page polls its progress block until it is done."""
    view = moves.run_view(current_user, template_id, run_id)
    return page_or_block(BULK_PAGE, "run_progress", view=view, confirming=False)
