"""Reading the step a command is about: the instance locked first, then the step, and
the plain view of it the permission table reads."""

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import defer, joinedload, lazyload, selectinload

from webapp.engine.actions import ActionContext, get_handler
from webapp.engine.actions.checklist import ChecklistHandler
from webapp.engine.actions.request_doc import RequestDocHandler
from webapp.engine.eligibility import MatterAccess
from webapp.engine.errors import NotAllowed, NotFound
from webapp.engine.permissions import Kind, StepView
from webapp.engine.roles import Role
from webapp.engine.states import StepState
from webapp.extensions import db
from webapp.models import InstanceStep, Matter, User, WorkflowInstance
from webapp.services import notifications
from webapp.services.access import matter_access, refuse_if_screened
from webapp.services.documents import StepDocuments
from webapp.services.provider_sessions import StepProviders
from webapp.services.steps.advance import latest_change_id
from webapp.services.steps.outputs import outputs


@dataclass
class Loaded:
    instance: WorkflowInstance
    step: InstanceStep
    access: MatterAccess
    revision: int | None  # of the step graph (services/steps/advance.latest_change_id)


def _lock_statement(all_steps: bool) -> Any:
    """The instance of the step `:step_id`, locked, with its matter (built once: composing
    the statement costs more than running it). Without all its steps, the instance's
    outputs are not loaded either (services/steps/outputs.py)."""
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
    (services/steps/advance.StepSet)."""
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
        refuse_if_screened(access, user, instance.matter_id)
        raise missing
    if user.role == Role.CLIENT and step.role_scope != Role.CLIENT:
        raise missing  # a client sees only the steps addressed to clients
    notifications.remember_access(access, instance.matter_id)
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


def provider_step(ref: str, payload: dict[str, Any]) -> tuple[int, User]:
    """The step a provider's webhook is about, and the person it says acted (who must be
    eligible, as anywhere else: the door checks)."""
    step_id = db.session.scalar(select(InstanceStep.id).where(InstanceStep.external_ref == ref))
    if step_id is None:
        raise NotFound(f"No step is waiting on {ref!r}.")
    actor_id = payload.get("actorId")
    signer = db.session.get(User, actor_id) if isinstance(actor_id, int) else None
    if signer is None:
        raise NotAllowed("The webhook does not name a known person.")
    return step_id, signer


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
        providers=StepProviders(loaded.instance, step, actor_id),
        documents=StepDocuments(
            loaded.instance, step, actor_id, functools.partial(outputs, loaded.instance)
        ),
    )


def kind_of(step: InstanceStep) -> Kind:
    handler = get_handler(step.action_type)
    if handler.automated:
        return Kind.AUTOMATED
    if handler.completes_by_webhook:
        return Kind.PROVIDER
    if isinstance(handler, RequestDocHandler):
        return Kind.UPLOAD
    return Kind.BY_HAND


def step_view(instance: WorkflowInstance, step: InstanceStep) -> StepView:
    handler = get_handler(step.action_type)
    return StepView(
        state=StepState(step.action_state),
        kind=kind_of(step),
        role_scope=step.role_scope,
        required=step.required,
        assigned_to_id=step.assigned_to_id,
        claimed_by_id=step.claimed_by_id,
        instance_status=instance.status,
        title=step.title,
        approver_role=(step.action_config or {}).get("approverRole") or None,
        checklist=isinstance(handler, ChecklistHandler),
    )
