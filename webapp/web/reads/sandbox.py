"""The sandbox provider pages: the step a session or payment intent belongs to."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from webapp.engine.errors import NotFound
from webapp.engine.states import DONE_STATES
from webapp.extensions import db
from webapp.models import InstanceStep, Matter, User, WorkflowInstance
from webapp.web.reads.runner import step_of


@dataclass
class SandboxSession:
    instance: WorkflowInstance
    step: InstanceStep
    matter: Matter
    done: bool

    @property
    def document(self) -> dict[str, Any] | None:
        """The document being signed, as the step found it when it started: its id,
        name, version and sha256; after signing, the signed copy too."""
        document = (self.step.action_data or {}).get("document")
        return document if isinstance(document, dict) else None

    @property
    def signed(self) -> dict[str, Any] | None:
        signed = (self.step.action_data or {}).get("signedDocument")
        return signed if isinstance(signed, dict) else None


def sandbox_session(user: User, reference: str) -> SandboxSession:
    """The step a sandbox session or payment intent belongs to, if this person may see it."""
    step_id = db.session.scalar(
        select(InstanceStep.id).where(InstanceStep.external_ref == reference)
    )
    if step_id is None or not reference.startswith("sbx_"):
        raise NotFound(f"No sandbox session {reference!r}.")
    instance, step = step_of(user, step_id)
    return SandboxSession(instance, step, instance.matter, step.action_state in DONE_STATES)
