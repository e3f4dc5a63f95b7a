"""The step door: every change to a step, whoever asks for it (a page, the API, a
provider webhook, the sandbox, an upload), is `perform(actor, step_id, command)`.

`perform` locks the instance, reads the step, asks the permission table
(engine/permissions.py), applies the command through the step's handler, advances the
graph, appends audit rows and outbox jobs, commits once, and returns what moved
(`Changed`). The worker's automated step runs share the same advance/audit/outbox path
(services/steps/advance.py)."""

from webapp.engine.eligibility import MatterAccess
from webapp.engine.permissions import Act, Who
from webapp.engine.permissions import allowed as allowed_acts
from webapp.engine.permissions import check as check_permission
from webapp.models import InstanceStep, User, WorkflowInstance
from webapp.observability import observe, traced
from webapp.persistence import journal
from webapp.persistence.transaction import transactional
from webapp.services.access import actor_of
from webapp.services.steps.advance import advance
from webapp.services.steps.applying import apply, is_repeat
from webapp.services.steps.changed import Changed, StepMove, changed_from
from webapp.services.steps.commands import (
    AddFile,
    Assign,
    Block,
    Claim,
    Command,
    Complete,
    Fail,
    IncomingFile,
    ProviderConfirmed,
    Skip,
    Start,
    Tick,
    Unblock,
    Upload,
)
from webapp.services.steps.loading import (
    Loaded,
    context_for,
    load_step,
    provider_step,
    step_view,
)

__all__ = [
    "Act",
    "AddFile",
    "Assign",
    "Block",
    "Changed",
    "Claim",
    "Command",
    "Complete",
    "Fail",
    "IncomingFile",
    "Loaded",
    "ProviderConfirmed",
    "Skip",
    "Start",
    "StepMove",
    "Tick",
    "Unblock",
    "Upload",
    "available_acts",
    "context_for",
    "load_step",
    "perform",
    "provider_step",
]


@traced("perform")
@transactional
def perform(actor: User, step_id: int, command: Command, *, with_steps: bool = False) -> Changed:
    """`with_steps`: load every step of the instance before the commit, for a caller
    that shows them all (the API's answer)."""
    loaded = load_step(step_id, actor, all_steps=with_steps)
    instance = loaded.instance
    observe(
        firm=instance.org_id,
        matter=instance.matter_id,
        instance=instance.id,
        step=step_id,
        action_type=loaded.step.action_type,
        event=command.act.value,
    )
    status_before = loaded.instance.status
    if is_repeat(loaded, command):  # a provider's retried delivery changes nothing
        state = loaded.step.action_state
        return changed_from(loaded.instance, step_id, [], status_before, state, loaded.access)
    check_permission(
        step_view(loaded.instance, loaded.step), Who(actor_of(actor), loaded.access), command.act
    )
    moved = apply(loaded, actor, command)
    if moved:
        advance(
            loaded.instance,
            actor.id,
            moved=None if with_steps else [loaded.step],
            revision=loaded.revision,
        )
    moves = journal.moves()
    state = loaded.step.action_state
    return changed_from(loaded.instance, step_id, moves, status_before, state, loaded.access)


def available_acts(
    step: InstanceStep, instance: WorkflowInstance, user: User, access: MatterAccess
) -> list[str]:
    """What a page offers this person on this step: the same table as the guard.
    `access`: the people of the instance's matter, which the caller has read once."""
    view = step_view(instance, step)
    return [act.value for act in allowed_acts(view, Who(actor_of(user), access))]
