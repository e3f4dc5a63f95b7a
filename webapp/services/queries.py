"""Read models for the browser pages: what each page shows, gathered in a few queries.
Read-only: nothing here writes or commits. The rules themselves live in the engine and
the services; these functions only ask them (`why_not`, `available_events`, …)."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from webapp.engine.actions import all_handlers, get_handler
from webapp.engine.eligibility import MatterAccess, resolve_eligible_actors, why_not
from webapp.engine.errors import Conflict, InvalidTransition, NotFound, UnknownActionType
from webapp.engine.permissions import acting_role
from webapp.engine.progress import prerequisites
from webapp.engine.roles import Role
from webapp.engine.states import (
    ACTIVE_STATUSES,
    DONE_STATES,
    OPEN_STATES,
    TERMINAL_STATUSES,
    InstanceStatus,
    StepState,
    check_manual_transition,
)
from webapp.extensions import db
from webapp.models import (
    Document,
    InstanceStep,
    Job,
    Matter,
    StepAttempt,
    TemplateStep,
    User,
    WorkflowEvent,
    WorkflowInstance,
    WorkflowTemplate,
)
from webapp.models.base import utcnow
from webapp.services import audit
from webapp.services.access import (
    actor_of,
    load_matter,
    matter_access,
    require_editor,
    require_staff,
)
from webapp.services.dead_letters import list_jobs, require_admin
from webapp.services.drift import DriftReport, drift_of
from webapp.services.instances import (
    HistoryEntry,
    instance_history,
    list_instances,
    load_instance,
    visible_steps,
)
from webapp.services.matters import (
    SUMMARY_PRIORITY,
    WorkflowSummary,
    list_matters,
    workflow_summaries,
)
from webapp.services.steps import available_acts
from webapp.services.steps.loading import step_view
from webapp.services.templates import PUBLISHED, get_template, list_templates

STAFF = (Role.ADMIN, Role.LAWYER)


# ---- people ----------------------------------------------------------------------------


def names_of(org_id: int, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.session.execute(
        select(User.id, User.name).where(User.org_id == org_id, User.id.in_(wanted))
    )
    return {user_id: name for user_id, name in rows}


def is_staff(user: User) -> bool:
    return user.role in STAFF


# ---- action types ----------------------------------------------------------------------


@dataclass(frozen=True)
class ActionType:
    type: str
    label: str
    description: str
    automated: bool


def action_types() -> list[ActionType]:
    """Every registered type, people's first; a new handler appears here by itself."""
    handlers = sorted(all_handlers(), key=lambda h: (h.automated, h.label))
    return [ActionType(h.type, h.label, h.description, h.automated) for h in handlers]


def is_automated(action_type: str) -> bool:
    try:
        return get_handler(action_type).automated
    except UnknownActionType:
        return False


def action_label(action_type: str) -> str:
    try:
        return get_handler(action_type).label
    except UnknownActionType:  # a type no longer registered still renders, by its name
        return action_type


# ---- templates list --------------------------------------------------------------------


@dataclass
class TemplateRow:
    template: WorkflowTemplate
    published_version: int | None
    step_count: int


def template_rows(user: User, q: str | None = None, status: str | None = None) -> list[TemplateRow]:
    """The latest version of each template, with the version currently published."""
    require_staff(user)
    latest, _total = list_templates(user, q, status or None, latest_only=True, limit=200)
    rows = db.session.execute(
        select(WorkflowTemplate.key, func.max(WorkflowTemplate.version))
        .where(WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.status == PUBLISHED)
        .group_by(WorkflowTemplate.key)
    )
    published = {key: version for key, version in rows}
    return [TemplateRow(t, published.get(t.key), len(t.steps)) for t in latest]


def template_row(user: User, template_id: int) -> TemplateRow:
    template = get_template(template_id, user)
    published = db.session.scalar(
        select(func.max(WorkflowTemplate.version)).where(
            WorkflowTemplate.org_id == user.org_id,
            WorkflowTemplate.key == template.key,
            WorkflowTemplate.status == PUBLISHED,
        )
    )
    return TemplateRow(template, published, len(template.steps))


# ---- builder ---------------------------------------------------------------------------


@dataclass
class PreviewItem:
    key: str
    title: str
    role: str
    action_label: str
    waits_on: list[str]
    condition: str | None
    required: bool


@dataclass
class Preview:
    stages: list[list[PreviewItem]]
    stuck: list[PreviewItem]  # never become ready: a cycle or an unknown prerequisite


def preview_layout(steps: Sequence[Any]) -> Preview:
    """How a new instance of these steps unfolds: stage 1 starts READY, each later stage
    waits on the one before (the engine's own prerequisite rule)."""
    titles = {s.key: s.title for s in steps}
    requires = {s.key: prerequisites(s, steps) for s in steps}
    stage_of: dict[str, int] = {}
    remaining = [s.key for s in steps]
    stage = 0
    while remaining:
        ready = [k for k in remaining if all(p in stage_of for p in requires[k])]
        if not ready:
            break
        for key in ready:
            stage_of[key] = stage
        remaining = [k for k in remaining if k not in stage_of]
        stage += 1

    def item(step: Any) -> PreviewItem:
        return PreviewItem(
            key=step.key,
            title=step.title,
            role=step.role_scope,
            action_label=action_label(step.action_type),
            waits_on=[titles.get(k, k) for k in requires[step.key]],
            condition=step.condition,
            required=step.required,
        )

    stages: list[list[PreviewItem]] = [[] for _ in range(stage)]
    for step in steps:
        if step.key in stage_of:
            stages[stage_of[step.key]].append(item(step))
    return Preview(stages, [item(s) for s in steps if s.key not in stage_of])


@dataclass
class BuilderView:
    template: WorkflowTemplate
    editable: bool
    versions: list[WorkflowTemplate]
    draft: WorkflowTemplate | None  # a newer draft of a published or archived version
    preview: Preview
    types: list[ActionType]
    roles: list[str] = field(default_factory=lambda: [r.value for r in Role])


def builder_view(user: User, template_id: int) -> BuilderView:
    require_staff(user)
    template = get_template(template_id, user)
    versions = list(
        db.session.scalars(
            select(WorkflowTemplate)
            .where(WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.key == template.key)
            .order_by(WorkflowTemplate.version.desc())
        )
    )
    draft = next((v for v in versions if v.status == "DRAFT" and v.id != template.id), None)
    return BuilderView(
        template=template,
        editable=template.status == "DRAFT",
        versions=versions,
        draft=draft,
        preview=preview_layout(template.steps),
        types=action_types(),
    )


def template_step(template: WorkflowTemplate, step_id: int) -> TemplateStep:
    for step in template.steps:
        if step.id == step_id:
            return step
    raise NotFound(f"Step {step_id} is not part of this template.")


# ---- matters ---------------------------------------------------------------------------


@dataclass
class MatterRow:
    matter: Matter
    workflows: WorkflowSummary  # instances by status, and the one status that sums them up

    @property
    def counts(self) -> list[tuple[str, int]]:
        """(status, how many) with the most pressing status first."""
        counts = self.workflows.counts
        return [(status, counts[status]) for status in SUMMARY_PRIORITY if counts.get(status)]


def matter_rows(user: User, q: str | None = None) -> list[MatterRow]:
    matters, _total = list_matters(user, q, limit=200)
    summaries = workflow_summaries([m.id for m in matters])
    return [MatterRow(m, summaries[m.id]) for m in matters]


def firm_lawyers(user: User) -> list[User]:
    """Who may be responsible for a new matter (its owner must be a lawyer)."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.org_id == user.org_id, User.role == Role.LAWYER, User.active)
            .order_by(User.name)
        )
    )


@dataclass
class InstanceRow:
    instance: WorkflowInstance
    done: int
    total: int
    current_title: str | None


def progress_of(instance: WorkflowInstance, user: User) -> tuple[int, int, str | None]:
    """Steps done of all steps, and the current step's title when this person may see it
    (a client sees "with the firm" for a step that is not theirs)."""
    steps = instance.steps
    done = sum(1 for s in steps if s.action_state in DONE_STATES)
    visible = {s.id for s in visible_steps(instance, user)}
    current = next((s for s in steps if s.order == instance.current_step), None)
    if current is None or instance.status in TERMINAL_STATUSES:
        return done, len(steps), None
    return done, len(steps), current.title if current.id in visible else "With the firm"


@dataclass
class MatterWorkflows:
    matter: Matter
    rows: list[InstanceRow]
    templates: list[WorkflowTemplate]  # published versions to start from
    can_start: bool
    can_edit: bool  # close, archive, reopen: admins and the matter's owner
    can_delete: bool  # admins only
    drift: dict[int, bool | None]  # instance id -> drifted (None: base gone); not for clients

    @property
    def status_actions(self) -> list[tuple[str, str]]:
        """(target status, button label) for what the matter can become next."""
        if not self.can_edit:
            return []
        return MATTER_ACTIONS.get(self.matter.status, [])


MATTER_ACTIONS = {
    "OPEN": [("CLOSED", "Close matter"), ("ARCHIVED", "Archive")],
    "CLOSED": [("OPEN", "Reopen"), ("ARCHIVED", "Archive")],
    "ARCHIVED": [("OPEN", "Reopen")],
}


def matter_workflows(user: User, matter_id: int) -> MatterWorkflows:
    matter = load_matter(matter_id, user)
    instances, _total = list_instances(user, matter_id=matter.id, limit=500)
    rows = [InstanceRow(i, *progress_of(i, user)) for i in instances]
    templates: list[WorkflowTemplate] = []
    if is_staff(user):
        templates = list(
            db.session.scalars(
                select(WorkflowTemplate)
                .where(WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.status == PUBLISHED)
                .order_by(WorkflowTemplate.name, WorkflowTemplate.version.desc())
            )
        )
    access = matter_access(matter)
    drift = {}
    if user.role != Role.CLIENT:
        drift = {i.id: drift_state(user, i.id) for i in instances}
    return MatterWorkflows(
        matter,
        rows,
        templates,
        can_start=is_staff(user) and matter.status == "OPEN",
        can_edit=access.can_edit(user.id, user.role),
        can_delete=user.role == Role.ADMIN,
        drift=drift,
    )


def require_seen_matter_status(user: User, matter_id: int, seen: str | None) -> Matter:
    """A close/archive/reopen button from a page that showed another status is stale."""
    matter = load_matter(matter_id, user)
    if seen and seen != matter.status:
        raise Conflict(
            f"Matter {matter.reference} is now {matter.status.lower()}; it changed after you "
            "opened the page.",
            {"seen": seen, "status": matter.status},
        )
    return matter


def drift_state(user: User, instance_id: int) -> bool | None:
    """Drifted or not; None when the base version no longer exists to compare with."""
    try:
        return drift_of(user, instance_id).drift.is_drifted
    except Conflict:
        return None


# ---- runner ----------------------------------------------------------------------------


def performs(events: Iterable[str]) -> bool:
    """Skipping and assigning are an admin's or owner's overrides, not the work itself:
    they do not make a step theirs."""
    return bool(set(events) - {"skip", "assign"})


GROUPS = (
    (StepState.READY, "Ready to start"),
    (StepState.IN_PROGRESS, "In progress"),
    (StepState.BLOCKED, "Blocked"),
    (StepState.FAILED, "Failed"),
    (StepState.PENDING, "Up next"),
    (StepState.COMPLETED, "Completed"),
    (StepState.SKIPPED, "Skipped"),
)
GROUP_LABELS = dict(GROUPS)


@dataclass
class StepCard:
    step: InstanceStep
    action_label: str
    events: list[str]
    actors: list[str]  # who may act, by name
    why_not: str | None  # why this viewer may not, when they may not
    waits_on: list[str]  # titles of unfinished prerequisites
    documents: list[Document]
    claimed_by: str | None
    overdue: bool
    automated: bool
    attempts: list[StepAttempt] = field(default_factory=list)
    child: WorkflowInstance | None = None  # the sub-workflow this step waits on
    retry_job_id: int | None = None  # an admin may retry this dead job of the step
    assignable: list[tuple[int, str]] = field(default_factory=list)  # (id, name) of eligible people

    @property
    def may_act(self) -> bool:
        return performs(self.events)


@dataclass
class StepGroup:
    state: str
    label: str
    cards: list[StepCard]

    @property
    def id(self) -> str:
        return f"group-{self.state.lower().replace('_', '-')}"


@dataclass
class AuditEntry:
    event: WorkflowEvent
    actor: str
    action: str  # "claimed", "completed", …
    step_title: str | None
    note: str | None

    @property
    def about_step(self) -> bool:
        return self.event.event_type.startswith("step.")


@dataclass(frozen=True)
class LifecycleAction:
    target: str  # the status asked for
    label: str  # "Start", "Pause", "Resume", "Cancel"


@dataclass(frozen=True)
class ParentLink:
    instance: WorkflowInstance
    step_title: str | None


@dataclass
class RunnerView:
    instance: WorkflowInstance
    matter: Matter
    groups: list[StepGroup]
    audit: list[AuditEntry]
    done: int
    total: int
    current_title: str | None
    can_edit: bool
    lifecycle: list[LifecycleAction] = field(default_factory=list)
    halted_by: AuditEntry | None = None  # who paused or cancelled it, and why
    parent: ParentLink | None = None
    reads_definition: bool = False  # drift and history: everyone but clients

    def group(self, state: str) -> StepGroup:
        return next(g for g in self.groups if g.state == state)

    @property
    def open_steps(self) -> int:
        return sum(len(g.cards) for g in self.groups if g.state in OPEN_STATES)


def lifecycle_actions(instance: WorkflowInstance) -> list[LifecycleAction]:
    """The status changes a person may ask for now, as the engine's machine allows them."""
    actions = []
    for target in (InstanceStatus.RUNNING, InstanceStatus.PAUSED, InstanceStatus.CANCELLED):
        try:
            check_manual_transition(instance.status, target)
        except InvalidTransition:
            continue
        actions.append(LifecycleAction(target.value, _lifecycle_label(instance.status, target)))
    return actions


def _lifecycle_label(current: str, target: InstanceStatus) -> str:
    if target == InstanceStatus.RUNNING:
        return "Start" if current == InstanceStatus.CREATED else "Resume"
    return "Pause" if target == InstanceStatus.PAUSED else "Cancel"


def require_seen_status(user: User, matter_id: int, instance_id: int, seen: str | None) -> None:
    """A status button pressed on a page that showed another status is stale: say so
    (409) rather than apply it to a workflow that has moved on."""
    instance = instance_on_matter(user, matter_id, instance_id)
    if seen and seen != instance.status:
        raise Conflict(
            f"This workflow is now {instance.status}; it changed after you opened the page.",
            {"seen": seen, "status": instance.status},
        )


def instance_on_matter(user: User, matter_id: int, instance_id: int) -> WorkflowInstance:
    instance = load_instance(instance_id, user)
    if instance.matter_id != matter_id:
        raise NotFound(f"Workflow instance {instance_id} was not found.")
    return instance


def _documents_by_step(step_ids: list[int]) -> dict[int, list[Document]]:
    found: dict[int, list[Document]] = defaultdict(list)
    if step_ids:
        for document in db.session.scalars(
            select(Document).where(Document.step_id.in_(step_ids)).order_by(Document.id)
        ):
            if document.step_id is not None:  # the query asks for these steps only
                found[document.step_id].append(document)
    return found


@dataclass
class CardExtras:
    """What automated steps add to their cards, gathered for the whole instance at once."""

    attempts: dict[int, list[StepAttempt]] = field(default_factory=dict)
    # Keyed by ids read from JSON (action data, job payloads), which may be missing.
    children: dict[int | None, WorkflowInstance] = field(default_factory=dict)
    dead_jobs: dict[int | None, int] = field(default_factory=dict)  # step id -> dead job id


def _card(
    step: InstanceStep,
    instance: WorkflowInstance,
    user: User,
    access: MatterAccess,
    names: dict[int, str],
    titles: dict[str, str],
    documents: list[Document],
    extras: CardExtras,
) -> StepCard:
    state = step.action_state
    is_open = state in OPEN_STATES
    automated = is_automated(step.action_type)
    role = acting_role(step_view(instance, step))
    actors = [] if automated else resolve_eligible_actors(role, step.assigned_to_id, access)
    reason = None
    if is_open and not automated:
        reason = why_not(
            role, step.assigned_to_id, step.claimed_by_id, actor_of(user), access, names
        )
    events = available_acts(step, instance, user, access)
    states = {s.key: s.action_state for s in instance.steps}
    unfinished = [
        k for k in prerequisites(step, instance.steps) if states.get(k) not in DONE_STATES
    ]
    # A client waiting on the firm's own steps is told so, not what those steps are.
    waits_on = list(dict.fromkeys(titles.get(k, "the firm's work") for k in unfinished))
    due = step.due_at
    retryable = state == StepState.FAILED and instance.status in ACTIVE_STATUSES
    return StepCard(
        step=step,
        action_label=action_label(step.action_type),
        events=events,
        actors=(["You"] if user.id in actors else [])
        + sorted(names.get(i, "a former member") for i in actors if i != user.id),
        why_not=reason,
        waits_on=waits_on if state == StepState.PENDING else [],
        documents=documents,
        claimed_by=names.get(step.claimed_by_id) if step.claimed_by_id else None,
        overdue=bool(due and is_open and due < utcnow()),
        automated=automated,
        attempts=extras.attempts.get(step.id, []),
        child=extras.children.get((step.action_data or {}).get("childInstanceId")),
        retry_job_id=extras.dead_jobs.get(step.id) if retryable else None,
        assignable=_assignable(role, access, names) if "assign" in events else [],
    )


def _assignable(role: str, access: MatterAccess, names: dict[int, str]) -> list[tuple[int, str]]:
    eligible = resolve_eligible_actors(role, None, access)
    return sorted(((i, names.get(i, "a former member")) for i in eligible), key=lambda p: p[1])


def card_extras(instance: WorkflowInstance, steps: list[InstanceStep], user: User) -> CardExtras:
    """Attempts, sub-workflows and (for admins) dead jobs: a query each, and none at all
    for an instance without automated steps."""
    extras = CardExtras()
    if not any(is_automated(s.action_type) for s in steps):
        return extras
    for attempt in db.session.scalars(
        select(StepAttempt)
        .where(StepAttempt.instance_id == instance.id)
        .order_by(StepAttempt.step_id, StepAttempt.number)
    ):
        extras.attempts.setdefault(attempt.step_id, []).append(attempt)
    child_ids = [c for s in steps if (c := (s.action_data or {}).get("childInstanceId"))]
    if child_ids:
        extras.children = {
            child.id: child
            for child in db.session.scalars(
                select(WorkflowInstance).where(
                    WorkflowInstance.org_id == instance.org_id, WorkflowInstance.id.in_(child_ids)
                )
            )
        }
    if user.role == Role.ADMIN:
        for job in db.session.scalars(
            select(Job).where(
                Job.instance_id == instance.id, Job.status == "DEAD", Job.kind == "step.run"
            )
        ):
            extras.dead_jobs[(job.payload or {}).get("stepId")] = job.id
    return extras


EVENT_WORDS = {
    "step.activate": "became ready",
    "step.bypass": "was skipped by its condition",
    "step.claim": "claimed",
    "step.start": "started",
    "step.complete": "completed",
    "step.fail": "marked as failed",
    "step.block": "blocked",
    "step.unblock": "unblocked",
    "step.skip": "skipped",
    "step.retry": "retried",
    "instance.created": "started this workflow",
    "instance.status_changed": "changed the workflow status",
}


def _note(event: WorkflowEvent) -> str | None:
    payload = event.payload or {}
    if "approved" in payload:
        decision = "Approved" if payload["approved"] else "Rejected"
        return f"{decision}: {payload['comment']}" if payload.get("comment") else decision
    if payload.get("reason"):
        return f"Reason: {payload['reason']}"
    if payload.get("files"):
        return "Files: " + ", ".join(f.get("name", "file") for f in payload["files"])
    if payload.get("paid"):
        return "Payment received"
    if payload.get("signed"):
        return "Signed"
    return None


def audit_entries(
    instance: WorkflowInstance, user: User, names: dict[int, str]
) -> list[AuditEntry]:
    """The instance's audit rows this person may see (services/audit), newest first."""
    titles = {s.id: s.title for s in instance.steps}
    rows, _total = audit.visible_events(instance, user, newest_first=True)
    return [
        AuditEntry(
            event=e,
            actor=names.get(e.actor_id, "A former member") if e.actor_id else "Matterflow",
            action=EVENT_WORDS.get(e.event_type, e.event_type.replace("_", " ")),
            step_title=titles.get(e.step_id, (e.payload or {}).get("key")) if e.step_id else None,
            note=_note(e),
        )
        for e in rows
    ]


def runner_view(user: User, matter_id: int, instance_id: int) -> RunnerView:
    instance = instance_on_matter(user, matter_id, instance_id)
    access = matter_access(instance.matter)
    visible = visible_steps(instance, user)
    event_actors = db.session.scalars(
        select(WorkflowEvent.actor_id).where(WorkflowEvent.instance_id == instance.id).distinct()
    )
    names = names_of(
        user.org_id,
        [
            *access.members,
            *access.admin_ids,
            access.owner_id,
            *event_actors,
            *(s.claimed_by_id for s in visible),
        ],
    )
    documents = _documents_by_step([s.id for s in visible])
    titles = {s.key: s.title for s in visible}
    extras = card_extras(instance, visible, user)
    cards = [
        _card(s, instance, user, access, names, titles, documents.get(s.id, []), extras)
        for s in visible
    ]
    groups = [
        StepGroup(state, label, [c for c in cards if c.step.action_state == state])
        for state, label in GROUPS
    ]
    done, total, current = progress_of(instance, user)
    audit = audit_entries(instance, user, names)
    can_edit = access.can_edit(user.id, user.role)
    return RunnerView(
        instance=instance,
        matter=instance.matter,
        groups=groups,
        audit=audit,
        done=done,
        total=total,
        current_title=current,
        can_edit=can_edit,
        lifecycle=lifecycle_actions(instance) if can_edit else [],
        halted_by=_halted_by(instance, audit),
        parent=_parent_link(instance, user),
        reads_definition=user.role != Role.CLIENT,
    )


def _halted_by(instance: WorkflowInstance, audit: list[AuditEntry]) -> AuditEntry | None:
    """The audit row that paused or cancelled the instance (newest first in `audit`)."""
    if instance.status not in (InstanceStatus.PAUSED, InstanceStatus.CANCELLED):
        return None
    return next(
        (
            entry
            for entry in audit
            if entry.event.event_type == "instance.status_changed"
            and entry.event.new_status == instance.status
        ),
        None,
    )


def _parent_link(instance: WorkflowInstance, user: User) -> ParentLink | None:
    if instance.parent_instance_id is None:
        return None
    try:
        parent = load_instance(instance.parent_instance_id, user)
    except NotFound:
        return None
    step = next((s for s in visible_steps(parent, user) if s.id == instance.parent_step_id), None)
    return ParentLink(parent, step.title if step else None)


def require_job_of(user: User, matter_id: int, instance_id: int, job_id: int) -> None:
    """A job retried from the runner must be this instance's (who may retry it is the
    service's question)."""
    instance = instance_on_matter(user, matter_id, instance_id)
    owner = db.session.scalar(
        select(Job.instance_id).where(Job.id == job_id, Job.org_id == user.org_id)
    )
    if owner != instance.id:
        raise NotFound(f"Job {job_id} was not found on this workflow.")


def step_of(user: User, step_id: int) -> tuple[WorkflowInstance, InstanceStep]:
    """A step the person may see (clients: only their own), with its instance."""
    missing = NotFound(f"Step {step_id} was not found.")
    instance_id = db.session.scalar(
        select(InstanceStep.instance_id).where(InstanceStep.id == step_id)
    )
    if instance_id is None:
        raise missing
    try:
        instance = load_instance(instance_id, user)
    except NotFound:  # another firm's or matter's step reads like no step at all
        raise missing from None
    for step in visible_steps(instance, user):
        if step.id == step_id:
            return instance, step
    raise NotFound(f"Step {step_id} was not found.")


# ---- instance editor -------------------------------------------------------------------


@dataclass
class EditorRow:
    step: InstanceStep
    action_label: str
    editable: bool  # finished steps keep what happened
    removable: bool


@dataclass
class EditorView:
    instance: WorkflowInstance
    matter: Matter
    rows: list[EditorRow]
    types: list[ActionType]
    roles: list[str] = field(default_factory=lambda: [r.value for r in Role])


def editor_view(user: User, matter_id: int, instance_id: int) -> EditorView:
    instance = load_instance(instance_id, user)
    if instance.matter_id != matter_id:
        raise NotFound(f"Workflow instance {instance_id} was not found.")
    require_editor(instance.matter, user)
    closed = {StepState.COMPLETED, StepState.SKIPPED, StepState.FAILED}
    fixed = {StepState.IN_PROGRESS, StepState.COMPLETED, StepState.BLOCKED}
    rows = [
        EditorRow(
            step=s,
            action_label=action_label(s.action_type),
            editable=s.action_state not in closed,
            removable=s.action_state not in fixed,
        )
        for s in instance.steps
    ]
    return EditorView(instance, instance.matter, rows, action_types())


# ---- inbox -----------------------------------------------------------------------------


@dataclass
class InboxItem:
    step: InstanceStep
    instance: WorkflowInstance
    matter: Matter
    action_label: str
    overdue: bool
    since: datetime


@dataclass
class Inbox:
    ready: list[InboxItem]
    in_progress: list[InboxItem]


def inbox(user: User) -> Inbox:
    """READY steps this person may act on across their matters, oldest first, and the
    steps they have already claimed."""
    rows = db.session.execute(
        select(InstanceStep, WorkflowInstance)
        .join(WorkflowInstance, InstanceStep.instance_id == WorkflowInstance.id)
        .where(
            WorkflowInstance.org_id == user.org_id,
            WorkflowInstance.status.in_([s.value for s in ACTIVE_STATUSES]),
            InstanceStep.action_state.in_([StepState.READY, StepState.IN_PROGRESS]),
        )
        .order_by(InstanceStep.updated_at, InstanceStep.id)
    ).all()
    access_of: dict[int, MatterAccess | None] = {}
    ready: list[InboxItem] = []
    claimed: list[InboxItem] = []
    now = utcnow()
    for step, instance in rows:
        if instance.matter_id not in access_of:
            found = matter_access(instance.matter)
            access_of[instance.matter_id] = found if found.can_see(user.id, user.role) else None
        access = access_of[instance.matter_id]
        if access is None:
            continue
        if not performs(available_acts(step, instance, user, access)):
            continue
        if step.action_state == StepState.IN_PROGRESS and step.claimed_by_id != user.id:
            continue
        item = InboxItem(
            step=step,
            instance=instance,
            matter=instance.matter,
            action_label=action_label(step.action_type),
            overdue=bool(step.due_at and step.due_at < now),
            since=step.updated_at,
        )
        (ready if step.action_state == StepState.READY else claimed).append(item)
    return Inbox(ready, claimed)


# ---- sandbox provider pages ------------------------------------------------------------


@dataclass
class SandboxSession:
    instance: WorkflowInstance
    step: InstanceStep
    matter: Matter
    done: bool


def sandbox_session(user: User, reference: str) -> SandboxSession:
    """The step a sandbox session or payment intent belongs to, if this person may see it."""
    step_id = db.session.scalar(
        select(InstanceStep.id).where(InstanceStep.external_ref == reference)
    )
    if step_id is None or not reference.startswith("sbx_"):
        raise NotFound(f"No sandbox session {reference!r}.")
    instance, step = step_of(user, step_id)
    return SandboxSession(instance, step, instance.matter, step.action_state in DONE_STATES)


# ---- drift and change history -----------------------------------------------------------


@dataclass
class DriftView:
    """Drift of an instance from its base version, with the titles a person reads."""

    report: DriftReport
    base_name: str
    titles: dict[str, str]  # step key -> title, now or (for removed steps) in the base

    @property
    def is_drifted(self) -> bool:
        return self.report.drift.is_drifted


def drift_view(user: User, matter_id: int, instance_id: int) -> DriftView:
    instance = instance_on_matter(user, matter_id, instance_id)
    report = drift_of(user, instance.id)
    base = db.session.get(WorkflowTemplate, report.base_workflow_id)
    titles = {s.key: s.title for s in base.steps} if base else {}
    titles.update({s.key: s.title for s in instance.steps})
    return DriftView(report, base.name if base else report.base_key, titles)


@dataclass
class HistoryPage:
    entries: list[HistoryEntry]  # newest first
    total: int
    offset: int
    titles: dict[str, str]  # step key -> title, for entries that name a step by key

    @property
    def next_offset(self) -> int | None:
        following = self.offset + len(self.entries)
        return following if following < self.total else None


def history_page(
    user: User, matter_id: int, instance_id: int, limit: int = 8, offset: int = 0
) -> HistoryPage:
    """The change history newest first. The service pages oldest first, so a page from
    the newest end is the matching slice counted from the other end."""
    instance = instance_on_matter(user, matter_id, instance_id)
    _none, total = instance_history(user, instance.id, limit=0)
    end = max(total - offset, 0)
    start = max(end - limit, 0)
    entries, total = instance_history(user, instance.id, limit=end - start, offset=start)
    titles = {s.key: s.title for s in instance.steps}
    return HistoryPage(list(reversed(entries)), total, offset, titles)


# ---- operations (admins) -----------------------------------------------------------------


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
