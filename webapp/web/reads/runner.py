"""The runner's read model: one instance's steps grouped by state, who may act on each
and why not, the lifecycle controls, the progress and the newest audit rows.

Bounded whatever the instance's size: the page reads the instance and its matter, the
matter's people, one light row per step (key, order, prerequisites, state — enough to
build the graph once and count the groups), the full rows of only the cards it shows
(long done and pending groups collapse to a few cards and load the rest on demand), their
documents and automation extras, the newest audit rows and the names it prints. After an
action the same read builds only the groups the action changed (`states`)."""

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select

from webapp.engine.eligibility import MatterAccess, resolve_eligible_actors, why_not
from webapp.engine.errors import Conflict, InvalidTransition, NotFound
from webapp.engine.graph import Graph
from webapp.engine.permissions import acting_role
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
    Organization,
    ResourceLink,
    StepAttempt,
    User,
    WorkflowEvent,
    WorkflowInstance,
)
from webapp.models.base import utcnow
from webapp.services import audit
from webapp.services import providers as provider_service
from webapp.services.access import actor_of
from webapp.services.client_links import LinkState, link_states
from webapp.services.instances import load_instance
from webapp.services.steps import available_acts
from webapp.services.steps.advance import graphs, latest_change_id
from webapp.services.steps.loading import step_view
from webapp.web.reads.common import (
    action_label,
    instance_and_access,
    instance_on_matter,
    is_automated,
    names_of,
    performs,
)

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
ALL_STATES = frozenset(state for state, _label in GROUPS)
# Done and pending groups longer than COLLAPSE_AFTER show SHOWN_COLLAPSED cards (the next
# ones up, the most recent ones done) and load the rest on demand; open groups show all.
COLLAPSIBLE = frozenset({StepState.PENDING, StepState.COMPLETED, StepState.SKIPPED})
NEWEST_FIRST = frozenset({StepState.COMPLETED, StepState.SKIPPED})
COLLAPSE_AFTER = 8
SHOWN_COLLAPSED = 5
AUDIT_PAGE = 20


def offered_events(
    step: InstanceStep, instance: WorkflowInstance, user: User, access: MatterAccess
) -> list[str]:
    """The buttons of one step for this person, from the permission table (the same
    one the step door's guard asks)."""
    return available_acts(step, instance, user, access)


# ---- what the page shows ------------------------------------------------------------------


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
    links: list[ResourceLink] = field(default_factory=list)  # what it created outside
    child: WorkflowInstance | None = None  # the sub-workflow this step waits on
    retry_job_id: int | None = None  # an admin may retry this dead job of the step
    assignable: list[tuple[int, str]] = field(default_factory=list)  # (id, name) of eligible people
    # A payment or signature step whose provider lacks its keys: why it cannot start.
    provider_notice: str | None = None
    client_link: LinkState | None = None  # a client step's links, for the firm's lawyers

    @property
    def may_act(self) -> bool:
        return performs(self.events)


@dataclass
class StepGroup:
    state: str
    label: str
    cards: list[StepCard]
    total: int = 0  # steps in this state the person may see; more than `cards` when collapsed

    @property
    def id(self) -> str:
        return f"group-{self.state.lower().replace('_', '-')}"

    @property
    def hidden(self) -> int:
        return self.total - len(self.cards)

    @property
    def newest_first(self) -> bool:
        """A collapsed done group shows its most recent steps."""
        return self.state in NEWEST_FIRST


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
class AuditPage:
    entries: list[AuditEntry]  # newest first
    older: int | None  # the id to read older entries before, when there are more


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
    groups: list[StepGroup]  # every group for the page; after an action, the changed ones
    audit: list[AuditEntry]
    done: int
    total: int
    current_title: str | None
    can_edit: bool
    open_steps: int = 0  # ready or in progress: what cancelling would stop
    audit_older: int | None = None
    lifecycle: list[LifecycleAction] = field(default_factory=list)
    halted_by: AuditEntry | None = None  # who paused or cancelled it, and why
    parent: ParentLink | None = None
    reads_definition: bool = False  # drift and history: everyone but clients

    def group(self, state: str) -> StepGroup:
        return next(g for g in self.groups if g.state == state)

    @property
    def visible_steps(self) -> int:
        return sum(g.total for g in self.groups)


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


# ---- the reads ----------------------------------------------------------------------------


class Shape(NamedTuple):
    """One light row per step: enough for the counts and the groups (the graph comes
    from the step door's cache, so no JSON is read here)."""

    id: int
    key: str
    order: int
    title: str
    role_scope: str
    action_state: str
    due_at: datetime | None


_SHAPE = select(
    InstanceStep.id,
    InstanceStep.key,
    InstanceStep.order,
    InstanceStep.title,
    InstanceStep.role_scope,
    InstanceStep.action_state,
    InstanceStep.due_at,
    # The revision of the step graph, asked once with the rows (the door's graph cache).
    latest_change_id(bindparam("instance_id")).label("revision"),
).order_by(InstanceStep.order)


def _shapes(instance_id: int) -> tuple[list[Shape], int | None]:
    """The instance's steps, one light row each, and the revision of its step graph."""
    rows = db.session.execute(
        _SHAPE.where(InstanceStep.instance_id == bindparam("instance_id")),
        {"instance_id": instance_id},
    ).all()
    return [Shape(*row[:-1]) for row in rows], (rows[0].revision if rows else None)


def due_first(shape: Shape) -> tuple[bool, datetime, int]:
    """Dated steps by due time, then the undated in workflow order."""
    return (shape.due_at is None, shape.due_at or datetime.max.replace(tzinfo=UTC), shape.order)


def _sees(user: User, shape: Shape | Any) -> bool:
    """Clients see only the steps scoped to them."""
    return user.role != Role.CLIENT or shape.role_scope == Role.CLIENT


def _shown(state: str, members: list[Shape], expanded: bool) -> list[Shape]:
    if expanded or state not in COLLAPSIBLE or len(members) <= COLLAPSE_AFTER:
        return members
    if state in NEWEST_FIRST:
        return members[-SHOWN_COLLAPSED:]
    return members[:SHOWN_COLLAPSED]


def runner_view(
    user: User,
    matter_id: int,
    instance_id: int,
    states: Iterable[str] | None = None,
    expanded: Collection[str] = (),
    access: MatterAccess | None = None,
) -> RunnerView:
    """The runner page (`states` None: every group) or, after an action, its regions:
    the status, controls and progress, the groups named in `states`, the newest audit rows.
    `expanded`: the collapsible groups to show in full."""
    instance, access = instance_and_access(user, matter_id, instance_id, access)
    wanted = ALL_STATES if states is None else frozenset(states) & ALL_STATES
    shapes, revision = _shapes(instance.id)
    visible = shapes if user.role != Role.CLIENT else [s for s in shapes if _sees(user, s)]
    members: dict[str, list[Shape]] = defaultdict(list)
    for shape in visible:
        members[shape.action_state].append(shape)
    for state in OPEN_STATES:  # open work as the inbox orders it: soonest due first
        members[state].sort(key=due_first)
    shown_ids = [
        s.id for state in wanted for s in _shown(state, members.get(state, []), state in expanded)
    ]
    steps = _full_steps(shown_ids)
    audit_rows, older = _audit_rows(instance, user)
    halted = _halted_row(instance, audit_rows)
    names = names_of(
        user.org_id,
        [
            *access.members,
            *access.admin_ids,
            access.owner_id,
            *(s.claimed_by_id for s in steps.values()),
            *(s.assigned_to_id for s in steps.values()),
            *(e.actor_id for e in audit_rows),
            halted.actor_id if halted else None,
        ],
    )
    titles_by_id = {s.id: s.title for s in visible}
    audit = [_audit_entry(e, names, titles_by_id) for e in audit_rows]
    cards = _Cards(instance, user, access, names, (shapes, revision), visible, list(steps.values()))
    groups = [
        StepGroup(
            state,
            label,
            [
                cards.card(steps[s.id])
                for s in _shown(state, members.get(state, []), state in expanded)
            ],
            total=len(members.get(state, [])),
        )
        for state, label in GROUPS
        if state in wanted
    ]
    done, total, current = _progress(instance, shapes, user)
    can_edit = access.can_edit(user.id, user.role)
    return RunnerView(
        instance=instance,
        matter=instance.matter,
        groups=groups,
        audit=audit,
        audit_older=older,
        done=done,
        total=total,
        current_title=current,
        can_edit=can_edit,
        open_steps=sum(len(members.get(state, [])) for state in OPEN_STATES),
        lifecycle=lifecycle_actions(instance) if can_edit else [],
        halted_by=_audit_entry(halted, names, titles_by_id) if halted else None,
        parent=_parent_link(instance, user) if states is None else None,
        reads_definition=user.role != Role.CLIENT,
    )


def _progress(
    instance: WorkflowInstance, shapes: list[Shape], user: User
) -> tuple[int, int, str | None]:
    """Steps done of all steps, and the current step's title when this person may see it
    (a client sees "with the firm" for a step that is not theirs)."""
    done = sum(1 for s in shapes if s.action_state in DONE_STATES)
    current = next((s for s in shapes if s.order == instance.current_step), None)
    if current is None or instance.status in TERMINAL_STATUSES:
        return done, len(shapes), None
    return done, len(shapes), current.title if _sees(user, current) else "With the firm"


def _full_steps(step_ids: list[int]) -> dict[int, InstanceStep]:
    if not step_ids:
        return {}
    return {
        step.id: step
        for step in db.session.scalars(select(InstanceStep).where(InstanceStep.id.in_(step_ids)))
    }


class _Cards:
    """Builds the cards of the shown steps from what the view read once: the graph of the
    whole instance, the documents and automation extras of the shown steps."""

    def __init__(
        self,
        instance: WorkflowInstance,
        user: User,
        access: MatterAccess,
        names: dict[int, str],
        graph_rows: tuple[list[Shape], int | None],
        visible: list[Shape],
        steps: list[InstanceStep],
    ) -> None:
        self.instance, self.user, self.access, self.names = instance, user, access, names
        (self.shapes, self.revision), self.visible = graph_rows, visible
        self.documents = _documents_by_step([s.id for s in steps])
        self.extras = card_extras(instance, steps, user)
        self.links = _client_links(steps, user)
        self.now = utcnow()

    @cached_property
    def graph(self) -> Graph:
        """Only when a shown card waits on its prerequisites: the graph the step door
        keeps for this revision of the instance (built once per revision)."""
        return graphs.get(self.instance, self.revision)

    @cached_property
    def state_of(self) -> dict[str, str]:
        return {s.key: s.action_state for s in self.shapes}

    @cached_property
    def titles(self) -> dict[str, str]:
        return {s.key: s.title for s in self.visible}

    def card(self, step: InstanceStep) -> StepCard:
        instance, user, access, names = self.instance, self.user, self.access, self.names
        state = step.action_state
        is_open = state in OPEN_STATES
        automated = is_automated(step.action_type)
        role = acting_role(step_view(instance, step))
        actors = [] if automated else resolve_eligible_actors(role, step.assigned_to_id, access)
        reason = None
        if is_open and not automated:
            reason = why_not(
                role,
                step.assigned_to_id,
                step.claimed_by_id,
                actor_of(user),
                access,
                names,
            )
        waits_on: list[str] = []
        if state == StepState.PENDING:
            unfinished = [
                k
                for k in self.graph.prerequisites.get(step.key, [])
                if self.state_of.get(k) not in DONE_STATES
            ]
            # A client waiting on the firm's own steps is told so, not what those steps are.
            waits_on = list(
                dict.fromkeys(self.titles.get(k, "the firm's work") for k in unfinished)
            )
        due = step.due_at
        retryable = state == StepState.FAILED and instance.status in ACTIVE_STATUSES
        extras = self.extras
        events = offered_events(step, instance, user, access)
        return StepCard(
            step=step,
            action_label=action_label(step.action_type),
            events=events,
            actors=(["You"] if user.id in actors else [])
            + sorted(names.get(i, "a former member") for i in actors if i != user.id),
            why_not=reason,
            waits_on=waits_on,
            documents=self.documents.get(step.id, []),
            claimed_by=names.get(step.claimed_by_id) if step.claimed_by_id else None,
            overdue=bool(due and is_open and due < self.now),
            automated=automated,
            attempts=extras.attempts.get(step.id, []),
            links=extras.links.get(step.id, []),
            child=extras.children.get((step.action_data or {}).get("childInstanceId")),
            retry_job_id=extras.dead_jobs.get(step.id) if retryable else None,
            assignable=self.assignable(role) if "assign" in events else [],
            provider_notice=self.provider_notice(step) if state == StepState.READY else None,
            client_link=self.links.get(step.id),
        )

    def provider_notice(self, step: InstanceStep) -> str | None:
        if step.action_type not in provider_service.PROVIDER_STEP_TYPES:
            return None
        org = db.session.get(Organization, self.instance.org_id)
        configured = (step.action_config or {}).get("provider")
        if org is None:
            return None
        return provider_service.step_setup_problem(org, step.action_type, configured)

    def assignable(self, role: str) -> list[tuple[int, str]]:
        """Who the step may be assigned to: its role's people on the matter, by name."""
        eligible = resolve_eligible_actors(role, None, self.access)
        people = ((i, self.names.get(i, "a former member")) for i in eligible)
        return sorted(people, key=lambda person: person[1])


def _client_links(steps: list[InstanceStep], user: User) -> dict[int, LinkState]:
    """The links of the shown open client steps, for the lawyers and admins who may
    withdraw or resend them (one query; none for anyone else)."""
    if user.role not in (Role.ADMIN, Role.LAWYER):
        return {}
    waiting = (StepState.READY, StepState.IN_PROGRESS)  # a link is sent for these only
    ids = [s.id for s in steps if s.role_scope == Role.CLIENT and s.action_state in waiting]
    found = link_states(ids)
    return {step_id: found.get(step_id, LinkState(0, None, False)) for step_id in ids}


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
    """What automated steps add to their cards, gathered for the shown steps at once."""

    attempts: dict[int, list[StepAttempt]] = field(default_factory=dict)
    links: dict[int | None, list[ResourceLink]] = field(default_factory=dict)
    # Keyed by ids read from JSON (action data, job payloads), which may be missing.
    children: dict[int | None, WorkflowInstance] = field(default_factory=dict)
    dead_jobs: dict[int | None, int] = field(default_factory=dict)  # step id -> dead job id


def card_extras(instance: WorkflowInstance, steps: list[InstanceStep], user: User) -> CardExtras:
    """What the shown steps created outside (staff only), then attempts, sub-workflows and
    (for admins) dead jobs: a query each, the last three none at all when no shown step is
    automated."""
    extras = CardExtras()
    if steps and user.role != Role.CLIENT:  # a provider's page is the firm's, not the client's
        for link in db.session.scalars(
            select(ResourceLink)
            .where(
                ResourceLink.org_id == instance.org_id,
                ResourceLink.step_id.in_([s.id for s in steps]),
            )
            .order_by(ResourceLink.id)
        ):
            extras.links.setdefault(link.step_id, []).append(link)
    automated = [s for s in steps if is_automated(s.action_type)]
    if not automated:
        return extras
    for attempt in db.session.scalars(
        select(StepAttempt)
        .where(
            StepAttempt.instance_id == instance.id,
            StepAttempt.step_id.in_([s.id for s in automated]),
        )
        .order_by(StepAttempt.step_id, StepAttempt.number)
    ):
        extras.attempts.setdefault(attempt.step_id, []).append(attempt)
    child_ids = [c for s in automated if (c := (s.action_data or {}).get("childInstanceId"))]
    if child_ids:
        extras.children = {
            child.id: child
            for child in db.session.scalars(
                select(WorkflowInstance).where(
                    WorkflowInstance.org_id == instance.org_id, WorkflowInstance.id.in_(child_ids)
                )
            )
        }
    if user.role == Role.ADMIN and any(s.action_state == StepState.FAILED for s in automated):
        for job in db.session.scalars(
            select(Job).where(
                Job.instance_id == instance.id, Job.status == "DEAD", Job.kind == "step.run"
            )
        ):
            extras.dead_jobs[(job.payload or {}).get("stepId")] = job.id
    return extras


# ---- the audit trail ----------------------------------------------------------------------


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
    "instance.migrated": "moved this workflow to a newer template version",
    "step.file_added": "added a file to",
    "client_link.issued": "link emailed to the client",
    "client_link.resent": "sent the client a new link to",
    "client_link.opened": "opened the link to",
    "client_link.submitted": "answered through the link to",
    "client_link.revoked": "withdrew the client's link to",
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
    if "toVersion" in payload:
        return f"Version {payload.get('fromVersion')} → version {payload['toVersion']}"
    return None


def _audit_entry(event: WorkflowEvent, names: dict[int, str], titles: dict[int, str]) -> AuditEntry:
    return AuditEntry(
        event=event,
        actor=names.get(event.actor_id, "A former member") if event.actor_id else "Matterflow",
        action=EVENT_WORDS.get(event.event_type, event.event_type.replace("_", " ")),
        step_title=titles.get(event.step_id, (event.payload or {}).get("key"))
        if event.step_id
        else None,
        note=_note(event),
    )


def _audit_rows(
    instance: WorkflowInstance, user: User, before: int | None = None, limit: int = AUDIT_PAGE
) -> tuple[list[WorkflowEvent], int | None]:
    """A page of audit rows, newest first, and where the next (older) page starts."""
    query = audit.visible_query(instance, user)
    if before is not None:
        query = query.where(WorkflowEvent.id < before)
    rows = list(db.session.scalars(query.order_by(WorkflowEvent.id.desc()).limit(limit + 1)))
    older = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], older


def _halted_row(instance: WorkflowInstance, newest: list[WorkflowEvent]) -> WorkflowEvent | None:
    """The audit row that paused or cancelled the instance: among the newest rows, or
    looked up on its own when later rows pushed it off the first page."""
    if instance.status not in (InstanceStatus.PAUSED, InstanceStatus.CANCELLED):
        return None

    def halts(event: WorkflowEvent) -> bool:
        return event.event_type == "instance.status_changed" and event.new_status == instance.status

    found = next((e for e in newest if halts(e)), None)
    if found is not None:
        return found
    return db.session.scalar(
        select(WorkflowEvent)
        .where(
            WorkflowEvent.instance_id == instance.id,
            WorkflowEvent.event_type == "instance.status_changed",
            WorkflowEvent.new_status == instance.status,
        )
        .order_by(WorkflowEvent.id.desc())
        .limit(1)
    )


def audit_page(user: User, matter_id: int, instance_id: int, before: int) -> AuditPage:
    """Older audit rows ("Show older entries"), a page at a time."""
    instance, _access = instance_and_access(user, matter_id, instance_id)
    rows, older = _audit_rows(instance, user, before=before)
    names = names_of(user.org_id, [e.actor_id for e in rows])
    step_ids = {e.step_id for e in rows if e.step_id}
    titles = {
        step_id: title
        for step_id, title in db.session.execute(
            select(InstanceStep.id, InstanceStep.title).where(
                InstanceStep.instance_id == instance.id, InstanceStep.id.in_(step_ids)
            )
        )
    }
    return AuditPage([_audit_entry(e, names, titles) for e in rows], older)


def _parent_link(instance: WorkflowInstance, user: User) -> ParentLink | None:
    if instance.parent_instance_id is None:
        return None
    try:
        parent, _access = instance_and_access(user, None, instance.parent_instance_id)
    except NotFound:
        return None
    step = db.session.execute(
        select(InstanceStep.title, InstanceStep.role_scope).where(
            InstanceStep.id == instance.parent_step_id, InstanceStep.instance_id == parent.id
        )
    ).first()
    return ParentLink(parent, step.title if step and _sees(user, step) else None)


def status_regroups(before: str, after: str) -> bool:
    """Whether an instance's status change alters its step cards (what each offers, the
    "paused" notes): it does when the workflow starts or stops being workable, not when
    it moves between running and waiting."""
    return (before in ACTIVE_STATUSES) != (after in ACTIVE_STATUSES)


# ---- one step ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepPlace:
    """Where a step lives and what state it is in: read before an action, so the answer
    can name the groups it leaves."""

    step_id: int
    instance_id: int
    matter_id: int
    state: str
    status: str


def step_place(user: User, step_id: int) -> StepPlace:
    """A step of this person's firm, its instance and matter, in one light statement.
    Who may see or act on it is the service's question, asked by the action itself."""
    row = db.session.execute(
        select(
            InstanceStep.instance_id,
            WorkflowInstance.matter_id,
            InstanceStep.action_state,
            WorkflowInstance.status,
        )
        .join(WorkflowInstance, WorkflowInstance.id == InstanceStep.instance_id)
        .where(InstanceStep.id == step_id, WorkflowInstance.org_id == user.org_id)
    ).first()
    if row is None:
        raise NotFound(f"Step {step_id} was not found.")
    return StepPlace(step_id, row.instance_id, row.matter_id, row.action_state, row.status)


def step_of(user: User, step_id: int) -> tuple[WorkflowInstance, InstanceStep]:
    """A step the person may see (clients: only their own), with its instance."""
    place = step_place(user, step_id)
    missing = NotFound(f"Step {step_id} was not found.")
    try:
        instance = load_instance(place.instance_id, user)
    except NotFound:  # another matter's step reads like no step at all
        raise missing from None
    step = db.session.get(InstanceStep, step_id)
    if step is None or (user.role == Role.CLIENT and step.role_scope != Role.CLIENT):
        raise missing
    return instance, step


def card_view(
    user: User, matter_id: int, instance_id: int, step_id: int
) -> tuple[RunnerView, StepCard]:
    """One step's card as it is now (to show an error inside it)."""
    place = step_place(user, step_id)
    view = runner_view(user, matter_id, instance_id, states=[place.state], expanded=[place.state])
    card = next((c for g in view.groups for c in g.cards if c.step.id == step_id), None)
    if card is None:
        raise NotFound(f"Step {step_id} was not found.")
    return view, card


def dead_job_place(user: User, matter_id: int, instance_id: int, job_id: int) -> StepPlace | None:
    """The step a dead job of this instance ran for (None: the job is not a step's run).
    The job must be this instance's; who may retry it is the service's question."""
    instance = instance_on_matter(user, matter_id, instance_id)
    job = db.session.execute(
        select(Job.instance_id, Job.payload).where(Job.id == job_id, Job.org_id == user.org_id)
    ).first()
    if job is None or job.instance_id != instance.id:
        raise NotFound(f"Job {job_id} was not found on this workflow.")
    step_id = (job.payload or {}).get("stepId")
    return step_place(user, step_id) if step_id else None
