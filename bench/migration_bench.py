"""(g) Moving running instances to a newer template version: one 50-step instance through
the instance door (`services.instances.perform(actor, id, Migrate(2))`, in process), and
a bulk run of 500 instances (a third of them blocked) worked off by the worker, timed
from the run's start to its end; then the same run again, which must change nothing."""

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import select

from bench import seed
from bench.sqlcount import counting
from bench.stats import Summary, summarize
from webapp.engine.definition import StepDefinition
from webapp.extensions import db
from webapp.models import InstanceStep, MigrationRun, User
from webapp.services import instances, migration, steps, templates
from webapp.worker import drain

ONE_STEPS = 50
ONE_CALLS = 10  # instances moved, one call each, per run
BULK_COUNT = 500
BULK_STEPS = 10


@dataclass
class MigrationResult:
    database: str
    one_run_medians_ms: list[float] = field(default_factory=list)
    one_statements: int = 0
    bulk_seconds: float = float("nan")
    bulk_migrated: int = 0
    bulk_blocked: int = 0
    rerun_migrated: int = -1
    rerun_seconds: float = float("nan")

    @property
    def one(self) -> Summary:
        return summarize(self.one_run_medians_ms)

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "one_instance_steps": ONE_STEPS,
            "one_instance_ms": self.one.as_dict(),
            "one_instance_sql_statements": self.one_statements,
            "bulk_instances": BULK_COUNT,
            "bulk_seconds": self.bulk_seconds,
            "bulk_migrated": self.bulk_migrated,
            "bulk_blocked": self.bulk_blocked,
            "rerun_migrated": self.rerun_migrated,
            "rerun_seconds": self.rerun_seconds,
        }


def next_version(firm: seed.Firm, template_id: int, steps_count: int) -> int:
    """Version 2: step 2 gets a new title and a step is added at the end; returns its id."""
    lawyer = seed.lawyer_of(firm)
    chain = seed.checklist_chain(steps_count)
    chain[1] = chain[1].model_copy(update={"title": "Check 2, as the new rule says"})
    extra = StepDefinition(
        key="new_rule",
        title="Apply the new rule",
        action_type="CHECKLIST",
        action_config={"items": seed.CHECKLIST_ITEMS},
        role_scope="LAWYER",
    )
    draft = templates.perform(lawyer, template_id, templates.Update(steps=[*chain, extra]))
    templates.perform(lawyer, draft.template.id, templates.Publish())
    return draft.template.id


def _admin(firm: seed.Firm) -> User:
    return db.session.scalar(select(User).where(User.org_id == firm.org_id, User.role == "ADMIN"))


def bench_one(app: Flask, firm: seed.Firm, runs: int, result: MigrationResult) -> None:
    with app.app_context():
        template_id = seed.published_template(firm, "Move 50", seed.checklist_chain(ONE_STEPS))
        ids = seed.start_instances(firm, template_id, 1 + runs * ONE_CALLS)
        next_version(firm, template_id, ONE_STEPS)
        seed.refresh_statistics()
        db.session.remove()
    for run in range(-1, runs):  # run -1 warms the caches
        chunk = ids[:1] if run < 0 else ids[1 + run * ONE_CALLS : 1 + (run + 1) * ONE_CALLS]
        timings = []
        for instance_id in chunk:
            with app.app_context():
                lawyer = seed.lawyer_of(firm)
                with counting(db.engine) as log:
                    began = time.perf_counter()
                    instances.perform(lawyer, instance_id, instances.Migrate(2))
                    timings.append((time.perf_counter() - began) * 1000)
                result.one_statements = len(log)
                db.session.remove()
        if run >= 0:
            result.one_run_medians_ms.append(statistics.median(timings))


def bench_bulk(app: Flask, firm: seed.Firm, result: MigrationResult) -> None:
    with app.app_context():
        template_id = seed.published_template(firm, "Move 500", seed.checklist_chain(BULK_STEPS))
        ids = seed.start_instances(firm, template_id, BULK_COUNT)
        lawyer = seed.lawyer_of(firm)
        firsts = db.session.scalars(
            select(InstanceStep.id).where(
                InstanceStep.instance_id.in_(ids[::3]), InstanceStep.key == "check_1"
            )
        ).all()
        for step_id in firsts:  # step 2 becomes READY: the new version's change blocks them
            steps.perform(lawyer, step_id, steps.Complete(seed.COMPLETE_PAYLOAD))
        target_id = next_version(firm, template_id, BULK_STEPS)
        seed.refresh_statistics()
        drain("bench-setup", until_idle=True)  # the step notifications, before the clock
        db.session.remove()
    result.bulk_seconds, run = _timed_run(app, firm, target_id)
    result.bulk_migrated, result.bulk_blocked = run.migrated, run.blocked
    result.rerun_seconds, again = _timed_run(app, firm, target_id)
    result.rerun_migrated = again.migrated


def _timed_run(app: Flask, firm: seed.Firm, target_id: int) -> tuple[float, MigrationRun]:
    with app.app_context():
        began = time.perf_counter()
        run_id = migration.start_run(_admin(firm), target_id, 1).id
        drain("bench-migration", until_idle=True)
        elapsed = time.perf_counter() - began
        run = db.session.get(MigrationRun, run_id)
        assert run is not None and run.status == "DONE", "the run did not finish"
        db.session.expunge(run)
        db.session.remove()
    return elapsed, run


def bench_migration(app: Flask, firm: seed.Firm, label: str, runs: int) -> MigrationResult:
    result = MigrationResult(label)
    bench_one(app, firm, runs, result)
    bench_bulk(app, firm, result)
    return result
