"""Background jobs for admins: the dead-letter queue and retrying a dead job."""

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.api import schemas as s
from webapp.api.blueprint import api
from webapp.api.paging import page_args
from webapp.api.serialize import job_out, respond
from webapp.api.spec import PAGE, endpoint, one_of
from webapp.services import dead_letters
from webapp.services.dead_letters import STATUSES

TAG = "Jobs"


@endpoint(
    api,
    "/jobs",
    "GET",
    summary="List background jobs, newest first (admins; status=DEAD: the dead letters)",
    tag=TAG,
    response=s.JobList,
    query={"status": one_of("only this status", *STATUSES), **PAGE},
)
def list_jobs() -> ResponseReturnValue:
    limit, offset = page_args()
    rows, total = dead_letters.list_jobs(current_user, request.args.get("status"), limit, offset)
    return respond(s.JobList(items=[job_out(j) for j in rows], total=total))


@endpoint(
    api,
    "/jobs/<int:job_id>/retry",
    "POST",
    summary="Retry a dead job (admins); a failed step goes back to READY",
    tag=TAG,
    response=s.JobOut,
)
def retry_job(job_id: int) -> ResponseReturnValue:
    return respond(job_out(dead_letters.retry_job(current_user, job_id)))
