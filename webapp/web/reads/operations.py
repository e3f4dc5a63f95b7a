"""The outbox at a glance (admins)."""

from dataclasses import dataclass

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import InstanceStep, Job, Matter, User, WorkflowInstance
from webapp.services.dead_letters import list_jobs, require_admin


@dataclass
class DeadLetter:
    job: Job
    instance: WorkflowInstance | None
    step: InstanceStep | None
    matter: Matter | None


@dataclass
class Operations:
    counts: dict[str, int]  # PENDING, RUNNING, DONE, DEAD
    dead: list[DeadLetter]
    dead_total: int


def operations(user: User) -> Operations:
    """The outbox at a glance and its dead letters, each with the step it ran for."""
    require_admin(user)
    rows = db.session.execute(
        select(Job.status, func.count()).where(Job.org_id == user.org_id).group_by(Job.status)
    )
    counts = {"PENDING": 0, "RUNNING": 0, "DONE": 0, "DEAD": 0} | dict(rows.all())
    jobs, total = list_jobs(user, "DEAD", limit=100)
    instance_ids = {j.instance_id or (j.payload or {}).get("instanceId") for j in jobs} - {None}
    instances: dict[int | None, WorkflowInstance] = {
        i.id: i
        for i in db.session.scalars(
            select(WorkflowInstance).where(
                WorkflowInstance.org_id == user.org_id, WorkflowInstance.id.in_(instance_ids)
            )
        )
    }
    steps: dict[int | None, InstanceStep] = {s.id: s for i in instances.values() for s in i.steps}
    dead = []
    for job in jobs:
        payload = job.payload or {}
        instance = instances.get(job.instance_id or payload.get("instanceId"))
        step = steps.get(payload.get("stepId") or payload.get("parentStepId"))
        dead.append(DeadLetter(job, instance, step, instance.matter if instance else None))
    return Operations(counts, dead, total)
