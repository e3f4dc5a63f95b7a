"""The single path for every step transition: state machine, eligibility, handler,
step and instance update, audit rows and outbox jobs, committed once."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import defer, joinedload, lazyload, selectinload

from webapp.adapters import providers
from webapp.engine.actions import ActionContext, get_handler
from webapp.engine.actions.checklist import ChecklistHandler
from webapp.engine.eligibility import MatterAccess, can_perform
from webapp.engine.errors import Conflict, Invalid, InvalidTransition, NotAllowed, NotFound
from webapp.engine.roles import Role
from webapp.engine.states import (
    ACTIVE_STATUSES,
    CLOSED_STATES,
    InstanceStatus,
    StepEvent,
    StepState,
    next_step_state,
)
from webapp.extensions import db
from webapp.models import InstanceStep, Matter, User, WorkflowInstance
from webapp.persistence.transaction import transactional
from webapp.services.access import actor_of, matter_access
from webapp.services.progress import (
    advance,
    complete_step,
    fail_step,
    latest_change_id,
    step_event,
)

E = StepEvent


@dataclass
class Loaded:
    instance: WorkflowInstance
    step: InstanceStep
    access: MatterAccess
    revision: int | None  # of the step graph (services/progress.latest_change_id)


def _lock_statement(all_steps: bool) -> Any:
    """The instance of the step `:step_id`, locked, with its matter (built once: composing
    the statement costs more than running it). Without all its steps, the instance's
    outputs are not loaded either (services/outputs)."""
    extra = (
        (selectinload(WorkflowInstance.steps),)
        if all_steps
        else (
            lazyload(WorkflowInstance.steps),
            defer(WorkflowInstance.step_data),
        )
    )
    step_instance = select(InstanceStep.instance_id).where(InstanceStep.id == bindparam("step_id"))
    return (
        select(WorkflowInstance)
        .where(
            WorkflowInstance.id == step_instance.scalar_subquery(),
            WorkflowInstance.org_id == bindparam("org_id"),
        )
        .options(
            *extra,
            joinedload(WorkflowInstance.matter).options(
                lazyload(Matter.owner), lazyload(Matter.members)
            ),
        )
        .with_for_update(of=WorkflowInstance)
        .execution_options(populate_existing=True)
    )


LOCK_WITH_STEPS = _lock_statement(all_steps=True)
LOCK_ALONE = _lock_statement(all_steps=False)
STEP_AND_REVISION = (
    select(InstanceStep, latest_change_id(InstanceStep.instance_id))
    .where(InstanceStep.id == bindparam("step_id"))
    .execution_options(populate_existing=True)
)


def load_step(step_id: int, user: User, *, all_steps: bool = False) -> Loaded:
    """Lock the instance first: every transition of one instance is serialized, so a
    join sees its prerequisites' final states and a double completion sees the first.
    Unless `all_steps`, the instance's other steps stay in the database
    (services/progress.StepSet)."""
    instance = db.session.scalar(
        LOCK_WITH_STEPS if all_steps else LOCK_ALONE, {"step_id": step_id, "org_id": user.org_id}
    )
    missing = NotFound(f"Step {step_id} was not found.")
    if instance is None:
        raise missing
    step, revision = _step_after_lock(instance, step_id, all_steps)
    if step is None:
        raise missing
    access = matter_access(instance.matter)
    if not access.can_see(user.id, user.role):  # say nothing of a matter one may not see
        raise missing
    if user.role == Role.CLIENT and step.role_scope != Role.CLIENT:
        raise NotAllowed("Clients can act only on the steps addressed to them.")
    return Loaded(instance, step, access, revision)


def _step_after_lock(
    instance: WorkflowInstance, step_id: int, all_steps: bool
) -> tuple[InstanceStep | None, int | None]:
    """Read once the lock is held, so the step and the graph are as the last holder left
    them (the steps of `all_steps` load after the lock, by the same rule)."""
    if all_steps:
        return next((s for s in instance.steps if s.id == step_id), None), None
    row = db.session.execute(STEP_AND_REVISION, {"step_id": step_id}).first()
    return (row[0], row[1]) if row else (None, None)


def context_for(loaded: Loaded, actor_id: int | None) -> ActionContext:
    step = loaded.step
    return ActionContext(
        step_id=step.id,
        step_key=step.key,
        config=step.action_config or {},
        action_data=dict(step.action_data or {}),
        instance_id=loaded.instance.id,
        matter_id=loaded.instance.matter_id,
        actor_id=actor_id,
        providers=providers.registry,
    )


def require_active(instance: WorkflowInstance) -> None:
    if instance.status in ACTIVE_STATUSES:
        return
    reasons = {
        InstanceStatus.CREATED: "it has not been started yet",
        InstanceStatus.PAUSED: "it is paused; resume it first",
        InstanceStatus.CANCELLED: "it was cancelled",
        InstanceStatus.COMPLETED: "it is already completed",
        InstanceStatus.FAILED: "it has failed",
    }
    raise Conflict(
        f"This workflow accepts no step changes: {reasons.get(instance.status, instance.status)}.",
        {"instanceStatus": instance.status},
    )


def require_permission(loaded: Loaded, user: User, event: StepEvent) -> None:
    step = loaded.step
    if event == E.SKIP and user.role == Role.ADMIN:
        return
    if event == E.SKIP and step.required:
        raise NotAllowed("Only an admin can skip a required step.")
    allowed = can_perform(
        step.role_scope, step.assigned_to_id, step.claimed_by_id, actor_of(user), loaded.access
    )
    if not allowed:
        raise NotAllowed(f"You are not allowed to {event.value} the step {step.title!r}.")


def require_open(step: InstanceStep, event: StepEvent) -> None:
    """A step someone already finished is a conflict with what the caller last saw."""
    if step.action_state in CLOSED_STATES and event != E.RETRY:
        raise Conflict(
            f"Cannot {event.value} the step {step.title!r}: it is already {step.action_state}.",
            {"state": step.action_state, "event": event.value},
        )
    if step.action_state == StepState.PENDING:  # only the engine moves a PENDING step
        raise InvalidTransition(
            f"Cannot {event.value} a step that is PENDING: it is waiting for its prerequisites.",
            {"state": step.action_state, "event": event.value},
        )
    next_step_state(step.action_state, _effective_event(step, event))


def _effective_event(step: InstanceStep, event: StepEvent) -> StepEvent:
    # Completing or failing a READY step starts it first: one call, two audit rows.
    if event in (E.COMPLETE, E.FAIL, E.BLOCK) and step.action_state == StepState.READY:
        return E.START
    return event


def _start(loaded: Loaded, user_id: int | None, event: StepEvent = E.START) -> None:
    handler = get_handler(loaded.step.action_type)
    ctx = context_for(loaded, user_id)
    if not handler.can_start(ctx):
        raise Invalid(f"The step {loaded.step.title!r} cannot start yet.")
    outcome = handler.start(ctx)
    loaded.step.action_data = outcome.action_data
    if outcome.external_ref:
        loaded.step.external_ref = outcome.external_ref
    if loaded.step.claimed_by_id is None and user_id is not None:
        loaded.step.claimed_by_id = user_id
    step_event(loaded.instance, loaded.step, event, user_id)


def _complete(loaded: Loaded, user_id: int | None, payload: dict[str, Any]) -> None:
    step, instance = loaded.step, loaded.instance
    outcome = get_handler(step.action_type).complete(context_for(loaded, user_id), payload)
    step.action_data = outcome.action_data
    complete_step(instance, step, outcome.output or {}, user_id, _audit_payload(outcome.output))


def _audit_payload(output: dict[str, Any] | None) -> dict[str, Any]:
    if not output:
        return {}
    return {
        k: v for k, v in output.items() if k in {"approved", "comment", "files", "paid", "signed"}
    }


def _perform(
    loaded: Loaded, user_id: int | None, event: StepEvent, payload: dict[str, Any]
) -> None:
    step = loaded.step
    if step.action_state == StepState.READY and event in (E.COMPLETE, E.FAIL, E.BLOCK):
        _start(loaded, user_id)
    if event in (E.CLAIM, E.START):
        _start(loaded, user_id, event)
    elif event == E.COMPLETE:
        _complete(loaded, user_id, payload)
    elif event == E.FAIL:
        reason = _reason(payload)
        handler = get_handler(step.action_type)
        step.action_data = handler.fail(context_for(loaded, user_id), reason).action_data
        fail_step(loaded.instance, step, reason, user_id)
    elif event == E.BLOCK:
        step_event(loaded.instance, step, event, user_id, {"reason": _reason(payload)})
    else:
        extra = {"reason": payload["reason"]} if payload.get("reason") else {}
        step_event(loaded.instance, step, event, user_id, extra)


def _reason(payload: dict[str, Any]) -> str:
    reason = str(payload.get("reason") or "").strip()
    if not reason:
        raise Invalid("Give a reason.", [{"field": "reason", "message": "required"}])
    if len(reason) > 2000:
        raise Invalid("The reason is too long (2,000 characters at most).")
    return reason


@transactional
def transition(
    user: User,
    step_id: int,
    event: StepEvent | str,
    payload: dict[str, Any] | None = None,
    *,
    with_steps: bool = False,
) -> WorkflowInstance:
    """`with_steps`: load every step before the commit, for a caller that shows them
    all (it saves a second transaction to read them, and counting them in SQL)."""
    try:
        event = StepEvent(event)
    except ValueError:
        raise Invalid(f"Unknown step action {event!r}.") from None
    if event in (E.ACTIVATE, E.BYPASS, E.RETRY):
        raise Invalid(f"{event.value} is done by the engine, not by a person.")
    loaded = load_step(step_id, user, all_steps=with_steps)
    require_active(loaded.instance)
    require_permission(loaded, user, event)
    require_open(loaded.step, event)
    handler = get_handler(loaded.step.action_type)
    if event == E.COMPLETE and handler.completes_by_webhook:
        raise Invalid(
            f"A {handler.label.lower()} step completes through its provider, not by hand."
        )
    if event == E.COMPLETE and handler.automated:
        raise Invalid("An automated step is completed by the worker.")
    _perform(loaded, user.id, event, payload or {})
    moved = None if with_steps else [loaded.step]  # all loaded: nothing to count in SQL
    advance(loaded.instance, user.id, moved=moved, revision=loaded.revision)
    return loaded.instance


@transactional
def tick_checklist_item(user: User, step_id: int, item: str, checked: bool) -> WorkflowInstance:
    """Ticking is saved as the person goes; ticking the last item completes the step."""
    loaded = load_step(step_id, user)
    handler = get_handler(loaded.step.action_type)
    if not isinstance(handler, ChecklistHandler):
        raise Invalid("Only a checklist step has items to tick.")
    require_active(loaded.instance)
    require_permission(loaded, user, E.COMPLETE)
    require_open(loaded.step, E.COMPLETE)
    if loaded.step.action_state == StepState.READY:
        _start(loaded, user.id)
    ctx = context_for(loaded, user.id)
    loaded.step.action_data = handler.tick(ctx, item, checked)
    ctx = context_for(loaded, user.id)
    if handler.all_ticked(ctx):
        _complete(loaded, user.id, {"checkedItems": ctx.action_data["checkedItems"]})
    advance(loaded.instance, user.id, moved=[loaded.step], revision=loaded.revision)
    return loaded.instance


def step_by_external_ref(ref: str) -> InstanceStep:
    step = db.session.scalar(select(InstanceStep).where(InstanceStep.external_ref == ref))
    if step is None:
        raise NotFound(f"No step is waiting on {ref!r}.")
    return step


@transactional
def complete_from_provider(ref: str, payload: dict[str, Any]) -> WorkflowInstance:
    """A verified provider webhook: the person it names must be eligible, as anywhere else."""
    step = step_by_external_ref(ref)
    signer = db.session.get(User, payload.get("actorId") or 0)
    if signer is None:
        raise NotAllowed("The webhook does not name a known person.")
    loaded = load_step(step.id, signer)
    require_active(loaded.instance)
    require_permission(loaded, signer, E.COMPLETE)
    if loaded.step.action_state == StepState.COMPLETED:
        return loaded.instance  # providers retry deliveries; a repeat changes nothing
    require_open(loaded.step, E.COMPLETE)
    _complete(loaded, signer.id, payload)
    advance(loaded.instance, signer.id, moved=[loaded.step], revision=loaded.revision)
    return loaded.instance


def available_events(
    step: InstanceStep, instance: WorkflowInstance, user: User, access: MatterAccess
) -> list[str]:
    """What the runner offers this person; deny by default. The service checks again.
    `access`: the people of the instance's matter, which the caller has read once."""
    if instance.status not in ACTIVE_STATUSES or step.action_state in CLOSED_STATES:
        return []
    performer = can_perform(
        step.role_scope, step.assigned_to_id, step.claimed_by_id, actor_of(user), access
    )
    handler = get_handler(step.action_type)
    events: list[str] = []
    state = StepState(step.action_state)
    if performer and not handler.automated:
        if state == StepState.READY:
            events += ["claim"]
        if state in (StepState.READY, StepState.IN_PROGRESS) and not handler.completes_by_webhook:
            events += ["complete"]
        if state == StepState.IN_PROGRESS:
            events += ["block", "fail"]
        if state == StepState.BLOCKED:
            events += ["unblock"]
    if state in (StepState.READY, StepState.IN_PROGRESS) and (
        user.role == Role.ADMIN or (performer and not step.required)
    ):
        events.append("skip")
    return events
