"""Moving running instances to a newer template version: the preview of one instance,
and the bulk move of every running instance of a version (a dry run answered at once; a
real run worked off by the worker in batches, each instance its own transaction through
the instance door, progress and a report per instance kept on the run).

Safe to re-run: a run looks only at the instances still on the old version, a batch
skips the instances its run has already reported, and the next batch is one outbox job
with a key of its own, so a worker that dies halfway leaves nothing done twice."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import lazyload, selectinload

from webapp.engine import migration, permissions
from webapp.engine.errors import Conflict, DomainError, NotAllowed, NotFound
from webapp.engine.migration import Outcome, RunStatus
from webapp.engine.states import TERMINAL_STATUSES
from webapp.extensions import db
from webapp.models import MigrationRun, MigrationRunItem, User, WorkflowInstance, WorkflowTemplate
from webapp.models.base import utcnow
from webapp.persistence.journal import enqueue
from webapp.persistence.transaction import get_or_404, transactional
from webapp.services import instances, outbox
from webapp.services.access import actor_of, matter_access
from webapp.services.templates import PUBLISHED, get_template, in_effect
from webapp.services.versions import base_template, plan_for, target_template

MIGRATION_BATCH = "migration.batch"
BATCH_SIZE = 50


# ---- one instance ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    instance_id: int
    from_version: int
    to_version: int
    plan: migration.Plan

    @property
    def allowed(self) -> bool:
        return self.plan.allowed


def preview(user: User, instance_id: int, to_version: int, now: datetime | None = None) -> Preview:
    """What moving to `to_version` would change and what stands in the way; changes
    nothing. Read by the people who read the workflow's definition."""
    instance = instances.load_instance(instance_id, user)
    instances.require_definition_reader(user)
    return _preview_of(instance, to_version, now)


def _preview_of(instance: WorkflowInstance, to_version: int, now: datetime | None) -> Preview:
    pinned = base_template(instance)
    target = target_template(instance, to_version, now)
    return Preview(instance.id, pinned.version, target.version, plan_for(instance, pinned, target))


def newest_version(instance: WorkflowInstance, now: datetime | None = None) -> int | None:
    """The newest published version in effect above the one the instance pins, if any:
    what the runner offers to move to."""
    key = (instance.base_ref or {}).get("key")
    newest = db.session.scalar(
        select(func.max(WorkflowTemplate.version)).where(
            WorkflowTemplate.org_id == instance.org_id,
            WorkflowTemplate.key == key,
            WorkflowTemplate.status == PUBLISHED,
            WorkflowTemplate.version > instance.template_version,
            (WorkflowTemplate.effective_from.is_(None))
            | (WorkflowTemplate.effective_from <= (now or utcnow())),
        )
    )
    return newest


def may_migrate(user: User, instance: WorkflowInstance) -> bool:
    return matter_access(instance.matter).can_edit(user.id, user.role)


# ---- in bulk ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportItem:
    instance_id: int
    matter_id: int
    matter_reference: str
    instance_title: str
    outcome: str
    reasons: list[str]


def _require_bulk(user: User) -> None:
    if not permissions.may_migrate_in_bulk(actor_of(user)):
        raise NotAllowed("Only admins can move a template's running workflows in bulk.")


def _versions(
    user: User, template_id: int, from_version: int
) -> tuple[WorkflowTemplate, WorkflowTemplate]:
    """The version moved to (published, in effect) and the older one moved from."""
    _require_bulk(user)
    target = get_template(template_id, user)
    if target.status != PUBLISHED:
        raise Conflict(
            f"Version {target.version} is {target.status.lower()}; workflows can move only to "
            "a published version."
        )
    if not in_effect(target, utcnow()):
        raise Conflict(f"Version {target.version} is not in effect yet; move workflows to it then.")
    if from_version >= target.version:
        raise Conflict(
            f"fromVersion must be older than version {target.version}, the version moved to."
        )
    source = db.session.scalar(
        select(WorkflowTemplate).where(
            WorkflowTemplate.org_id == user.org_id,
            WorkflowTemplate.key == target.key,
            WorkflowTemplate.version == from_version,
        )
    )
    if source is None:
        raise NotFound(f"The template {target.key!r} has no version {from_version}.")
    return target, source


def _running_on(source: WorkflowTemplate) -> Any:
    return select(WorkflowInstance).where(
        WorkflowInstance.org_id == source.org_id,
        WorkflowInstance.template_id == source.id,
        WorkflowInstance.status.not_in(list(TERMINAL_STATUSES)),
    )


def running_counts(user: User, template_id: int) -> dict[int, int]:
    """How many running workflows each older version of this template has, by version."""
    target = get_template(template_id, user)
    rows = db.session.execute(
        select(WorkflowTemplate.version, func.count(WorkflowInstance.id))
        .join(WorkflowInstance, WorkflowInstance.template_id == WorkflowTemplate.id)
        .where(
            WorkflowTemplate.org_id == user.org_id,
            WorkflowTemplate.key == target.key,
            WorkflowTemplate.version < target.version,
            WorkflowInstance.status.not_in(list(TERMINAL_STATUSES)),
        )
        .group_by(WorkflowTemplate.version)
    )
    return {version: count for version, count in rows}


def _item(instance: WorkflowInstance, outcome: str, reasons: list[str]) -> ReportItem:
    return ReportItem(
        instance.id, instance.matter_id, instance.matter.reference, instance.title, outcome, reasons
    )


def dry_run(user: User, template_id: int, from_version: int) -> list[ReportItem]:
    """Every running workflow on `from_version` and whether it would move, read a page of
    instances (with their steps) at a time; nothing is changed."""
    target, source = _versions(user, template_id, from_version)
    report: list[ReportItem] = []
    after = 0
    while True:
        page = db.session.scalars(
            _running_on(source)
            .where(WorkflowInstance.id > after)
            .options(selectinload(WorkflowInstance.steps))
            .order_by(WorkflowInstance.id)
            .limit(200)
        ).all()
        for instance in page:
            plan = plan_for(instance, source, target)
            outcome = Outcome.WOULD_MIGRATE if plan.allowed else Outcome.BLOCKED
            report.append(_item(instance, outcome, [b.sentence for b in plan.blockers]))
        if len(page) < 200:
            return report
        after = page[-1].id


@transactional
def start_run(user: User, template_id: int, from_version: int) -> MigrationRun:
    """A real run: recorded now, worked off by the worker (one job per batch)."""
    target, source = _versions(user, template_id, from_version)
    _refuse_a_second_run(source)
    total = db.session.scalar(
        _running_on(source).with_only_columns(func.count(WorkflowInstance.id))
    )
    run = MigrationRun(
        org_id=user.org_id,
        template_id=target.id,
        template_key=target.key,
        from_version=source.version,
        to_version=target.version,
        status=RunStatus.QUEUED,
        created_by_id=user.id,
        total=total or 0,
        migrated=0,
        blocked=0,
        failed=0,
        cursor=0,
    )
    db.session.add(run)
    db.session.flush()
    _enqueue_batch(run)
    return run


def _refuse_a_second_run(source: WorkflowTemplate) -> None:
    """Two runs over one version at once would each find the other's moves and report
    them as refusals: the second waits for the first to end."""
    running = db.session.scalar(
        select(MigrationRun.id).where(
            MigrationRun.org_id == source.org_id,
            MigrationRun.template_key == source.key,
            MigrationRun.from_version == source.version,
            MigrationRun.status != RunStatus.DONE,
        )
    )
    if running is not None:
        raise Conflict(
            f"The workflows of version {source.version} are already being moved; start "
            "another run once that one is done.",
            {"runId": running},
        )


def _enqueue_batch(run: MigrationRun) -> None:
    enqueue(
        MIGRATION_BATCH,
        {"runId": run.id},
        org_id=run.org_id,
        dedupe_key=f"migration:{run.id}:{run.cursor}",
    )


def get_run(
    user: User, template_id: int, run_id: int
) -> tuple[MigrationRun, list[MigrationRunItem]]:
    _require_bulk(user)
    run = get_or_404(MigrationRun, run_id, user.org_id, "Migration run")
    if run.template_id != template_id:
        raise NotFound(f"Migration run {run_id} was not found.")
    items = db.session.scalars(
        select(MigrationRunItem)
        .where(MigrationRunItem.run_id == run.id)
        .order_by(MigrationRunItem.outcome, MigrationRunItem.id)
    ).all()
    return run, list(items)


def list_runs(user: User, template_id: int) -> list[MigrationRun]:
    _require_bulk(user)
    return list(
        db.session.scalars(
            select(MigrationRun)
            .where(MigrationRun.org_id == user.org_id, MigrationRun.template_id == template_id)
            .order_by(MigrationRun.id.desc())
            .limit(20)
        )
    )


# ---- the worker's side ---------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    run_id: int
    to_version: int
    actor_id: int | None
    instance_ids: list[int]


def run_migration_job(job: outbox.Claimed, worker_id: str) -> None:
    """One batch: each instance moved in its own transaction, its outcome recorded in
    the same one; then the next batch is queued (or the run is done) with the job settled."""
    batch = _claim_batch(job.id, worker_id)
    if batch is None:
        return
    for instance_id in batch.instance_ids:
        # Read again each time: every instance's transaction ends with a clean session.
        actor = db.session.get(User, batch.actor_id or 0)
        if actor is None or not actor.active:
            gone = "The person who started the run can no longer act."
            _record(batch.run_id, instance_id, Outcome.FAILED, [gone])
            continue
        _move_one(batch, actor, instance_id)
    _finish_batch(job.id, worker_id, batch)


@transactional
def _claim_batch(job_id: int, worker_id: str) -> Batch | None:
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return None
    job.attempts += 1
    run = db.session.get(MigrationRun, job.payload.get("runId", 0), with_for_update=True)
    if run is None or run.status == RunStatus.DONE:
        outbox.mark_done(job, "The run is over.")
        return None
    run.status = RunStatus.RUNNING
    source_id = db.session.scalar(
        select(WorkflowTemplate.id).where(
            WorkflowTemplate.org_id == run.org_id,
            WorkflowTemplate.key == run.template_key,
            WorkflowTemplate.version == run.from_version,
        )
    )
    reported = select(MigrationRunItem.instance_id).where(MigrationRunItem.run_id == run.id)
    ids = db.session.scalars(
        select(WorkflowInstance.id)
        .where(
            WorkflowInstance.org_id == run.org_id,
            WorkflowInstance.template_id == source_id,
            WorkflowInstance.status.not_in(list(TERMINAL_STATUSES)),
            WorkflowInstance.id > run.cursor,
            WorkflowInstance.id.not_in(reported),
        )
        .order_by(WorkflowInstance.id)
        .limit(BATCH_SIZE)
    ).all()
    return Batch(run.id, run.to_version, run.created_by_id, list(ids))


def _move_one(batch: Batch, actor: User, instance_id: int) -> None:
    try:
        _migrate_and_record(batch, actor, instance_id)
    except Conflict as error:
        details = error.details if isinstance(error.details, dict) else {}
        _record(
            batch.run_id, instance_id, Outcome.BLOCKED, details.get("blockers") or [error.message]
        )
    except DomainError as error:
        _record(batch.run_id, instance_id, Outcome.FAILED, [error.message])
    except Exception as error:  # one broken instance must not stop the run
        db.session.rollback()
        _record(batch.run_id, instance_id, Outcome.FAILED, [f"Unexpected error: {error}"])
    finally:
        db.session.expunge_all()


@transactional
def _migrate_and_record(batch: Batch, actor: User, instance_id: int) -> None:
    instances.perform(actor, instance_id, instances.Migrate(batch.to_version))
    _record(batch.run_id, instance_id, Outcome.MIGRATED, [])


_COUNTERS = {
    Outcome.MIGRATED: MigrationRun.migrated,
    Outcome.BLOCKED: MigrationRun.blocked,
    Outcome.FAILED: MigrationRun.failed,
}


@transactional
def _record(run_id: int, instance_id: int, outcome: Outcome, reasons: list[str]) -> None:
    instance = db.session.scalar(
        select(WorkflowInstance)
        .where(WorkflowInstance.id == instance_id)
        .options(lazyload(WorkflowInstance.steps))
    )
    if instance is None:
        return
    db.session.add(
        MigrationRunItem(
            run_id=run_id,
            instance_id=instance.id,
            matter_id=instance.matter_id,
            matter_reference=instance.matter.reference,
            instance_title=instance.title,
            outcome=outcome,
            reasons=reasons,
        )
    )
    column = _COUNTERS[outcome]
    db.session.execute(
        update(MigrationRun)
        .where(MigrationRun.id == run_id)
        .values({column.key: column + 1, "updated_at": utcnow()})
    )


@transactional
def _finish_batch(job_id: int, worker_id: str, batch: Batch) -> None:
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return
    run = db.session.get(MigrationRun, batch.run_id, with_for_update=True, populate_existing=True)
    if run is None:
        outbox.mark_done(job)
        return
    if batch.instance_ids:
        run.cursor = max(run.cursor, batch.instance_ids[-1])
    if len(batch.instance_ids) < BATCH_SIZE:
        run.status = RunStatus.DONE
        run.finished_at = utcnow()
    else:
        _enqueue_batch(run)
    outbox.mark_done(job)
