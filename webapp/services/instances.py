"""Workflow instances: instantiate from a published version, lifecycle, and edits."""

import hashlib
import json
from typing import Any

from sqlalchemy import select, text

from webapp.engine.errors import Conflict, Invalid, NotFound
from webapp.engine.roles import Role
from webapp.engine.states import (
    TERMINAL_STATUSES,
    InstanceStatus,
    StepState,
    check_instance_transition,
)
from webapp.extensions import db
from webapp.models import InstanceChange, InstanceStep, Matter, User, WorkflowInstance
from webapp.models.base import utcnow
from webapp.services.access import load_matter, matter_access, require_editor, visible_matters
from webapp.services.base import record_event, transactional
from webapp.services.definitions import STEP_FIELDS
from webapp.services.progress import advance, set_status
from webapp.services.templates import require_instantiable

IS = InstanceStatus


def load_instance(instance_id: int, user: User, *, for_update: bool = False) -> WorkflowInstance:
    query = select(WorkflowInstance).where(
        WorkflowInstance.id == instance_id, WorkflowInstance.org_id == user.org_id
    )
    if for_update:
        query = query.with_for_update(of=WorkflowInstance).execution_options(populate_existing=True)
    instance = db.session.scalar(query)
    if instance is None:
        raise NotFound(f"Workflow instance {instance_id} was not found.")
    load_matter(instance.matter_id, user)  # not visible to this person: not found
    return instance


def visible_steps(instance: WorkflowInstance, user: User) -> list[InstanceStep]:
    """Clients see only the steps scoped to them."""
    if user.role == Role.CLIENT:
        return [s for s in instance.steps if s.role_scope == Role.CLIENT]
    return list(instance.steps)


def list_instances(
    user: User,
    matter_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[WorkflowInstance], int]:
    matters = visible_matters(user).with_only_columns(Matter.id)
    query = select(WorkflowInstance).where(
        WorkflowInstance.org_id == user.org_id, WorkflowInstance.matter_id.in_(matters)
    )
    if matter_id is not None:
        query = query.where(WorkflowInstance.matter_id == matter_id)
    if status:
        query = query.where(WorkflowInstance.status == status)
    rows = db.session.scalars(query.order_by(WorkflowInstance.id.desc())).all()
    return list(rows[offset : offset + limit]), len(rows)


def _request_hash(template_id: int, matter_id: int, title: str | None, params: dict) -> str:
    body = json.dumps([template_id, matter_id, title, params], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _existing_request(user: User, request_id: str | None, digest: str) -> WorkflowInstance | None:
    if not request_id:
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        # Two requests with one requestId wait for each other here, so the second sees
        # the first's instance (200) instead of losing a unique-index race (409).
        # SQLite needs nothing: its write transactions are exclusive (BEGIN IMMEDIATE).
        key = f"instantiate:{user.org_id}:{request_id}"
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key}
        )
    instance = db.session.scalar(
        select(WorkflowInstance).where(
            WorkflowInstance.org_id == user.org_id, WorkflowInstance.request_id == request_id
        )
    )
    if instance is not None and instance.request_hash != digest:
        raise Conflict(
            f"requestId {request_id!r} was already used with a different request.",
            {"instanceId": instance.id},
        )
    return instance


def _new_instance(
    user: User,
    template_id: int,
    matter_id: int,
    title: str | None,
    parameters: dict[str, Any] | None,
    request_id: str | None,
    digest: str,
) -> WorkflowInstance:
    template = require_instantiable(template_id, user)
    matter = load_matter(matter_id, user)
    if not matter_access(matter).can_edit(user.id, user.role) and user.role != Role.LAWYER:
        raise Invalid("Only admins and lawyers can start a workflow on a matter.")
    if matter.status != "OPEN":
        raise Invalid(f"Matter {matter.reference} is {matter.status.lower()}; reopen it first.")
    instance = WorkflowInstance(
        org_id=user.org_id,
        matter_id=matter.id,
        template_id=template.id,
        template_version=template.version,
        base_ref={"key": template.key, "version": template.version, "checksum": template.checksum},
        title=(title or template.name).strip(),
        status=IS.CREATED,
        current_step=0,
        context=parameters or {},
        step_data={},
        created_by_id=user.id,
        request_id=request_id,
        request_hash=digest,
    )
    for step in template.steps:
        values = {field: getattr(step, field) for field in STEP_FIELDS}
        instance.steps.append(
            InstanceStep(
                order=step.order,
                template_step_id=step.id,
                action_state=StepState.PENDING,
                action_data={},
                **values,
            )
        )
    db.session.add(instance)
    db.session.flush()
    record_event(
        org_id=user.org_id,
        event_type="instance.created",
        actor_id=user.id,
        matter_id=matter.id,
        instance_id=instance.id,
        template_id=template.id,
        new_status=IS.CREATED,
        payload={"templateKey": template.key, "templateVersion": template.version},
    )
    _record_change(
        instance, user, "created", {"templateKey": template.key, "version": template.version}
    )
    return instance


def _start(instance: WorkflowInstance, user: User) -> None:
    """The first steps become READY and the instance is Running at step 1; it waits on
    people only once work has moved (DESIGN.md, seed 000)."""
    set_status(instance, IS.RUNNING, user.id)
    advance(instance, user.id, settle=False)


@transactional
def instantiate(
    user: User,
    template_id: int,
    matter_id: int,
    title: str | None = None,
    parameters: dict[str, Any] | None = None,
    request_id: str | None = None,
    start: bool = True,
) -> tuple[WorkflowInstance, bool]:
    """Returns the instance and whether it was created (False: an idempotent replay)."""
    digest = _request_hash(template_id, matter_id, title, parameters or {})
    existing = _existing_request(user, request_id, digest)
    if existing is not None:
        return existing, False
    instance = _new_instance(user, template_id, matter_id, title, parameters, request_id, digest)
    if start:
        _start(instance, user)
    return instance, True


@transactional
def change_status(
    user: User, instance_id: int, target: str, reason: str | None = None
) -> WorkflowInstance:
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    try:
        target_status = InstanceStatus(target)
    except ValueError:
        allowed = ", ".join(s.value for s in InstanceStatus)
        raise Invalid(f"Unknown status {target!r}. Statuses are: {allowed}.") from None
    check_instance_transition(instance.status, target_status)
    if target_status in (IS.COMPLETED, IS.FAILED, IS.WAITING_FOR_INPUT, IS.WAITING_FOR_APPROVAL):
        raise Invalid(f"{target_status.value} is set by the engine from the steps, not by hand.")
    if instance.status == IS.CREATED and target_status == IS.RUNNING:
        _start(instance, user)
    elif target_status == IS.RUNNING:  # resume
        set_status(instance, IS.RUNNING, user.id, reason)
        advance(instance, user.id)
    else:
        set_status(instance, target_status, user.id, reason)
    return instance


@transactional
def rename_instance(user: User, instance_id: int, title: str) -> WorkflowInstance:
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    title = (title or "").strip()
    if not title:
        raise Invalid("A workflow needs a title.")
    if title != instance.title:
        _record_change(
            instance, user, "metadata_changed", {"title": {"from": instance.title, "to": title}}
        )
        instance.title = title
        instance.updated_at = utcnow()
    return instance


def _require_editor(instance: WorkflowInstance, user: User) -> None:
    require_editor(instance.matter, user)


def _require_editable(instance: WorkflowInstance) -> None:
    if instance.status in TERMINAL_STATUSES:
        raise Conflict(f"This workflow is {instance.status}; its steps can no longer change.")


def _record_change(
    instance: WorkflowInstance, user: User | None, change_type: str, detail: dict[str, Any]
) -> None:
    db.session.add(
        InstanceChange(
            org_id=instance.org_id,
            instance_id=instance.id,
            actor_id=user.id if user else None,
            change_type=change_type,
            detail=detail,
            created_at=utcnow(),
        )
    )


def _find_step(instance: WorkflowInstance, step_id: int) -> InstanceStep:
    for step in instance.steps:
        if step.id == step_id:
            return step
    raise NotFound(f"Step {step_id} is not part of this workflow.")


def _renumber(instance: WorkflowInstance, ordered: list[InstanceStep]) -> None:
    for order, step in enumerate(ordered, start=1):
        if step.order != order:
            step.order = order
    instance.steps.sort(key=lambda s: s.order)


EDITABLE_FIELDS = (
    "title",
    "action_config",
    "role_scope",
    "required",
    "depends_on",
    "condition",
    "on_failure",
    "retry",
    "due_in",
    "assigned_to_id",
)


@transactional
def add_step(
    user: User, instance_id: int, values: dict[str, Any], order: int | None = None
) -> InstanceStep:
    """`values` are validated row values (services.definitions.validated_steps)."""
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    _require_editable(instance)
    if any(s.key == values["key"] for s in instance.steps):
        raise Conflict(f"This workflow already has a step with key {values['key']!r}.")
    position = (
        len(instance.steps) + 1 if order is None else max(1, min(order, len(instance.steps) + 1))
    )
    step = InstanceStep(order=position, action_state=StepState.PENDING, action_data={}, **values)
    ordered = list(instance.steps)
    ordered.insert(position - 1, step)
    instance.steps.append(step)
    _renumber(instance, ordered)
    db.session.flush()
    _record_change(
        instance,
        user,
        "step_added",
        {"stepId": step.id, "key": step.key, "order": step.order, "title": step.title},
    )
    advance(instance, user.id)
    return step


@transactional
def update_step(
    user: User, instance_id: int, step_id: int, changes: dict[str, Any]
) -> InstanceStep:
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    _require_editable(instance)
    step = _find_step(instance, step_id)
    if step.action_state in (StepState.COMPLETED, StepState.SKIPPED, StepState.FAILED):
        raise Conflict(
            f"Step {step.title!r} is {step.action_state}; a finished step cannot be edited."
        )
    diff = {}
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise Invalid(f"{field} cannot be edited on a running workflow.")
        if getattr(step, field) != value:
            diff[field] = {"from": getattr(step, field), "to": value}
            setattr(step, field, value)
    if diff:
        step.updated_at = utcnow()
        _record_change(
            instance, user, "step_modified", {"stepId": step.id, "key": step.key, "changes": diff}
        )
        advance(instance, user.id)
    return step


@transactional
def remove_step(user: User, instance_id: int, step_id: int) -> WorkflowInstance:
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    _require_editable(instance)
    step = _find_step(instance, step_id)
    if step.action_state in (StepState.IN_PROGRESS, StepState.COMPLETED, StepState.BLOCKED):
        raise Conflict(f"Step {step.title!r} is {step.action_state} and cannot be removed.")
    if len(instance.steps) == 1:
        raise Invalid("A workflow needs at least one step.")
    instance.steps.remove(step)
    _renumber(instance, list(instance.steps))
    db.session.flush()
    _record_change(
        instance, user, "step_removed", {"stepId": step_id, "key": step.key, "title": step.title}
    )
    advance(instance, user.id)
    return instance


@transactional
def reorder_steps(user: User, instance_id: int, step_ids: list[int]) -> WorkflowInstance:
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    _require_editable(instance)
    current = [s.id for s in instance.steps]
    if sorted(step_ids) != sorted(current) or len(set(step_ids)) != len(step_ids):
        raise Invalid(
            "stepIds must list every step of the workflow exactly once.", {"expected": current}
        )
    if step_ids == current:
        return instance
    by_id = {s.id: s for s in instance.steps}
    before = [s.key for s in instance.steps]
    _renumber(instance, [by_id[i] for i in step_ids])
    _record_change(
        instance, user, "step_reordered", {"from": before, "to": [s.key for s in instance.steps]}
    )
    advance(instance, user.id)
    return instance


def step_changes(
    user: User, instance_id: int, step_id: int, patch: dict[str, Any]
) -> dict[str, Any]:
    """A camelCase patch as validated row values; the action config is checked by its handler."""
    from webapp.engine.actions import get_handler
    from webapp.engine.definition import parse_duration

    instance = load_instance(instance_id, user)
    step = _find_step(instance, step_id)
    changes: dict[str, Any] = {}
    for field, value in patch.items():
        if field == "action_config":
            value = get_handler(step.action_type).validate_config(value)
        if field == "due_in" and value:
            try:
                parse_duration(value)
            except ValueError as error:
                raise Invalid(str(error)) from None
        if field == "title":
            value = (value or "").strip()
            if not value:
                raise Invalid("A step needs a title.")
        keys = {s.key for s in instance.steps}
        if field == "depends_on" and value is not None and not set(value) <= keys - {step.key}:
            raise Invalid("dependsOn names a step that is not in this workflow.")
        changes[field] = value
    return changes


@transactional
def advance_instance(user: User, instance_id: int) -> WorkflowInstance:
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    advance(instance, user.id)
    return instance
