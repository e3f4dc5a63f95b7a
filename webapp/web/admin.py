"""/admin/jobs: the background work at a glance and its dead letters, each with a Retry
that calls the same service as `POST /api/v1/jobs/{id}/retry`. Admins only."""

from typing import Any

from flask import Blueprint, flash, url_for
from flask_login import current_user, login_required

from webapp.services import dead_letters
from webapp.web.htmx import blocks, is_htmx, page_or_block, redirect_to
from webapp.web.reads import operations as reads

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = "admin/jobs.html"


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


@bp.get("/jobs")
def jobs_page() -> Any:
    ops = reads.operations(current_user)
    return page_or_block(PAGE, "dead_letters", ops=ops, notice=None, oob=False)


@bp.post("/jobs/<int:job_id>/retry")
def retry_job(job_id: int) -> Any:
    job = dead_letters.retry_job(current_user, job_id)
    notice = f"Job #{job.id} is queued again with a fresh set of attempts."
    if not is_htmx():
        flash(notice, "success")
        return redirect_to(url_for(".jobs_page"))
    ops = reads.operations(current_user)
    parts = [("dead_letters", {}), ("job_summary", {"oob": True})]
    return blocks(PAGE, parts, ops=ops, notice=notice, oob=False)
