"""The jobs an admin sees, and retrying a dead letter: a dead job gets a fresh set of
attempts, and a failed step run goes back to READY."""

from sqlalchemy import func, select

from webapp.engine.errors import Conflict, Invalid, NotAllowed, NotFound
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Job, User
from webapp.persistence.transaction import transactional
from webapp.services.automation import reopen_failed_step
from webapp.services.outbox import DEAD, STATUSES, reschedule


def require_admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise NotAllowed("Only an admin can see and retry background jobs.")


def list_jobs(
    user: User, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Job], int]:
    require_admin(user)
    query = select(Job).where(Job.org_id == user.org_id)
    if status:
        if status.upper() not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}.")
        query = query.where(Job.status == status.upper())
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(Job.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


@transactional
def retry_job(user: User, job_id: int) -> Job:
    """A dead job gets a fresh set of attempts; a failed step run goes back to READY."""
    require_admin(user)
    job = db.session.get(Job, job_id)
    if job is None or job.org_id != user.org_id:
        raise NotFound(f"Job {job_id} was not found.")
    if job.status != DEAD:
        raise Conflict(f"Only a dead job can be retried; job {job_id} is {job.status}.")
    if job.kind == "step.run":
        reopen_failed_step(job, user)
    job.attempts = 0
    job.last_error = None
    reschedule(job, 0)
    return job
