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
from webapp.engine.errors import NotFound, UnknownActionType
from webapp.engine.progress import prerequisites
from webapp.engine.roles import Role
from webapp.engine.states import (
    ACTIVE_STATUSES,
    DONE_STATES,
    OPEN_STATES,
    TERMINAL_STATUSES,
    StepState,
)
from webapp.extensions import db
from webapp.models import (
    Document,
    InstanceStep,
    Matter,
    TemplateStep,
    User,
    WorkflowEvent,
    WorkflowInstance,
    WorkflowTemplate,
)
from webapp.models.base import utcnow
from webapp.services.access import (
    actor_of,
    load_matter,
    matter_access,
    require_editor,
    require_staff,
)
from webapp.services.instances import list_instances, load_instance, visible_steps
from webapp.services.matters import list_matters
from webapp.services.steps import available_events
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
    workflows: int
    active: int


def matter_rows(user: User, q: str | None = None) -> list[MatterRow]:
    matters, _total = list_matters(user, q, limit=200)
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    if matters:
        rows = db.session.execute(
            select(WorkflowInstance.matter_id, WorkflowInstance.status).where(
                WorkflowInstance.matter_id.in_([m.id for m in matters])
            )
        )
        for matter_id, status in rows:
            counts[matter_id][0] += 1
            counts[matter_id][1] += status in ACTIVE_STATUSES
    return [MatterRow(m, counts[m.id][0], counts[m.id][1]) for m in matters]


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
    return MatterWorkflows(matter, rows, templates, is_staff(user) and matter.status == "OPEN")


# ---- runner ----------------------------------------------------------------------------


def performs(events: Iterable[str]) -> bool:
    """Skipping is an admin's override, not the work itself: it does not make a step theirs."""
    return bool(set(events) - {"skip"})


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

    def group(self, state: str) -> StepGroup:
        return next(g for g in self.groups if g.state == state)


def _documents_by_step(step_ids: list[int]) -> dict[int, list[Document]]:
    found: dict[int, list[Document]] = defaultdict(list)
    if step_ids:
        for document in db.session.scalars(
            select(Document).where(Document.step_id.in_(step_ids)).order_by(Document.id)
        ):
            found[document.step_id].append(document)
    return found


def _card(
    step: InstanceStep,
    instance: WorkflowInstance,
    user: User,
    access: MatterAccess,
    names: dict[int, str],
    titles: dict[str, str],
    documents: list[Document],
) -> StepCard:
    state = step.action_state
    is_open = state in OPEN_STATES
    actors = resolve_eligible_actors(step.role_scope, step.assigned_to_id, access)
    reason = None
    if is_open:
        reason = why_not(
            step.role_scope, step.assigned_to_id, step.claimed_by_id, actor_of(user), access, names
        )
    states = {s.key: s.action_state for s in instance.steps}
    unfinished = [
        k for k in prerequisites(step, instance.steps) if states.get(k) not in DONE_STATES
    ]
    # A client waiting on the firm's own steps is told so, not what those steps are.
    waits_on = list(dict.fromkeys(titles.get(k, "the firm's work") for k in unfinished))
    due = step.due_at
    return StepCard(
        step=step,
        action_label=action_label(step.action_type),
        # Only open steps have actions; asking for the others would cost a query each.
        events=available_events(step, instance, user) if is_open else [],
        actors=(["You"] if user.id in actors else [])
        + sorted(names.get(i, "a former member") for i in actors if i != user.id),
        why_not=reason,
        waits_on=waits_on if state == StepState.PENDING else [],
        documents=documents,
        claimed_by=names.get(step.claimed_by_id) if step.claimed_by_id else None,
        overdue=bool(due and is_open and due < utcnow()),
        automated=is_automated(step.action_type),
    )


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
    """The instance's audit rows, newest first; a client sees only rows about its steps."""
    titles = {s.id: s.title for s in instance.steps}
    visible = {s.id for s in visible_steps(instance, user)}
    rows = db.session.scalars(
        select(WorkflowEvent)
        .where(WorkflowEvent.instance_id == instance.id)
        .order_by(WorkflowEvent.id.desc())
    )
    return [
        AuditEntry(
            event=e,
            actor=names.get(e.actor_id, "A former member") if e.actor_id else "Matterflow",
            action=EVENT_WORDS.get(e.event_type, e.event_type.replace("_", " ")),
            step_title=titles.get(e.step_id, (e.payload or {}).get("key")) if e.step_id else None,
            note=_note(e),
        )
        for e in rows
        if e.step_id is None or e.step_id in visible or user.role != Role.CLIENT
    ]


def runner_view(user: User, matter_id: int, instance_id: int) -> RunnerView:
    instance = load_instance(instance_id, user)
    if instance.matter_id != matter_id:
        raise NotFound(f"Workflow instance {instance_id} was not found.")
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
    cards = [
        _card(s, instance, user, access, names, titles, documents.get(s.id, [])) for s in visible
    ]
    groups = [
        StepGroup(state, label, [c for c in cards if c.step.action_state == state])
        for state, label in GROUPS
    ]
    done, total, current = progress_of(instance, user)
    return RunnerView(
        instance=instance,
        matter=instance.matter,
        groups=groups,
        audit=audit_entries(instance, user, names),
        done=done,
        total=total,
        current_title=current,
        can_edit=access.can_edit(user.id, user.role),
    )


def step_fingerprint(user: User, step_id: int) -> tuple[int, dict[int, tuple[str, int]]]:
    """The instance of a step and each step's (state, version) — compared after an action
    to swap only the groups that changed."""
    instance_id = db.session.scalar(
        select(InstanceStep.instance_id).where(InstanceStep.id == step_id)
    )
    if instance_id is None:
        raise NotFound(f"Step {step_id} was not found.")
    return instance_id, instance_fingerprint(load_instance(instance_id, user))


def instance_fingerprint(instance: WorkflowInstance) -> dict[int, tuple[str, int]]:
    return {s.id: (s.action_state, s.version_id) for s in instance.steps}


def changed_groups(
    before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]
) -> list[str]:
    states = set()
    for step_id in before.keys() | after.keys():
        old, new = before.get(step_id), after.get(step_id)
        if old != new:
            states.update(s[0] for s in (old, new) if s)
    return [state for state, _label in GROUPS if state in states]


def step_of(user: User, step_id: int) -> tuple[WorkflowInstance, InstanceStep]:
    """A step the person may see (clients: only their own), with its instance."""
    instance_id, _states = step_fingerprint(user, step_id)
    instance = load_instance(instance_id, user)
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


def instance_step(instance: WorkflowInstance, step_id: int) -> InstanceStep:
    for step in instance.steps:
        if step.id == step_id:
            return step
    raise NotFound(f"Step {step_id} is not part of this workflow.")


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
    ready, claimed = [], []
    now = utcnow()
    for step, instance in rows:
        if instance.matter_id not in access_of:
            access = matter_access(instance.matter)
            access_of[instance.matter_id] = access if access.can_see(user.id, user.role) else None
        if access_of[instance.matter_id] is None:
            continue
        if not performs(available_events(step, instance, user)):
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
