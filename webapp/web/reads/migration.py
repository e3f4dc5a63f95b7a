"""What the migration pages show: one workflow's move to a newer template version, and a
template version's bulk migrations (the older versions' running workflows, the runs)."""

from dataclasses import dataclass, field

from webapp.engine.migration import Change
from webapp.engine.states import TERMINAL_STATUSES
from webapp.models import MigrationRun, MigrationRunItem, User, WorkflowInstance, WorkflowTemplate
from webapp.services import migration, templates
from webapp.web.reads.common import instance_on_matter

# Changes people read first: what the new version does, then what happens to their edits.
CHANGE_ORDER = (
    "added",
    "changed",
    "removed",
    "reordered",
    "edit_overwritten",
    "own_step_replaced",
    "edit_kept",
    "own_step_kept",
)


@dataclass(frozen=True)
class MoveView:
    instance: WorkflowInstance
    preview: migration.Preview
    may_migrate: bool

    @property
    def changes(self) -> list[Change]:
        rank = {kind: n for n, kind in enumerate(CHANGE_ORDER)}
        return sorted(self.preview.plan.changes, key=lambda c: rank.get(c.kind, len(rank)))


def newer_version(user: User, instance: WorkflowInstance, can_edit: bool) -> int | None:
    """The version the runner offers to move to: only to those who may move it."""
    if not can_edit or instance.status in TERMINAL_STATUSES:
        return None
    return migration.newest_version(instance)


def move_view(user: User, matter_id: int, instance_id: int, to_version: int) -> MoveView:
    instance = instance_on_matter(user, matter_id, instance_id)
    preview = migration.preview(user, instance.id, to_version)
    may = migration.may_migrate(user, instance) and instance.status not in TERMINAL_STATUSES
    return MoveView(instance, preview, may)


@dataclass(frozen=True)
class BulkView:
    template: WorkflowTemplate
    running: dict[int, int]  # older version -> running workflows
    runs: list[MigrationRun]
    from_version: int | None = None
    report: list[migration.ReportItem] | None = None  # a dry run's
    run: MigrationRun | None = None
    items: list[MigrationRunItem] = field(default_factory=list)

    @property
    def would_migrate(self) -> int:
        return sum(1 for item in self.report or [] if item.outcome == "WOULD_MIGRATE")


def bulk_view(
    user: User, template_id: int, from_version: int | None = None, dry_run: bool = False
) -> BulkView:
    template = templates.get_template(template_id, user)
    runs = migration.list_runs(user, template_id)
    running = migration.running_counts(user, template_id)
    report = (
        migration.dry_run(user, template_id, from_version) if dry_run and from_version else None
    )
    return BulkView(template, running, runs, from_version, report)


def run_view(user: User, template_id: int, run_id: int) -> BulkView:
    template = templates.get_template(template_id, user)
    run, items = migration.get_run(user, template_id, run_id)
    return BulkView(template, {}, [], run.from_version, None, run, items)
