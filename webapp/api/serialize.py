"""ORM rows to API models. Clients get only the steps scoped to them; what else a
person may read (an instance's parameters, the team's addresses) is decided in
engine/permissions."""

from typing import Any

from flask import current_app
from sqlalchemy import select

from webapp.api import schemas as s
from webapp.engine import permissions
from webapp.engine.actions import automated_types
from webapp.engine.migration import Outcome
from webapp.extensions import db
from webapp.models import (
    Matter,
    MatterMember,
    MatterScreen,
    MigrationRun,
    MigrationRunItem,
    StepAttempt,
    User,
    WorkflowInstance,
    WorkflowTemplate,
)
from webapp.services.access import actor_of, members_access
from webapp.services.drift import DriftReport
from webapp.services.instances import visible_steps
from webapp.services.matters import WorkflowSummary, workflow_summaries
from webapp.services.migration import Preview, ReportItem


def respond(model: Any, status: int = 200) -> Any:
    # pydantic writes the JSON itself: no intermediate dict, no second encoder.
    return current_app.response_class(
        model.model_dump_json(by_alias=True), status=status, mimetype="application/json"
    )


def matter_out(
    matter: Matter, reader: User, workflows: WorkflowSummary | None = None
) -> s.MatterOut:
    workflows = workflows or workflow_summaries([matter.id])[matter.id]
    return s.MatterOut(
        id=matter.id,
        reference=matter.reference,
        title=matter.title,
        status=matter.status,
        owner_id=matter.owner_id,
        members=members_out(matter, reader, matter.members),
        created_at=matter.created_at,
        workflow_status=s.WorkflowStatusOut(
            summary=workflows.summary, total=workflows.total, counts=workflows.counts
        ),
    )


def members_out(matter: Matter, reader: User, members: list[MatterMember]) -> list[s.MemberOut]:
    addresses = permissions.may_read_team_addresses(actor_of(reader), members_access(matter))
    return [
        s.MemberOut(
            user_id=m.user_id,
            name=m.user.name,
            email=m.user.email if addresses else None,
            role=m.role,
        )
        for m in members
    ]


def screen_out(wall: MatterScreen) -> s.ScreenOut:
    return s.ScreenOut(
        user_id=wall.user_id,
        name=wall.user.name,
        reason=wall.reason,
        screened_by_id=wall.screened_by_id,
        screened_by_name=wall.screened_by.name if wall.screened_by else None,
        created_at=wall.created_at,
    )


def matters_out(matters: list[Matter], reader: User) -> list[s.MatterOut]:
    summaries = workflow_summaries([m.id for m in matters])
    return [matter_out(m, reader, summaries[m.id]) for m in matters]


def template_out(template: WorkflowTemplate) -> s.TemplateOut:
    return s.TemplateOut.model_validate(template)


def template_summary(
    template: WorkflowTemplate, step_count: int | None = None
) -> s.TemplateSummary:
    """`step_count` from `templates.step_counts` for a list; else the steps are read."""
    return s.TemplateSummary(
        id=template.id,
        key=template.key,
        version=template.version,
        status=template.status,
        checksum=template.checksum,
        name=template.name,
        description=template.description,
        step_count=len(template.steps) if step_count is None else step_count,
        updated_at=template.updated_at,
        effective_from=template.effective_from,
    )


def instance_out(instance: WorkflowInstance, user: User) -> s.InstanceOut:
    steps = [s.InstanceStepOut.model_validate(step) for step in visible_steps(instance, user)]
    _add_attempts(instance, steps)
    # Every caller loaded the instance through a door that checked the matter is the
    # person's to see: what is left of the read rule is the role's.
    parameters = permissions.reads_parameters(actor_of(user))
    return s.InstanceOut(
        id=instance.id,
        matter_id=instance.matter_id,
        template_id=instance.template_id,
        template_version=instance.template_version,
        title=instance.title,
        status=instance.status,
        current_step=instance.current_step,
        context=(instance.context or {}) if parameters else {},
        step_data=_visible_step_data(instance, user, steps),
        trigger_type=instance.trigger_type,
        trigger_data=(instance.trigger_data or {}) if parameters else {},
        created_at=instance.created_at,
        updated_at=instance.updated_at,
        steps=steps,
    )


def _add_attempts(instance: WorkflowInstance, steps: list[s.InstanceStepOut]) -> None:
    """Attempts exist only for automated steps: one query, and none without such steps."""
    automated = automated_types()
    if not any(step.action_type in automated for step in steps):
        return
    rows = db.session.scalars(
        select(StepAttempt)
        .where(StepAttempt.instance_id == instance.id)
        .order_by(StepAttempt.step_id, StepAttempt.number)
    )
    by_step: dict[int, list[s.AttemptOut]] = {}
    for row in rows:
        by_step.setdefault(row.step_id, []).append(s.AttemptOut.model_validate(row))
    for step in steps:
        step.attempts = by_step.get(step.id, [])


def job_out(job: Any) -> s.JobOut:
    return s.JobOut.model_validate(job)


def _visible_step_data(
    instance: WorkflowInstance, user: User, steps: list[s.InstanceStepOut]
) -> dict:
    data = instance.step_data or {}
    if user.role != "CLIENT":
        return data
    keys = {step.key for step in steps}
    return {k: v for k, v in data.items() if k in keys}


def instance_summary(instance: WorkflowInstance) -> s.InstanceSummary:
    return s.InstanceSummary.model_validate(instance)


def drift_out(report: DriftReport) -> s.DriftOut:
    comparison = report.drift
    return s.DriftOut(
        base_workflow_id=report.base_workflow_id,
        base_key=report.base_key,
        base_version=report.base_version,
        steps_added=comparison.steps_added,
        steps_removed=comparison.steps_removed,
        steps_reordered=comparison.steps_reordered,
        steps_modified=[
            s.StepDriftOut(key=change.key, fields=change.fields, changes=change.changes)
            for change in comparison.steps_modified
        ],
        metadata_changed=comparison.metadata_changed,
        metadata_changes=comparison.metadata_changes,
        is_drifted=comparison.is_drifted,
    )


def preview_out(preview: Preview) -> s.MigrationPreviewOut:
    plan = preview.plan
    return s.MigrationPreviewOut(
        instance_id=preview.instance_id,
        from_version=preview.from_version,
        to_version=preview.to_version,
        allowed=plan.allowed,
        blockers=[s.MigrationBlockerOut.model_validate(b) for b in plan.blockers],
        changes=[s.MigrationChangeOut.model_validate(c) for c in plan.changes],
    )


def dry_run_out(
    key: str, from_version: int, to_version: int, items: list[ReportItem]
) -> s.BulkMigrationOut:
    blocked = sum(1 for item in items if item.outcome == Outcome.BLOCKED)
    return s.BulkMigrationOut(
        id=None,
        dry_run=True,
        status="DRY_RUN",
        template_key=key,
        from_version=from_version,
        to_version=to_version,
        total=len(items),
        processed=len(items),
        migrated=0,
        blocked=blocked,
        failed=0,
        items=[s.MigrationReportItemOut.model_validate(item) for item in items],
    )


def run_out(run: MigrationRun, items: list[MigrationRunItem]) -> s.BulkMigrationOut:
    return s.BulkMigrationOut(
        id=run.id,
        dry_run=False,
        status=run.status,
        template_key=run.template_key,
        from_version=run.from_version,
        to_version=run.to_version,
        total=run.total,
        processed=run.processed,
        migrated=run.migrated,
        blocked=run.blocked,
        failed=run.failed,
        items=[s.MigrationReportItemOut.model_validate(item) for item in items],
    )
