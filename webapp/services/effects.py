"""The two sides of a worker's outside call that read or write the database, by effect:
`prepare` adds what the call needs to its request, in the step's first transaction (a
template and its merge data; the attachments' files), and `settle` turns what came back
into the step's output, in its second (the rendered file filed on the matter)."""

from collections.abc import Callable
from typing import Any

from webapp.models import InstanceStep, WorkflowInstance
from webapp.services import attachments, document_templates

Side = Callable[[WorkflowInstance, InstanceStep, dict[str, Any]], dict[str, Any]]
PREPARE: dict[str, Side] = {
    "render": document_templates.render_request,
    "email": attachments.attachment_request,
}
SETTLE: dict[str, Side] = {"render": document_templates.file_rendered}


def prepare(
    effect: str, instance: WorkflowInstance, step: InstanceStep, request: dict[str, Any]
) -> dict[str, Any]:
    side = PREPARE.get(effect)
    return side(instance, step, request) if side else request


def settle(
    effect: str, instance: WorkflowInstance, step: InstanceStep, result: dict[str, Any]
) -> dict[str, Any]:
    side = SETTLE.get(effect)
    return side(instance, step, result) if side else result
