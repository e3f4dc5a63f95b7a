"""The outbox at a glance (admins)."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from webapp.extensions import db
from webapp.models import InstanceStep, Job, Matter, User, WorkflowInstance
from webapp.services.dead_letters import list_jobs, require_admin
from webapp.services.outbox import STATUSES


@dataclass
class DeadLetter:
    job: Job
    instance: WorkflowInstance | None
    step: InstanceStep | None
    matter: Matter | None


COUNT_CAP = 10_000  # counted exactly up to this many; beyond, the page says "10,000+"


@dataclass
class Operations:
    counts: dict[str, int]  # PENDING, RUNNING, DONE, DEAD, each at most COUNT_CAP + 1
    dead: list[DeadLetter]
    dead_total: int

    def shown(self, status: str) -> str:
        count = self.counts[status]
        return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


def job_counts(org_id: int) -> dict[str, int]:
    """The firm's jobs by status in one statement, each count stopping after COUNT_CAP
    rows of its (firm, status) index range: a firm with a million done jobs is not walked
    to say so."""
    columns = [
        select(func.count())
        .select_from(
            select(Job.id)
            .where(Job.org_id == org_id, Job.status == status)
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        .scalar_subquery()
        .label(status)
        for status in STATUSES
    ]
    row = db.session.execute(select(*columns)).one()
    return dict(zip(STATUSES, row, strict=True))


def operations(user: User) -> Operations:
    """The outbox at a glance and its dead letters, each with the step it ran for."""
    require_admin(user)
    counts = job_counts(user.org_id)
    jobs, total = list_jobs(user, "DEAD", limit=100)
    instance_ids = {j.instance_id or (j.payload or {}).get("instanceId") for j in jobs} - {None}
    instances: dict[int | None, WorkflowInstance] = {
        i.id: i
        for i in db.session.scalars(
            select(WorkflowInstance)
            .options(lazyload(WorkflowInstance.steps), lazyload(WorkflowInstance.matter))
            .where(WorkflowInstance.org_id == user.org_id, WorkflowInstance.id.in_(instance_ids))
        )
    }
    matter_ids = {i.matter_id for i in instances.values()}
    matters = {
        m.id: m
        for m in db.session.scalars(
            select(Matter).options(lazyload(Matter.members)).where(Matter.id.in_(matter_ids))
        )
    }
    step_ids = {_step_id(job) for job in jobs} - {None}
    steps: dict[int | None, InstanceStep] = {
        s.id: s
        for s in db.session.scalars(
            select(InstanceStep).where(
                InstanceStep.id.in_(step_ids), InstanceStep.instance_id.in_(instances)
            )
        )
    }
    dead = []
    for job in jobs:
        payload = job.payload or {}
        instance = instances.get(job.instance_id or payload.get("instanceId"))
        step = steps.get(_step_id(job))
        matter = matters.get(instance.matter_id) if instance else None
        dead.append(DeadLetter(job, instance, step, matter))
    return Operations(counts, dead, total)


def _step_id(job: Job) -> int | None:
    payload = job.payload or {}
    return payload.get("stepId") or payload.get("parentStepId")
