"""Moving an instance forward after any change: activate steps whose prerequisites are
done (evaluating conditions and rendering templates), route failures to their handlers,
keep `current_step`, and let the instance status follow its steps. Flush only.

After a person's transition only the steps around the one that moved are loaded
(`StepSet`): the structure of the graph is kept per revision of the instance's
definition (`GraphCache`) and the status comes from the steps not yet done, which the
database groups and counts, so a transition costs about the same in a 5-step and in a
500-step instance (docs/engine.md, "The cost of a transition")."""

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, literal, null, select, union_all, update

from webapp.engine.actions import automated_types, get_handler
from webapp.engine.errors import DomainError
from webapp.engine.expressions import ExpressionError
from webapp.engine.graph import Graph
from webapp.engine.progress import (
    Decision,
    Move,
    Progress,
    Tally,
    current_order,
    status_of,
    tally,
)
from webapp.engine.states import (
    ACTIVE_STATUSES,
    CLOSED_STATES,
    DONE_STATES,
    OPEN_STATES,
    TERMINAL_STATUSES,
    InstanceStatus,
    StepEvent,
    StepState,
    instance_path,
    next_step_state,
)
from webapp.engine.templating import TemplatingError
from webapp.extensions import db
from webapp.models import InstanceChange, InstanceStep, Job, WorkflowInstance
from webapp.models.base import utcnow
from webapp.observability import metrics
from webapp.persistence.journal import enqueue, record_event
from webapp.services import notifications
from webapp.services.deadlines import start_clock
from webapp.services.events import emit_for_instance
from webapp.services.steps.conditions import evaluate_condition, render_step
from webapp.services.steps.outputs import record_output

STEP_RUN = "step.run"
NOTIFY_READY = "notify.step_ready"
CHILD_FINISHED = "subworkflow.finished"
# When a step left READY in this transaction (an attribute of the loaded row, never stored):
# its cycle time counts from there; a step claimed in an earlier request counts from its start.
READY_SINCE = "_metrics_ready_since"
# The events that put a step (back) to work: its due time counts from then.
RESTARTS = frozenset({StepEvent.ACTIVATE, StepEvent.RETRY, StepEvent.UNBLOCK})
# The instance statuses event triggers can wait for.
FINISHED_EVENTS: dict[str, str] = {
    InstanceStatus.COMPLETED: "instance.completed",
    InstanceStatus.FAILED: "instance.failed",
}


def step_event(
    instance: WorkflowInstance,
    step: InstanceStep,
    event: StepEvent,
    actor_id: int | None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Apply one event of the step machine, write its audit row and count it (at commit)."""
    old = step.action_state
    if old == StepState.READY:  # the row was last written when it became READY
        setattr(step, READY_SINCE, step.updated_at)
    step.action_state = next_step_state(old, event)
    now = utcnow()
    step.updated_at = now
    if step.action_state == StepState.IN_PROGRESS and step.started_at is None:
        step.started_at = now
    if step.action_state in (StepState.COMPLETED, StepState.SKIPPED, StepState.FAILED):
        step.completed_at = now
    record_event(
        org_id=instance.org_id,
        event_type=f"step.{event.value}",
        actor_id=actor_id,
        matter_id=instance.matter_id,
        instance_id=instance.id,
        step_id=step.id,
        old_status=old,
        new_status=step.action_state,
        payload={"key": step.key, **(payload or {})},
    )
    if event in RESTARTS:
        start_clock(instance, step)
    ready_since = getattr(step, READY_SINCE, None) or step.started_at
    metrics.step_moved(step.action_type, event.value, step.action_state, ready_since, now)


def fail_step(
    instance: WorkflowInstance, step: InstanceStep, reason: str, actor_id: int | None = None
) -> None:
    """The step fails with `reason`, which later steps read as `steps.<key>.error`."""
    step_event(instance, step, StepEvent.FAIL, actor_id, {"reason": reason})
    step.last_error = reason
    record_output(instance, step.key, {"error": reason})


def complete_step(
    instance: WorkflowInstance,
    step: InstanceStep,
    output: dict[str, Any],
    actor_id: int | None = None,
    audit: dict[str, Any] | None = None,
) -> None:
    record_output(instance, step.key, output)
    step_event(instance, step, StepEvent.COMPLETE, actor_id, audit)
    emit_for_instance(instance, "step.completed", {"stepId": step.id, "key": step.key})


def enqueue_run(instance: WorkflowInstance, step: InstanceStep) -> None:
    handler = get_handler(step.action_type)
    policy = handler.retry_policy(step.retry)  # type: ignore[attr-defined]  # only automated handlers are enqueued, and they have one
    enqueue(
        STEP_RUN,
        {"stepId": step.id, "instanceId": instance.id},
        org_id=instance.org_id,
        instance_id=instance.id,
        dedupe_key=f"run:{step.id}:{step.attempt}",
        max_attempts=policy.max_attempts,
    )


def activate(instance: WorkflowInstance, step: InstanceStep, payload: dict | None = None) -> None:
    """PENDING -> READY, or SKIPPED when the condition is false, or FAILED when the
    condition or a template cannot be evaluated (the message says why)."""
    if step.condition:
        try:
            holds = evaluate_condition(step, instance)
        except ExpressionError as error:
            fail_step(instance, step, f"The condition could not be evaluated: {error}")
            return
        if not holds:
            step_event(instance, step, StepEvent.BYPASS, None, {"condition": step.condition})
            return
    try:
        render_step(step, instance)
    except TemplatingError as error:
        fail_step(instance, step, f"A template could not be rendered: {error}")
        return
    except DomainError as error:
        fail_step(instance, step, error.message)
        return
    step_event(instance, step, StepEvent.ACTIVATE, None, payload)
    if get_handler(step.action_type).automated:
        enqueue_run(instance, step)
    else:
        notifications.step_ready(instance, step)
        enqueue(
            NOTIFY_READY,
            {"stepId": step.id, "instanceId": instance.id},
            org_id=instance.org_id,
            instance_id=instance.id,
            dedupe_key=f"ready:{step.id}:{step.version_id or 0}",
        )


def apply_decision(instance: WorkflowInstance, decision: Decision) -> None:
    step = decision.step
    if decision.move == Move.ACTIVATE:
        activate(instance, step)  # type: ignore[arg-type]  # Progress decides over this instance's InstanceSteps
    elif decision.move == Move.ROUTE:
        activate(instance, step, {"routedFrom": list(decision.sources)})  # type: ignore[arg-type]  # Progress decides over InstanceSteps
    else:
        step_event(
            instance,
            step,  # type: ignore[arg-type]  # Progress decides over InstanceSteps
            StepEvent.BYPASS,
            None,
            {"reason": "no failure to handle", "sources": list(decision.sources)},
        )


def set_status(
    instance: WorkflowInstance,
    target: InstanceStatus,
    actor_id: int | None,
    reason: str | None = None,
) -> None:
    """Move the instance along the machine, one audit row per status it passes."""
    for status in instance_path(instance.status, target):
        old = instance.status
        instance.status = status
        record_event(
            org_id=instance.org_id,
            event_type="instance.status_changed",
            actor_id=actor_id,
            matter_id=instance.matter_id,
            instance_id=instance.id,
            old_status=old,
            new_status=status,
            payload={"reason": reason} if reason else {},
        )
        _after_status_change(instance, old, status)
    instance.updated_at = utcnow()


def _after_status_change(instance: WorkflowInstance, old: str, new: str) -> None:
    if old == InstanceStatus.PAUSED and new == InstanceStatus.RUNNING:
        wake_parked_jobs(instance.id)
    if new in TERMINAL_STATUSES:
        notify_parent(instance)
    if new in FINISHED_EVENTS:
        emit_for_instance(instance, FINISHED_EVENTS[new])
    if new == InstanceStatus.FAILED:
        notifications.instance_failed(instance)


def notify_parent(child: WorkflowInstance) -> None:
    """A finished sub-workflow tells its parent step, through the outbox."""
    if child.parent_step_id is None or child.status not in TERMINAL_STATUSES:
        return
    enqueue(
        CHILD_FINISHED,
        {"childId": child.id, "parentStepId": child.parent_step_id},
        org_id=child.org_id,
        instance_id=child.parent_instance_id,
        dedupe_key=f"child:{child.id}",
    )


def wake_parked_jobs(instance_id: int) -> None:
    """Jobs of a paused instance wait (the worker parks them); resuming makes them due."""
    db.session.execute(
        update(Job)
        .where(Job.instance_id == instance_id, Job.status == "PENDING", Job.kind == STEP_RUN)
        .values(run_at=utcnow())
    )


@dataclass(frozen=True)
class Node:
    """A step's place in the graph, without its state."""

    id: int
    key: str
    order: int
    depends_on: list[str] | None
    on_failure: str | None


def latest_change_id(instance_id: Any) -> Any:
    """The id of the instance's newest history entry: every edit of its steps writes one,
    so it names the revision of the step graph. `instance_id` may be a column."""
    return (
        select(func.max(InstanceChange.id))
        .where(InstanceChange.instance_id == instance_id)
        .scalar_subquery()
    )


class GraphCache:
    """Step graphs by revision, so a transition does not rebuild the graph of a large
    instance. The key holds the instance's creation time as well: ids alone repeat
    when a database is emptied and filled again."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.graphs: OrderedDict[tuple, Graph] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, instance: WorkflowInstance, revision: int | None) -> Graph:
        key = (instance.id, instance.created_at, revision)
        with self.lock:
            graph = self.graphs.get(key)
            if graph is not None:
                self.graphs.move_to_end(key)
                return graph
        graph = Graph([Node(*row) for row in db.session.execute(_NODES, {"id": instance.id})])
        with self.lock:
            self.graphs[key] = graph
            while len(self.graphs) > self.size:
                self.graphs.popitem(last=False)
        return graph


_NODES = select(
    InstanceStep.id,
    InstanceStep.key,
    InstanceStep.order,
    InstanceStep.depends_on,
    InstanceStep.on_failure,
).where(InstanceStep.instance_id == bindparam("id"))
graphs = GraphCache()


class StepSet:
    """The steps of one instance as they are needed. `loaded` are the steps the caller
    already holds (they may have changed in this transaction); any other step is read
    from the database, whose rows no one else can change while the instance is locked.
    `revision`: `latest_change_id` of the instance, when the caller read it already."""

    def __init__(
        self,
        instance: WorkflowInstance,
        loaded: Iterable[InstanceStep],
        revision: int | None = None,
    ) -> None:
        self.instance = instance
        self.by_key = {step.key: step for step in loaded}
        with db.session.no_autoflush:  # the changes so far are flushed once, at the commit
            if revision is None:
                revision = db.session.scalar(select(latest_change_id(instance.id)))
            self.graph = graphs.get(instance, revision)

    def get(self, key: str) -> InstanceStep | None:
        if key not in self.by_key:
            self.load([key])
        return self.by_key.get(key)

    def load(self, keys: Iterable[str]) -> None:
        ids = [self.graph.by_key[k].id for k in keys if k not in self.by_key]  # type: ignore[attr-defined]  # the graph is built from Node rows, which carry the id
        if not ids:
            return
        with db.session.no_autoflush:
            for step in db.session.scalars(_STEPS_BY_ID, {"ids": ids}):
                self.by_key[step.key] = step

    def tallies(self) -> list[Tally]:
        """What the status needs of the steps not yet done: the loaded ones as they are
        now; of the others, the open and failed ones grouped, and the first pending step
        with and without `required`. Done steps do not count, so the database reads few
        rows, whatever the instance's size (the index on instance, state and order)."""
        loaded_ids = [step.id for step in self.by_key.values()]
        with db.session.no_autoflush:
            rows = db.session.execute(
                _TALLIES, {"instance_id": self.instance.id, "loaded": loaded_ids}
            ).all()
        counted = [Tally(*row) for row in rows if row[5] is not None]
        return counted + tally(s for s in self.by_key.values() if s.action_state not in DONE_STATES)


_STEPS_BY_ID = select(InstanceStep).where(InstanceStep.id.in_(bindparam("ids", expanding=True)))
_OTHERS = (
    InstanceStep.instance_id == bindparam("instance_id"),
    InstanceStep.id.not_in(bindparam("loaded", expanding=True)),
)
_GROUP = (
    InstanceStep.action_state,
    InstanceStep.action_type,
    InstanceStep.required,
    InstanceStep.on_failure,
)


def _first_pending(required: bool) -> Any:
    return (
        select(InstanceStep.order)
        .where(*_OTHERS, InstanceStep.action_state == StepState.PENDING)
        .where(InstanceStep.required.is_(required))
        .order_by(InstanceStep.order)
        .limit(1)
        .scalar_subquery()
    )


def _pending_row(required: bool) -> Any:
    """The first pending step, required or not, as a tally of one (its order is NULL
    when there is none): all the status needs of the pending steps."""
    first = _first_pending(required)
    return select(
        literal(StepState.PENDING.value),
        literal(""),
        literal(required),
        null(),
        literal(1),
        first,
        first,
    )


_TALLIES = union_all(
    select(*_GROUP, func.count(), func.min(InstanceStep.order), func.max(InstanceStep.order))
    .where(*_OTHERS, InstanceStep.action_state.in_([*OPEN_STATES, StepState.FAILED]))
    .group_by(*_GROUP),
    _pending_row(True),
    _pending_row(False),
)


def advance(
    instance: WorkflowInstance,
    actor_id: int | None = None,
    settle: bool = True,
    moved: Sequence[InstanceStep] | None = None,
    revision: int | None = None,
) -> None:
    """`settle=False` keeps a just-started instance Running unless it is already finished.
    `moved`: the steps this transaction changed, when they are the only ones; then only
    their neighbours are loaded (`revision` as in StepSet). Without it every step is
    looked at."""
    if moved is None:
        steps: StepSet | None = None
        progress = Progress(instance.steps)
        after: list[str] | None = None
    else:
        steps = StepSet(instance, moved, revision)
        progress = Progress(graph=steps.graph, step_of=steps.get)
        after = [step.key for step in moved]
    if instance.status in ACTIVE_STATUSES:
        while True:
            if steps is not None and after is not None:
                steps.load(progress.reads(after))
            decisions = progress.next_moves(after=after)
            if not decisions:
                break
            for decision in decisions:
                apply_decision(instance, decision)
            # A step that became READY holds its dependents back as PENDING did.
            after = [d.step.key for d in decisions if d.step.action_state in CLOSED_STATES]
    tallies = steps.tallies() if steps is not None else tally(instance.steps)
    ordered = progress.graph.ordered
    instance.current_step = current_order(tallies, ordered[-1].order if ordered else 0)
    if instance.status not in ACTIVE_STATUSES or not ordered:
        return
    target = status_of(tallies, progress.graph.by_key, automated_types())
    if settle or target in (InstanceStatus.COMPLETED, InstanceStatus.FAILED):
        set_status(instance, target, actor_id)
