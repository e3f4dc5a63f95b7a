"""What each command does to a step once the permission table said yes. Each function
changes the step through its handler and the step machine (services/steps/advance), and
says whether the step's state moved (then the graph advances)."""

from typing import Any

from webapp.adapters.storage import IncomingFile
from webapp.engine.actions import get_handler
from webapp.engine.actions.checklist import ChecklistHandler
from webapp.engine.actions.request_doc import RequestDocHandler
from webapp.engine.errors import Invalid
from webapp.engine.permissions import acting_role
from webapp.engine.roles import Role
from webapp.engine.states import StepEvent, StepState
from webapp.models import DocumentSource, User
from webapp.persistence.journal import record_event
from webapp.services import documents, notifications
from webapp.services.access import require_assignable
from webapp.services.events import emit_for_instance
from webapp.services.steps.advance import complete_step, fail_step, step_event
from webapp.services.steps.commands import (
    AddFile,
    Assign,
    Block,
    Claim,
    Command,
    Complete,
    Fail,
    ProviderConfirmed,
    Skip,
    Start,
    Tick,
    Unblock,
    Upload,
)
from webapp.services.steps.loading import Loaded, context_for, step_view

E = StepEvent
MAX_REASON = 2000
AUDITED_OUTPUT = {"approved", "comment", "files", "paid", "signed", "signedDocumentId"}
AUDITED_OUTPUT |= {"originalSha256", "signedSha256", "signedDocument"}


def is_repeat(loaded: Loaded, command: Command) -> bool:
    """Providers retry their deliveries: a confirmation of a step it already completed."""
    return (
        isinstance(command, ProviderConfirmed)
        and loaded.step.action_state == StepState.COMPLETED
        and loaded.step.external_ref == command.ref
    )


def apply(loaded: Loaded, actor: User, command: Command) -> bool:
    """Returns whether the step's state moved."""
    match command:
        case Claim() | Start():
            start(loaded, actor.id, command.act.value)
        case Complete(payload=payload, from_form=from_form):
            if from_form:
                payload = get_handler(loaded.step.action_type).payload_from_form(payload)
            start_if_ready(loaded, actor.id)
            complete(loaded, actor.id, payload)
        case Tick(item=item, checked=checked):
            return tick(loaded, actor.id, item, checked)
        case Upload(files=files):
            upload(loaded, actor, files)
        case AddFile(files=files):
            add_file(loaded, actor, files)
            return False
        case ProviderConfirmed(ref=ref, payload=payload):
            if loaded.step.external_ref != ref:
                raise Invalid("The provider's confirmation names another session.")
            check_provider(loaded, command)
            if command.document is not None:
                file_signed_copy(loaded, actor, command.document)
            complete(loaded, actor.id, payload)
        case Fail(reason=reason):
            fail(loaded, actor.id, required_reason(reason))
        case Block(reason=reason):
            start_if_ready(loaded, actor.id)
            step_event(
                loaded.instance, loaded.step, E.BLOCK, actor.id, {"reason": required_reason(reason)}
            )
        case Unblock():
            step_event(loaded.instance, loaded.step, E.UNBLOCK, actor.id)
        case Skip(reason=reason):
            extra = {"reason": optional_reason(reason)} if optional_reason(reason) else {}
            step_event(loaded.instance, loaded.step, E.SKIP, actor.id, extra)
        case Assign(user_id=user_id):
            assign(loaded, actor, user_id)
            return False
    return True


def check_provider(loaded: Loaded, command: ProviderConfirmed) -> None:
    """A provider's event is taken only for the kind of step its endpoint serves, and
    only from the provider the step was opened with."""
    step = loaded.step
    if command.for_type is not None and step.action_type != command.for_type:
        raise Invalid(
            f"This webhook is for {get_handler(command.for_type).label.lower()} steps; "
            f"{step.title!r} is a {get_handler(step.action_type).label.lower()} step."
        )
    opened_with = (step.action_data or {}).get("provider", "sandbox")
    if command.provider is not None and opened_with != command.provider:
        raise Invalid(
            f"The step {step.title!r} was opened with {opened_with}, not {command.provider}."
        )


def file_signed_copy(loaded: Loaded, actor: User, signed: IncomingFile) -> None:
    """The signed copy, as the next version of the document signed (or a new document
    when the step named none of the matter's), shared with the client who signed it."""
    step, instance = loaded.step, loaded.instance
    data = dict(step.action_data or {})
    original = documents.matter_document(
        instance.org_id, instance.matter_id, data.get("documentId")
    )
    document = documents.file_document(
        org_id=instance.org_id,
        matter_id=instance.matter_id,
        name=signed.filename,
        data=signed.data,
        content_type=signed.content_type,
        source=DocumentSource.SIGNATURE,
        step_id=step.id,
        uploaded_by_id=actor.id,
        shared_with_client=True,
        replaces=original,
    )
    step.action_data = {
        **data,
        "signedDocumentId": document.id,
        "signedSha256": document.sha256,
        "originalSha256": original.sha256 if original is not None else None,
    }


def start(loaded: Loaded, user_id: int | None, event: str = E.START) -> None:
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
    step_event(loaded.instance, loaded.step, StepEvent(event), user_id)


def start_if_ready(loaded: Loaded, user_id: int | None) -> None:
    """Completing, failing or blocking a READY step starts it first: one call, two
    audit rows."""
    if loaded.step.action_state == StepState.READY:
        start(loaded, user_id)


def complete(loaded: Loaded, user_id: int | None, payload: dict[str, Any]) -> None:
    step, instance = loaded.step, loaded.instance
    outcome = get_handler(step.action_type).complete(context_for(loaded, user_id), payload)
    step.action_data = outcome.action_data
    output = outcome.output or {}
    audit = {key: value for key, value in output.items() if key in AUDITED_OUTPUT}
    complete_step(instance, step, output, user_id, audit)
    if user_id is not None and loaded.access.members.get(user_id) == Role.CLIENT:
        notifications.client_receipt(instance, step, user_id)


def fail(loaded: Loaded, user_id: int, reason: str) -> None:
    start_if_ready(loaded, user_id)
    handler = get_handler(loaded.step.action_type)
    loaded.step.action_data = handler.fail(context_for(loaded, user_id), reason).action_data
    fail_step(loaded.instance, loaded.step, reason, user_id)


def tick(loaded: Loaded, user_id: int, item: str, checked: bool) -> bool:
    """Ticking is saved as the person goes; ticking the last item completes the step.
    Returns whether the step's state moved."""
    handler = get_handler(loaded.step.action_type)
    assert isinstance(handler, ChecklistHandler)  # the permission table checked the kind
    was = loaded.step.action_state
    start_if_ready(loaded, user_id)
    loaded.step.action_data = handler.tick(context_for(loaded, user_id), item, checked)
    ctx = context_for(loaded, user_id)
    if handler.all_ticked(ctx):
        complete(loaded, user_id, {"checkedItems": ctx.action_data["checkedItems"]})
    return loaded.step.action_state != was


def upload(loaded: Loaded, actor: User, files: list[Any]) -> None:
    handler = get_handler(loaded.step.action_type)
    assert isinstance(handler, RequestDocHandler)  # the permission table checked the kind
    with documents.checked_files(files, handler, context_for(loaded, actor.id)) as checked:
        start_if_ready(loaded, actor.id)
        stored = documents.store_for_step(actor, loaded.instance.matter_id, loaded.step.id, checked)
    complete(loaded, actor.id, {"files": stored})
    for document in stored:
        emit_for_instance(
            loaded.instance, "document.uploaded", {"stepId": loaded.step.id, **document}
        )


def add_file(loaded: Loaded, actor: User, files: list[Any]) -> None:
    """Files after the answer: checked as the first ones were, filed on the matter with
    the step, listed in its data, audited; the step's state and outputs do not move."""
    handler = get_handler(loaded.step.action_type)
    assert isinstance(handler, RequestDocHandler)  # the permission table checked the kind
    with documents.checked_files(files, handler, context_for(loaded, actor.id)) as checked:
        stored = documents.store_for_step(actor, loaded.instance.matter_id, loaded.step.id, checked)
    data = dict(loaded.step.action_data or {})
    loaded.step.action_data = {**data, "files": [*data.get("files", []), *stored]}
    record_event(
        org_id=loaded.instance.org_id,
        event_type="step.file_added",
        actor_id=actor.id,
        matter_id=loaded.instance.matter_id,
        instance_id=loaded.instance.id,
        step_id=loaded.step.id,
        payload={"key": loaded.step.key, "files": stored},
    )
    for document in stored:
        emit_for_instance(
            loaded.instance, "document.uploaded", {"stepId": loaded.step.id, **document}
        )


def assign(loaded: Loaded, actor: User, user_id: int | None) -> None:
    """Narrow the step to one named person, who must be eligible for it; None widens it
    again to everyone its role allows. A claim held by someone else is released."""
    step = loaded.step
    if user_id is not None:
        role = acting_role(step_view(loaded.instance, step))
        require_assignable(actor.org_id, role, loaded.access, user_id)
    before = step.assigned_to_id
    step.assigned_to_id = user_id
    if step.claimed_by_id is not None and user_id is not None and step.claimed_by_id != user_id:
        step.claimed_by_id = None
    record_event(
        org_id=loaded.instance.org_id,
        event_type="step.assigned",
        actor_id=actor.id,
        matter_id=loaded.instance.matter_id,
        instance_id=loaded.instance.id,
        step_id=step.id,
        payload={"key": step.key, "from": before, "to": user_id},
    )
    if user_id is not None and user_id != before:
        notifications.step_assigned(loaded.instance, step, user_id)


def required_reason(reason: str | None) -> str:
    text = optional_reason(reason)
    if not text:
        raise Invalid("Give a reason.", [{"field": "reason", "message": "Give a reason."}])
    return text


def optional_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) > MAX_REASON:
        raise Invalid("The reason is too long (2,000 characters at most).")
    return text
