"""The instance editor: the steps of one instance and which of them may change."""

from dataclasses import dataclass, field

from webapp.engine.errors import NotFound
from webapp.engine.roles import Role
from webapp.engine.states import StepState
from webapp.models import InstanceStep, Matter, User, WorkflowInstance
from webapp.services.access import require_editor
from webapp.services.instances import load_instance
from webapp.web.reads.common import ActionType, action_label, action_types


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
