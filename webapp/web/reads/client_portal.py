"""A client's view of one workflow (the runner's page when a client opens it): what is asked
of them now, what they have done (with a receipt of each thing sent) and what happens
next — their own steps only, in plain words, no engine statuses, audit entries or keys."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from webapp.engine.roles import Role
from webapp.engine.states import StepState
from webapp.extensions import db
from webapp.models import Document, InstanceStep, Matter, Organization, User, WorkflowInstance
from webapp.services import providers as provider_service
from webapp.services.steps import available_acts
from webapp.web.reads.common import instance_and_access

TO_DO = (StepState.READY, StepState.IN_PROGRESS)
DONE = (StepState.COMPLETED,)

# How a workflow stands, as a client is told it (never the engine's status names).
WORKFLOW_WORDS = {
    "Created": "Not started yet",
    "Running": "Under way",
    "WaitingForInput": "Under way",
    "WaitingForApproval": "Under way",
    "Paused": "On hold for now",
    "Completed": "Finished",
    "Failed": "On hold — the firm is looking into it",
    "Cancelled": "Stopped by the firm",
}
# How one of their steps stands.
STEP_WORDS = {
    "PENDING": "Later",
    "READY": "To do",
    "IN_PROGRESS": "Started",
    "BLOCKED": "On hold",
    "COMPLETED": "Done",
    "FAILED": "On hold",
    "SKIPPED": "Not needed",
}


def workflow_words(status: str) -> str:
    return WORKFLOW_WORDS.get(status, "Under way")


def step_words(state: str) -> str:
    return STEP_WORDS.get(state, "")


@dataclass
class PortalStep:
    step: InstanceStep
    events: list[str]  # what this client may do (the permission table)
    documents: list[Document] = field(default_factory=list)
    # A payment or signature the firm has not set up yet (its provider lacks its keys).
    unavailable: str | None = None

    @property
    def ask(self) -> str:
        config = self.step.action_config or {}
        return str(config.get("requestText") or config.get("message") or "")

    @property
    def done_at(self) -> datetime | None:
        return self.step.completed_at


@dataclass
class PortalView:
    instance: WorkflowInstance
    matter: Matter
    firm: str
    lawyer: str
    to_do: list[PortalStep]
    done: list[PortalStep]
    later: list[PortalStep]

    @property
    def status_words(self) -> str:
        return workflow_words(self.instance.status)

    @property
    def next_words(self) -> str:
        """What happens next, in one sentence."""
        status = self.instance.status
        if status == "Completed":
            return f"Everything here is finished. {self.lawyer} will be in touch if anything else is needed."
        if status in ("Cancelled", "Failed", "Paused"):
            return f"{self.lawyer} at {self.firm} will tell you when this goes on."
        if self.to_do:
            return (
                f"Once you have done what is asked above, {self.lawyer} at {self.firm} takes it "
                "from there."
            )
        if self.later:
            return (
                f"{self.firm} is working on the next part. We will email you when "
                f"“{self.later[0].step.title}” is ready for you."
            )
        return f"{self.firm} is working on the next part; nothing more is needed from you for now."


def portal_view(user: User, matter_id: int, instance_id: int) -> PortalView:
    instance, access = instance_and_access(user, matter_id, instance_id)
    rows = db.session.scalars(
        select(InstanceStep)
        .where(InstanceStep.instance_id == instance.id, InstanceStep.role_scope == Role.CLIENT)
        .order_by(InstanceStep.order, InstanceStep.id)
    ).all()
    documents: dict[int, list[Document]] = defaultdict(list)
    if rows:
        for document in db.session.scalars(
            select(Document)
            .where(Document.step_id.in_([s.id for s in rows]), Document.org_id == user.org_id)
            .order_by(Document.id)
        ):
            if document.step_id is not None:
                documents[document.step_id].append(document)
    firm = db.session.get(Organization, instance.org_id)
    cards = [
        PortalStep(
            step,
            available_acts(step, instance, user, access),
            documents.get(step.id, []),
            _unavailable(firm, step),
        )
        for step in rows
    ]
    return PortalView(
        instance=instance,
        matter=instance.matter,
        firm=firm.name if firm else "The firm",
        lawyer=instance.matter.owner.name,
        to_do=[c for c in cards if c.step.action_state in TO_DO],
        done=[c for c in cards if c.step.action_state in DONE],
        later=[c for c in cards if c.step.action_state == StepState.PENDING],
    )


def _unavailable(firm: Organization | None, step: InstanceStep) -> str | None:
    """Why a payment or signature cannot start yet, in a client's words (the staff runner
    names the missing keys)."""
    if firm is None or step.action_state != StepState.READY:
        return None
    if step.action_type not in provider_service.PROVIDER_STEP_TYPES:
        return None
    configured = (step.action_config or {}).get("provider")
    if provider_service.step_setup_problem(firm, step.action_type, configured) is None:
        return None
    what = "Online payment" if step.action_type == "PAYMENT_CLIENT" else "Online signing"
    return (
        f"{what} is not available yet: {firm.name} still has to set it up. "
        "Please check back later, or contact them."
    )
