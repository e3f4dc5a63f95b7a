"""Who may do what to a step: one table behind both the buttons a page offers
(`allowed`) and the guard of the step door (`check`). A property test proves the two
agree for every role, state and kind of step.

Decided here, explicitly:
- A READY step may be failed or blocked by its performer in one call (the engine starts
  it first, two audit rows), and the runner offers both.
- An approval's `approverRole` narrows who may act on it to the people of that role.
- `assigned_to_id` narrows it to one named person; a claim to the claimant.
- Admins may skip any open step; a performer may skip an optional one.
- Admins and the matter's owner assign steps, to eligible people only.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from webapp.engine.eligibility import Actor, MatterAccess, can_perform, why_not
from webapp.engine.errors import Conflict, InvalidTransition, NotAllowed, Unprocessable
from webapp.engine.roles import Role
from webapp.engine.states import (
    ACTIVE_STATUSES,
    CLOSED_STATES,
    InstanceStatus,
    StepState,
)


class Act(StrEnum):
    """What a person (or a provider, for them) asks of a step."""

    CLAIM = "claim"
    START = "start"
    COMPLETE = "complete"
    TICK = "tick"  # one checklist item; the last one completes the step
    UPLOAD = "upload"  # files for a document request; completes the step
    ADD_FILE = "add_file"  # one more file for a document request already answered
    CONFIRM = "confirm"  # a provider confirmed a signature or a payment
    FAIL = "fail"
    BLOCK = "block"
    UNBLOCK = "unblock"
    SKIP = "skip"
    ASSIGN = "assign"


class Kind(StrEnum):
    """How a step is completed, as far as permissions care."""

    BY_HAND = "by_hand"  # checklist, approval
    UPLOAD = "upload"  # document request
    PROVIDER = "provider"  # signature, payment: through the provider's webhook
    AUTOMATED = "automated"  # the worker runs it


@dataclass(frozen=True)
class StepView:
    """What the rules read of one step, as plain values."""

    state: StepState
    kind: Kind
    role_scope: str
    required: bool
    assigned_to_id: int | None
    claimed_by_id: int | None
    instance_status: str
    title: str = "this step"
    approver_role: str | None = None
    checklist: bool = False


@dataclass(frozen=True)
class Who:
    actor: Actor
    access: MatterAccess


def acting_role(view: StepView) -> str:
    """The role whose people act: an approval's `approverRole` narrows its scope."""
    return view.approver_role or view.role_scope


def is_performer(view: StepView, who: Who) -> bool:
    return can_perform(
        acting_role(view), view.assigned_to_id, view.claimed_by_id, who.actor, who.access
    )


def is_admin(who: Who) -> bool:
    return who.actor.role == Role.ADMIN


def is_editor(who: Who) -> bool:
    return who.access.can_edit(who.actor.id, who.actor.role)


def _skipper(view: StepView, who: Who) -> bool:
    return is_admin(who) or (not view.required and is_performer(view, who))


def _performer(view: StepView, who: Who) -> bool:
    return is_performer(view, who)


def _editor(view: StepView, who: Who) -> bool:
    return is_editor(who)


S, K = StepState, Kind
HUMAN = frozenset({K.BY_HAND, K.UPLOAD, K.PROVIDER})
OPEN = frozenset({S.READY, S.IN_PROGRESS})


@dataclass(frozen=True)
class Rule:
    states: frozenset[StepState]
    kinds: frozenset[Kind]
    who: Callable[[StepView, Who], bool]


# The one table: in which states, for which kinds of step, and by whom.
RULES: dict[Act, Rule] = {
    Act.CLAIM: Rule(frozenset({S.READY}), HUMAN, _performer),
    Act.START: Rule(frozenset({S.READY}), HUMAN, _performer),
    Act.COMPLETE: Rule(OPEN, frozenset({K.BY_HAND}), _performer),
    Act.TICK: Rule(OPEN, frozenset({K.BY_HAND}), _performer),
    Act.UPLOAD: Rule(OPEN, frozenset({K.UPLOAD}), _performer),
    # The step stays COMPLETED: the file is filed with it (docs/client-links.md).
    Act.ADD_FILE: Rule(frozenset({S.COMPLETED}), frozenset({K.UPLOAD}), _performer),
    Act.CONFIRM: Rule(OPEN, frozenset({K.PROVIDER}), _performer),
    Act.FAIL: Rule(OPEN, HUMAN, _performer),
    Act.BLOCK: Rule(OPEN, HUMAN, _performer),
    Act.UNBLOCK: Rule(frozenset({S.BLOCKED}), HUMAN, _performer),
    Act.SKIP: Rule(OPEN, frozenset(Kind), _skipper),
    # Open steps only (a step not reached yet is assigned by editing it: assignedToId).
    Act.ASSIGN: Rule(frozenset({S.READY, S.IN_PROGRESS, S.BLOCKED}), HUMAN, _editor),
}

# The acts a page offers as buttons or forms, in the order it shows them.
OFFERED = (
    Act.CLAIM,
    Act.COMPLETE,
    Act.TICK,
    Act.UPLOAD,
    Act.ADD_FILE,
    Act.START,
    Act.BLOCK,
    Act.FAIL,
    Act.UNBLOCK,
    Act.SKIP,
    Act.ASSIGN,
)


def refusal(view: StepView, who: Who, act: Act) -> Exception | None:
    """Why this person may not do `act` to the step now, as the error to raise; None
    when they may. The order is the order people understand: the workflow first, then
    who they are (409 when only another person's claim stands in the way: a race lost),
    then the step's state, then its kind."""
    rule = RULES[act]
    if view.instance_status not in ACTIVE_STATUSES:
        return _inactive(view.instance_status)
    # An act that does not fit the step's kind is refused like a payload that does not
    # fit its action type (422): the request is well formed, the step cannot take it.
    if act == Act.COMPLETE and view.kind == K.PROVIDER:
        return Unprocessable("This step completes through its provider, not by hand.")
    if act == Act.COMPLETE and view.kind == K.AUTOMATED:
        return Unprocessable("An automated step is completed by the worker.")
    if not rule.who(view, who):
        if _lost_to_a_claim(view, who, rule):
            return Conflict(
                f"Someone else claimed the step {view.title!r} first.",
                {"state": view.state, "event": act.value},
            )
        return NotAllowed(_not_allowed(view, who, act))
    if view.state not in rule.states:
        return _wrong_state(view.state, act, view.title)
    if view.kind not in rule.kinds:
        return Unprocessable(_wrong_kind(act))
    if act == Act.TICK and not view.checklist:
        return Unprocessable("Only a checklist step has items to tick.")
    return None


def check(view: StepView, who: Who, act: Act) -> None:
    error = refusal(view, who, act)
    if error is not None:
        raise error


def allowed(view: StepView, who: Who) -> list[Act]:
    """What a page offers this person on this step; deny by default."""
    return [act for act in OFFERED if refusal(view, who, act) is None]


def _inactive(status: str) -> Conflict:
    reasons: dict[str, str] = {
        InstanceStatus.CREATED: "it has not been started yet",
        InstanceStatus.PAUSED: "it is paused; resume it first",
        InstanceStatus.CANCELLED: "it was cancelled",
        InstanceStatus.COMPLETED: "it is already completed",
        InstanceStatus.FAILED: "it has failed",
    }
    return Conflict(
        f"This workflow accepts no step changes: {reasons.get(status, status)}.",
        {"instanceStatus": status},
    )


def _lost_to_a_claim(view: StepView, who: Who, rule: Rule) -> bool:
    """Refused only because another person claimed the step meanwhile (a lost race): a
    conflict with the step's state (409), not a lack of rights (403)."""
    if view.claimed_by_id is None or view.claimed_by_id == who.actor.id:
        return False
    return rule.who(replace(view, claimed_by_id=None), who)


def _not_allowed(view: StepView, who: Who, act: Act) -> str:
    if act == Act.SKIP and view.required and not is_admin(who):
        return "Only an admin can skip a required step."
    if act == Act.ASSIGN:
        return "Only an admin or the matter's owner can assign a step."
    reason = why_not(
        acting_role(view), view.assigned_to_id, view.claimed_by_id, who.actor, who.access
    )
    refused = f"You are not allowed to {act.value} the step {view.title!r}."
    return f"{refused} {reason}" if reason else refused


def _wrong_state(state: StepState, act: Act, title: str) -> Exception:
    details = {"state": state, "event": act.value}
    if state == S.PENDING:  # only the engine moves a PENDING step; a conflict all the same
        return InvalidTransition(
            f"Cannot {act.value} a step that is PENDING: it is waiting for its prerequisites.",
            details,
        )
    if state in CLOSED_STATES:
        return Conflict(f"Cannot {act.value} the step {title!r}: it is already {state}.", details)
    hints = {
        S.READY: "it has not been started yet",
        S.IN_PROGRESS: "it is already in progress",
        S.BLOCKED: "it is blocked; unblock it first",
    }
    return Conflict(f"Cannot {act.value} the step {title!r}: {hints.get(state, state)}.", details)


def _wrong_kind(act: Act) -> str:
    return {
        Act.UPLOAD: "Files can only be uploaded to a document request step.",
        Act.ADD_FILE: "Files can only be added to a document request step.",
        Act.CONFIRM: "Only a signature or payment step is confirmed by a provider.",
        Act.COMPLETE: "This step is not completed by hand.",
    }.get(act, f"This kind of step cannot be asked to {act.value}.")


# ---- what each role may read --------------------------------------------------------
# The same table decides what a person may read, for the API, the pages and idempotent
# replays alike (DESIGN.md "Roles and eligibility"):
# - Templates are the firm's know-how: admins and lawyers author them and start
#   workflows from them; paralegals and clients work the steps of an instance, which
#   carries its own copy of the steps, and never read a template.
# - An instance's parameters (`context`) and the team's email addresses are the firm's
#   working material: the people of the firm who see the matter read them; a client
#   sees the matter's people by name and their own steps, not the parameters.
# - An instance is readable by whoever sees its matter.


def may_read_templates(actor: Actor) -> bool:
    return actor.role in (Role.ADMIN, Role.LAWYER)


def may_migrate_in_bulk(actor: Actor) -> bool:
    """Moving every running workflow of a version reaches matters one person may not
    see: only admins, who see them all, do it."""
    return actor.role == Role.ADMIN


def may_see_matter(actor: Actor, access: MatterAccess) -> bool:
    return actor.org_id == access.org_id and access.can_see(actor.id, actor.role)


def reads_parameters(actor: Actor) -> bool:
    """Whether this role reads workflows' parameters at all (and may search by them)."""
    return actor.role != Role.CLIENT


def may_read_team_addresses(actor: Actor, access: MatterAccess) -> bool:
    return may_see_matter(actor, access) and actor.role != Role.CLIENT


# Triggers start workflows on any matter of the firm, acting as the admin who set them
# up: only admins see, create, change or delete them, and read their firings.
def may_manage_triggers(actor: Actor) -> bool:
    return actor.role == Role.ADMIN
