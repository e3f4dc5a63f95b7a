"""Workflow instances: instantiate from a published version, lifecycle, and edits.

Every edit of an instance's definition writes exactly one append-only history entry per
change it makes (`created`, `step_added`, `step_removed`, `step_reordered`,
`step_modified`, `metadata_changed`), in the same transaction as the change."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy import case, func, select, text, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import lazyload, load_only
from sqlalchemy.orm.attributes import set_committed_value

from webapp.engine import drift, migration, permissions
from webapp.engine.actions import get_handler
from webapp.engine.actions.base import validation_details
from webapp.engine.definition import StepDefinition, assign_keys, normalize_due_in
from webapp.engine.errors import Conflict, Invalid, NotAllowed, NotFound, Unprocessable
from webapp.engine.roles import Role
from webapp.engine.states import (
    TERMINAL_STATUSES,
    InstanceStatus,
    StepState,
    check_manual_transition,
)
from webapp.engine.step_rows import STEP_FIELDS, check_role, definition_of, validated_steps
from webapp.engine.text import refuse_line_breaks
from webapp.extensions import db
from webapp.models import InstanceChange, InstanceStep, User, WorkflowInstance
from webapp.models.base import utcnow
from webapp.observability import traced
from webapp.persistence import journal
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import transactional
from webapp.services.access import (
    actor_of,
    load_matter,
    matter_access,
    not_screened,
    on_visible_matter,
    require_assignable,
    require_editor,
)
from webapp.services.steps.advance import advance, set_status
from webapp.services.steps.changed import Changed, changed_from
from webapp.services.steps.conditions import TEMPLATE_KEY, edit_source, source_definition
from webapp.services.templates import latest_published, require_instantiable
from webapp.services.versions import base_template, plan_for, target_template

IS = InstanceStatus

# The single-step edit functions and the whole-definition replacement share these rules.
FINISHED_STATES = (StepState.COMPLETED, StepState.SKIPPED, StepState.FAILED)
STARTED_STATES = (StepState.IN_PROGRESS, StepState.COMPLETED, StepState.BLOCKED)


def load_instance(instance_id: int, user: User, *, for_update: bool = False) -> WorkflowInstance:
    query = select(WorkflowInstance).where(
        WorkflowInstance.id == instance_id, WorkflowInstance.org_id == user.org_id
    )
    if not for_update:  # its steps are read when used (one query), not whatever the use
        query = query.options(lazyload(WorkflowInstance.steps))
    if for_update:
        query = query.with_for_update(of=WorkflowInstance).execution_options(populate_existing=True)
    instance = db.session.scalar(query)
    missing = NotFound(f"Workflow instance {instance_id} was not found.")
    if instance is None:
        raise missing
    try:
        load_matter(instance.matter_id, user)
    except NotFound:  # not visible to this person: not found, without naming the matter
        raise missing from None
    return instance


def visible_steps(instance: WorkflowInstance, user: User) -> list[InstanceStep]:
    """Clients see only the steps scoped to them."""
    if user.role == Role.CLIENT:
        return [s for s in instance.steps if s.role_scope == Role.CLIENT]
    return list(instance.steps)


def require_definition_reader(user: User) -> None:
    """A definition, its history and its drift name every step; clients see only theirs."""
    if user.role == Role.CLIENT:
        raise NotAllowed("Clients see a workflow's progress, not its definition or history.")


# ---- listing ------------------------------------------------------------------------


def json_contains(container: Any, contained: Any) -> bool:
    """PostgreSQL's `@>` for JSON values, for databases without it: an object contains
    the keys it is given with contained values, an array contains every given element."""
    if isinstance(contained, dict):
        return isinstance(container, dict) and all(
            key in container and json_contains(container[key], value)
            for key, value in contained.items()
        )
    if isinstance(contained, list):
        return isinstance(container, list) and all(
            any(json_contains(item, wanted) for item in container) for wanted in contained
        )
    if isinstance(container, (dict, list)) or isinstance(container, bool) != isinstance(
        contained, bool
    ):
        return False
    return container == contained


SUMMARY = (
    "id",
    "org_id",
    "matter_id",
    "template_id",
    "template_version",
    "title",
    "status",
    "current_step",
    "version_id",
    "created_at",
    "updated_at",
)


def list_instances(
    user: User,
    matter_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
    context: dict[str, Any] | None = None,
    after: int | None = None,
) -> tuple[list[WorkflowInstance], int]:
    """The instances this person sees, newest first, and how many match. A page starts
    below the id `after` (keyset: the (firm, id) index, whatever the page's depth) and/or
    skips `offset`. The count is its own query without an order, on the same index: it
    never sorts the table to page it. Rows come without their steps or matter.

    `context` keeps instances whose context contains it (JSONB `@>` and its GIN index
    on PostgreSQL; compared row by row elsewhere). Only people who read parameters may
    search by them: an answer to a search is a reading."""
    if context is not None and not permissions.reads_parameters(actor_of(user)):
        raise NotAllowed("Clients cannot search workflows by their parameters.")
    query = select(WorkflowInstance).where(WorkflowInstance.org_id == user.org_id)
    if user.role != Role.ADMIN:  # an admin sees every matter of the firm: no join needed
        query = query.where(on_visible_matter(WorkflowInstance.matter_id, user))
    else:  # …but the ones a wall keeps them from
        query = query.where(not_screened(WorkflowInstance.matter_id, user))
    if matter_id is not None:
        query = query.where(WorkflowInstance.matter_id == matter_id)
    if status:
        query = query.where(WorkflowInstance.status == status)
    in_database = context is None or db.engine.dialect.name == "postgresql"
    if context is not None and in_database:
        query = query.where(type_coerce(WorkflowInstance.context, JSONB).contains(context))
    query = query.options(lazyload(WorkflowInstance.steps), lazyload(WorkflowInstance.matter))
    newest_first = WorkflowInstance.id.desc()
    if not in_database:  # SQLite with a context filter: compared here, one by one
        rows = [row for row in db.session.scalars(query.order_by(newest_first))]
        matching = [row for row in rows if json_contains(row.context, context)]
        page = [row for row in matching if after is None or row.id < after]
        return page[offset : offset + limit], len(matching)
    total = db.session.scalar(query.with_only_columns(func.count(), maintain_column_froms=True))
    if after is not None:
        query = query.where(WorkflowInstance.id < after)
    # A list row is a summary: its JSON documents (definition, context, step data) stay put.
    query = query.options(load_only(*(getattr(WorkflowInstance, name) for name in SUMMARY)))
    found = db.session.scalars(query.order_by(newest_first).limit(limit).offset(offset)).all()
    return list(found), total or 0


# ---- instantiate and lifecycle --------------------------------------------------------


def request_hash(template_id: int | str, matter_id: int, title: str | None, params: dict) -> str:
    body = json.dumps([template_id, matter_id, title, params], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _existing_request(user: User, request_id: str | None) -> WorkflowInstance | None:
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
    return db.session.scalar(
        select(WorkflowInstance).where(
            WorkflowInstance.org_id == user.org_id, WorkflowInstance.request_id == request_id
        )
    )


def _reused(request_id: str | None, instance: WorkflowInstance | None) -> Conflict:
    """The same requestId with a different request; the instance is named only to someone
    who may see it."""
    return Conflict(
        f"requestId {request_id!r} was already used with a different request.",
        {"instanceId": instance.id} if instance is not None else None,
    )


@dataclass(frozen=True)
class StartedBy:
    """What started a workflow (`trigger.type`, `trigger.data` in its conditions and
    templates): a person's button (`manual`), an API call (`api`), or a trigger."""

    type: str
    data: dict[str, Any]


MANUAL = StartedBy("manual", {})
API = StartedBy("api", {})


def _new_instance(
    user: User,
    template_id: int,
    matter_id: int,
    title: str | None,
    parameters: dict[str, Any] | None,
    request_id: str | None,
    digest: str,
    request_taken: bool = False,
    started_by: StartedBy | None = None,
    now: datetime | None = None,
) -> WorkflowInstance:
    template = require_instantiable(template_id, user, now)
    matter = load_matter(matter_id, user)
    if not matter_access(matter).can_edit(user.id, user.role) and user.role != Role.LAWYER:
        raise NotAllowed("Only admins and lawyers can start a workflow on a matter.")
    if matter.status != "OPEN":
        raise Conflict(f"Matter {matter.reference} is {matter.status.lower()}; reopen it first.")
    refuse_line_breaks(title, "A workflow's title", "title")
    if request_taken:  # by a workflow this person may not see: answered as a new request
        raise _reused(request_id, None)
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
        trigger_type=(started_by or MANUAL).type,
        trigger_data=(started_by or MANUAL).data,
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
    # The title is part of the snapshot: drift compares the current title with it.
    _record_change(
        instance,
        user,
        "created",
        {"templateKey": template.key, "templateVersion": template.version, "title": instance.title},
    )
    return instance


def _may_start(user: User) -> bool:
    return permissions.may_read_templates(actor_of(user))


def _may_see(user: User, instance: WorkflowInstance) -> bool:
    return permissions.may_see_matter(actor_of(user), matter_access(instance.matter))


def _start(instance: WorkflowInstance, user: User) -> None:
    """The first steps become READY and the instance is Running at step 1; it waits on
    people only once work has moved (DESIGN.md, seed 000)."""
    set_status(instance, IS.RUNNING, user.id)
    advance(instance, user.id, settle=False)


@transactional
def instantiate(
    user: User,
    template_id: int | str,
    matter_id: int,
    title: str | None = None,
    parameters: dict[str, Any] | None = None,
    request_id: str | None = None,
    start: bool = True,
    started_by: StartedBy = MANUAL,
    now: datetime | None = None,
) -> tuple[WorkflowInstance, bool]:
    """Returns the instance and whether it was created (False: an idempotent replay).
    `template_id` is a template version's id, or a template key: the latest published
    version of that key already in effect at `now` (the clock, unless a test gives one).
    A replay is matched on the reference as given, so retrying a
    request by key returns its instance even after a newer version is published; it is
    answered only to someone who may start workflows and see that instance, anyone else
    as if the requestId were new (404, 403, or 409 without naming the instance)."""
    digest = request_hash(template_id, matter_id, title, parameters or {})
    existing = _existing_request(user, request_id) if _may_start(user) else None
    if existing is not None and _may_see(user, existing):
        if existing.request_hash != digest:
            raise _reused(request_id, existing)
        return existing, False
    if isinstance(template_id, str):
        template_id = latest_published(user, template_id, now).id
    instance = _new_instance(
        user,
        template_id,
        matter_id,
        title,
        parameters,
        request_id,
        digest,
        request_taken=existing is not None,
        started_by=started_by,
        now=now,
    )
    if start:
        _start(instance, user)
    return instance, True


def _parse_status(target: str) -> InstanceStatus:
    try:
        return InstanceStatus(target)
    except ValueError:
        allowed = ", ".join(s.value for s in InstanceStatus)
        raise Invalid(f"Unknown status {target!r}. Statuses are: {allowed}.") from None


@transactional
def change_status(
    user: User, instance_id: int, target: str, reason: str | None = None
) -> WorkflowInstance:
    """Start (Created -> Running), pause, resume (Paused -> Running) or cancel. Each status
    the instance passes through is one audit event with old and new status and the actor."""
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    target_status = _parse_status(target)
    check_manual_transition(instance.status, target_status)
    if instance.status == IS.CREATED and target_status == IS.RUNNING:
        _start(instance, user)
    elif target_status == IS.RUNNING:  # resume: the engine settles the status again
        set_status(instance, IS.RUNNING, user.id, reason)
        advance(instance, user.id)
    else:
        set_status(instance, target_status, user.id, reason)
    if target_status == IS.CANCELLED:
        _cancel_sub_workflows(instance, user)
    return instance


def _cancel_sub_workflows(parent: WorkflowInstance, user: User) -> None:
    """Cancelling a workflow cancels its unfinished sub-workflows (core.subworkflow
    children), theirs in turn, in the same transaction: one status_changed row each.
    A finished child stays as it is. Each level is one locking query."""
    parents = [parent]
    while parents:
        children = db.session.scalars(
            select(WorkflowInstance)
            .where(
                WorkflowInstance.org_id == parent.org_id,
                WorkflowInstance.parent_instance_id.in_([p.id for p in parents]),
                WorkflowInstance.status.not_in(list(TERMINAL_STATUSES)),
            )
            .order_by(WorkflowInstance.id)
            .with_for_update(of=WorkflowInstance)
            .execution_options(populate_existing=True)
        ).all()
        for child in children:
            reason = f"Its parent workflow #{child.parent_instance_id} was cancelled."
            set_status(child, IS.CANCELLED, user.id, reason)
        parents = list(children)


@transactional
def rename_instance(user: User, instance_id: int, title: str) -> WorkflowInstance:
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    title = _clean_title(title)
    if title != instance.title:
        _record_change(
            instance, user, "metadata_changed", {"title": {"from": instance.title, "to": title}}
        )
        instance.title = title
        instance.updated_at = utcnow()
    return instance


@transactional
def update_instance(
    user: User,
    instance_id: int,
    title: str | None = None,
    status: str | None = None,
    reason: str | None = None,
) -> WorkflowInstance:
    """Rename and change status in one transaction: a refused status keeps the old title."""
    if status is None:
        if title is None:
            raise Invalid("Send a title, a status, or both.")
        return rename_instance(user, instance_id, title)
    if title is not None:
        rename_instance(user, instance_id, title)
    return change_status(user, instance_id, status, reason)


def _clean_title(title: str | None) -> str:
    title = (title or "").strip()
    if not title:
        raise Invalid("A workflow needs a title.")
    refuse_line_breaks(title, "A workflow's title", "title")
    return title


def _require_editor(instance: WorkflowInstance, user: User) -> None:
    require_editor(instance.matter, user)


def _require_editable(instance: WorkflowInstance) -> None:
    if instance.status in TERMINAL_STATUSES:
        raise Conflict(f"This workflow is {instance.status}; its steps can no longer change.")


def _refuse_edit_of_finished(step: InstanceStep) -> None:
    if step.action_state in FINISHED_STATES:
        raise Conflict(
            f"Step {step.title!r} is {step.action_state}; a finished step cannot be edited.",
            {"stepId": step.id, "key": step.key, "state": step.action_state},
        )


def _refuse_removal_of_started(step: InstanceStep) -> None:
    if step.action_state in STARTED_STATES:
        raise Conflict(
            f"Step {step.title!r} is {step.action_state} and cannot be removed.",
            {"stepId": step.id, "key": step.key, "state": step.action_state},
        )


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


def find_step(instance: WorkflowInstance, step_id: int) -> InstanceStep:
    for step in instance.steps:
        if step.id == step_id:
            return step
    raise NotFound(f"Step {step_id} is not part of this workflow.")


def _renumber(instance: WorkflowInstance, ordered: list[InstanceStep]) -> None:
    for order, step in enumerate(ordered, start=1):
        if step.order != order:
            step.order = order
    instance.steps.sort(key=lambda s: s.order)


# ---- single-step edits ------------------------------------------------------------------

# A running step keeps its key and its type; who does it may change.
EDITABLE_FIELDS = (
    *(field for field in STEP_FIELDS if field not in ("key", "action_type")),
    "assigned_to_id",
)


def _new_step_values(instance: WorkflowInstance, body: dict[str, Any]) -> dict[str, Any]:
    fields = dict(body)
    assignee = fields.pop("assignedToId", None)
    try:
        definition = StepDefinition.model_validate(fields)
    except ValidationError as error:
        raise Unprocessable("This step is not valid.", validation_details(error)) from error
    values = validated_steps([definition], frozenset(s.key for s in instance.steps))[0]
    if assignee is not None:
        require_assignable(
            instance.org_id, values["role_scope"], matter_access(instance.matter), assignee
        )
    values["assigned_to_id"] = assignee
    return values


def _added_detail(step: InstanceStep) -> dict[str, Any]:
    return {"stepId": step.id, "key": step.key, "order": step.order, "title": step.title}


@transactional
def add_step(
    user: User, instance_id: int, body: dict[str, Any], order: int | None = None
) -> InstanceStep:
    """`body`: one step in the template-step shape (camelCase), plus `assignedToId`;
    checked here as a template's steps are."""
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    _require_editable(instance)
    values = _new_step_values(instance, body)
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
    _record_change(instance, user, "step_added", _added_detail(step))
    advance(instance, user.id)
    return step


@transactional
def update_step(user: User, instance_id: int, step_id: int, patch: dict[str, Any]) -> InstanceStep:
    """`patch`: any subset of the editable fields, snake_case; checked here."""
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    _require_editable(instance)
    step = find_step(instance, step_id)
    _refuse_edit_of_finished(step)
    changes = _step_changes(instance, step, patch)
    diff = {}
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise Invalid(f"{to_camel(field)} cannot be edited on a running workflow.")
        if getattr(step, field) != value:
            diff[to_camel(field)] = {"from": getattr(step, field), "to": value}
            setattr(step, field, value)
            edit_source(step, field, value)
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
    step = find_step(instance, step_id)
    _refuse_removal_of_started(step)
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
    if len(set(step_ids)) != len(step_ids):
        raise Invalid("stepIds lists a step twice; list each step once.")
    if sorted(step_ids) != sorted(current):  # the client saw other steps
        raise Conflict(
            "stepIds must list every step of the workflow exactly once; its steps have "
            "changed since they were read.",
            {"expected": current},
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


def _step_changes(
    instance: WorkflowInstance, step: InstanceStep, patch: dict[str, Any]
) -> dict[str, Any]:
    """A patch as validated row values; the action config is checked by its handler."""
    changes: dict[str, Any] = {}
    keys = {s.key for s in instance.steps}
    for field, value in patch.items():
        if field == "action_config":
            value = get_handler(step.action_type).validate_config(value)
        if field == "due_in" and value:
            try:
                value = normalize_due_in(value)
            except ValueError as error:
                raise Unprocessable(
                    "This step is not valid.", [{"field": "dueIn", "message": str(error)}]
                ) from None
        if field == "title":
            value = (value or "").strip()
            if not value:
                raise Invalid("A step needs a title.")
            refuse_line_breaks(value, "A step title", "title")
        if field == "depends_on" and value is not None and not set(value) <= keys - {step.key}:
            raise Invalid("dependsOn names a step that is not in this workflow.")
        if field == "assigned_to_id" and value is not None:
            role = patch.get("role_scope") or step.role_scope
            require_assignable(instance.org_id, role, matter_access(instance.matter), value)
        changes[field] = value
    if {"role_scope", "action_config"} & changes.keys():
        check_role(
            get_handler(step.action_type),
            changes.get("role_scope", step.role_scope),
            changes.get("action_config", step.action_config),
        )
    return changes


@transactional
def advance_instance(user: User, instance_id: int) -> WorkflowInstance:
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    advance(instance, user.id)
    return instance


# ---- the whole definition at once -------------------------------------------------------


@dataclass(frozen=True)
class StepEdit:
    """One step of a replacement definition; `step_id` names an existing step (its key
    then comes from that step), otherwise the step is matched by its key or is new."""

    definition: StepDefinition
    step_id: int | None = None


def current_definition(user: User, instance_id: int) -> dict[str, Any]:
    """The instance's definition in the shape `replace_definition` takes back."""
    instance = load_instance(instance_id, user)
    require_definition_reader(user)
    return {
        "title": instance.title,
        "steps": [{"id": s.id, **definition_of(s)} for s in instance.steps],
    }


def _identified(instance: WorkflowInstance, edits: list[StepEdit]) -> list[StepDefinition]:
    definitions = []
    for edit in edits:
        definition = edit.definition
        if edit.step_id is not None:
            step = find_step(instance, edit.step_id)
            if definition.key and definition.key != step.key:
                raise Invalid(
                    f"Step {step.id} has key {step.key!r}; a step's key cannot change.",
                    {"stepId": step.id, "key": definition.key},
                )
            definition = definition.model_copy(update={"key": step.key})
        definitions.append(definition)
    # New steps without a key get one no current step uses, so they cannot pass for it.
    return assign_keys(definitions, frozenset(s.key for s in instance.steps))


def _check_replacement(instance: WorkflowInstance, diff: drift.Drift) -> None:
    by_key = {s.key: s for s in instance.steps}
    for change in diff.steps_modified:
        step = by_key[change.key]
        if "actionType" in change.changes:
            raise Invalid(
                f"Step {step.title!r} cannot change its action type; remove it and add a new "
                "step with another key.",
                {"key": step.key},
            )
        _refuse_edit_of_finished(step)
    for key in diff.steps_removed:
        _refuse_removal_of_started(by_key[key])


def _apply_replacement(
    instance: WorkflowInstance, rows: list[dict[str, Any]], diff: drift.Drift
) -> list[InstanceStep]:
    by_key = {s.key: s for s in instance.steps}
    for key in diff.steps_removed:
        instance.steps.remove(by_key.pop(key))
    now = utcnow()
    for change in diff.steps_modified:
        step, row = by_key[change.key], next(r for r in rows if r["key"] == change.key)
        for field in STEP_FIELDS:
            if getattr(step, field) != row[field]:
                setattr(step, field, row[field])
                edit_source(step, field, row[field])
        step.updated_at = now
    added = []
    for row in rows:
        if row["key"] not in by_key:
            step = InstanceStep(order=0, action_state=StepState.PENDING, action_data={}, **row)
            instance.steps.append(step)
            by_key[row["key"]] = step
            added.append(step)
    _renumber(instance, [by_key[row["key"]] for row in rows])
    return added


def _record_replacement(
    instance: WorkflowInstance,
    user: User,
    diff: drift.Drift,
    removed: dict[str, InstanceStep],
    added: list[InstanceStep],
) -> None:
    if diff.metadata_changed:
        _record_change(instance, user, "metadata_changed", diff.metadata_changes)
    for key in diff.steps_removed:
        step = removed[key]
        _record_change(
            instance, user, "step_removed", {"stepId": step.id, "key": key, "title": step.title}
        )
    by_key = {s.key: s for s in instance.steps}
    for change in diff.steps_modified:
        detail = {"stepId": by_key[change.key].id, "key": change.key, "changes": change.changes}
        _record_change(instance, user, "step_modified", detail)
    for step in added:
        _record_change(instance, user, "step_added", _added_detail(step))
    if diff.steps_reordered:
        detail = {"from": diff.order_before, "to": diff.order_after}
        _record_change(instance, user, "step_reordered", detail)


@transactional
def replace_definition(
    user: User, instance_id: int, edits: list[StepEdit], title: str | None = None
) -> WorkflowInstance:
    """Replace the whole step list (and the title). Steps are matched by key; the diff
    writes the history entries the single-step edits would, in one transaction, and is
    refused by the same rules: a finished step cannot be edited, a started one removed."""
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    _require_editable(instance)
    if not edits:
        raise Invalid("A workflow needs at least one step.")
    rows = validated_steps(_identified(instance, edits))
    new_title = instance.title if title is None else _clean_title(title)
    diff = drift.compare(
        [definition_of(s) for s in instance.steps],
        [definition_of(SimpleNamespace(**row)) for row in rows],
        {"title": instance.title},
        {"title": new_title},
    )
    if not diff.is_drifted:
        return instance
    _check_replacement(instance, diff)
    removed = {s.key: s for s in instance.steps if s.key in diff.steps_removed}
    instance.title = new_title
    added = _apply_replacement(instance, rows, diff)
    instance.updated_at = utcnow()
    db.session.flush()
    _record_replacement(instance, user, diff, removed, added)
    advance(instance, user.id)
    return instance


# ---- moving to a newer template version --------------------------------------------------

# A step definition's camelCase fields as row columns.
_ROW_FIELDS = {field: to_camel(field) for field in STEP_FIELDS}


def _migration_refused(to_version: int, plan: migration.Plan) -> Conflict:
    first = plan.blockers[0].sentence
    more = len(plan.blockers) - 1
    suffix = f" ({more} more reason{'s' if more > 1 else ''} in details)" if more else ""
    return Conflict(
        f"This workflow cannot move to version {to_version}: {first}{suffix}",
        {"blockers": [blocker.sentence for blocker in plan.blockers]},
    )


def _apply_migration(instance: WorkflowInstance, plan: migration.Plan, target: Any) -> None:
    """The plan's definition onto the rows: matched steps keep their id, state, work and
    outputs; only PENDING steps are rewritten or removed (the plan refuses the rest)."""
    by_key = {s.key: s for s in instance.steps}
    for key in plan.removed_keys:
        instance.steps.remove(by_key.pop(key))
    template_steps = {step.key: step.id for step in target.steps}
    now = utcnow()
    for definition in plan.result:
        key = definition["key"]
        values = {field: definition.get(name) for field, name in _ROW_FIELDS.items()}
        step = by_key.get(key)
        if step is None:
            step = InstanceStep(
                order=0,
                action_state=StepState.PENDING,
                action_data={},
                template_step_id=template_steps.get(key),
                **values,
            )
            instance.steps.append(step)
            by_key[key] = step
        elif key in plan.changed_keys:
            for field, value in values.items():
                setattr(step, field, value)
            # Not reached yet, so never rendered: no source of an older definition stays.
            step.action_data = {k: v for k, v in step.action_data.items() if k != TEMPLATE_KEY}
            step.updated_at = now
    _renumber(instance, [by_key[d["key"]] for d in plan.result])
    db.session.flush()
    _link_template_steps(instance, template_steps)


def _link_template_steps(instance: WorkflowInstance, template_steps: dict[str, int]) -> None:
    """Every step points at its step in the new version (none for the instance's own):
    one UPDATE for the instance, not one per step."""
    linked = case(template_steps, value=InstanceStep.key, else_=None) if template_steps else None
    db.session.execute(
        update(InstanceStep)
        .where(InstanceStep.instance_id == instance.id)
        .values(template_step_id=linked)
        .execution_options(synchronize_session=False)
    )
    for step in instance.steps:
        set_committed_value(step, "template_step_id", template_steps.get(step.key))


@transactional
def migrate(
    user: User, instance_id: int, to_version: int, now: datetime | None = None
) -> WorkflowInstance:
    """Move a running instance to a newer published version of its template, all or
    nothing: the plan (engine/migration.py) is refused whole when anything blocks it.
    One history entry and one audit event carry the definitions before and after; the
    instance then pins the new version, and its drift is measured against it."""
    instance = load_instance(instance_id, user, for_update=True)
    _require_editor(instance, user)
    _require_editable(instance)
    pinned = base_template(instance)
    target = target_template(instance, to_version, now)
    plan = plan_for(instance, pinned, target)
    if not plan.allowed:
        raise _migration_refused(to_version, plan)
    before = [source_definition(step) for step in instance.steps]
    _apply_migration(instance, plan, target)
    instance.template_id = target.id
    instance.template_version = target.version
    instance.base_ref = {"key": target.key, "version": target.version, "checksum": target.checksum}
    instance.updated_at = utcnow()
    db.session.flush()
    summary = {"fromVersion": pinned.version, "toVersion": target.version, "templateId": target.id}
    _record_change(
        instance,
        user,
        "migrated",
        {**summary, "changes": [change.sentence for change in plan.changes]},
    )
    record_event(
        org_id=instance.org_id,
        event_type="instance.migrated",
        actor_id=user.id,
        matter_id=instance.matter_id,
        instance_id=instance.id,
        template_id=target.id,
        payload={**summary, "before": before, "after": plan.result},
    )
    advance(instance, user.id)
    return instance


# ---- history ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    change_type: str
    detail: dict[str, Any]
    actor_id: int | None
    actor_name: str | None
    created_at: datetime


def instance_history(
    user: User, instance_id: int, limit: int = 50, offset: int = 0
) -> tuple[list[HistoryEntry], int]:
    """The definition's change history, oldest first."""
    instance = load_instance(instance_id, user)
    require_definition_reader(user)
    return history_entries(instance, limit, offset)


def history_entries(
    instance: WorkflowInstance, limit: int, offset: int, *, newest_first: bool = False
) -> tuple[list[HistoryEntry], int]:
    """A page of an instance's change history with its authors' names, and how many
    entries there are (the caller has checked who may read it)."""
    where = InstanceChange.instance_id == instance.id
    total = db.session.scalar(select(func.count()).where(where)) or 0
    rows = db.session.execute(
        select(InstanceChange, User.name)
        .outerjoin(User, User.id == InstanceChange.actor_id)
        .where(where)
        .order_by(InstanceChange.id.desc() if newest_first else InstanceChange.id)
        .limit(limit)
        .offset(offset)
    )
    entries = [
        HistoryEntry(
            id=change.id,
            change_type=change.change_type,
            detail=change.detail or {},
            actor_id=change.actor_id,
            actor_name=name,
            created_at=change.created_at,
        )
        for change, name in rows
    ]
    return entries, total


def created_title(instance: WorkflowInstance) -> str | None:
    """The title the instance had when it was created, from its `created` history entry."""
    detail = db.session.scalar(
        select(InstanceChange.detail)
        .where(InstanceChange.instance_id == instance.id, InstanceChange.change_type == "created")
        .order_by(InstanceChange.id)
        .limit(1)
    )
    return (detail or {}).get("title")


# ---- the instance door ------------------------------------------------------------------
# Every edit of a running instance is `perform(actor, instance_id, command) -> Changed`,
# the shape of the step door: one transaction, the checks inside, and what moved.


@dataclass(frozen=True)
class Update:
    """A new title, a new status (Running to start or resume, Paused, Cancelled), or
    both at once: a refused status keeps the old title."""

    title: str | None = None
    status: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AddStep:
    """`step`: the template-step shape (camelCase), plus `assignedToId`."""

    step: dict[str, Any]
    order: int | None = None


@dataclass(frozen=True)
class EditStep:
    """`patch`: any subset of the editable fields, snake_case."""

    step_id: int
    patch: dict[str, Any]


@dataclass(frozen=True)
class RemoveStep:
    step_id: int


@dataclass(frozen=True)
class ReorderSteps:
    step_ids: list[int]


@dataclass(frozen=True)
class ReplaceDefinition:
    edits: list[StepEdit]
    title: str | None = None


@dataclass(frozen=True)
class Advance:
    pass


@dataclass(frozen=True)
class Migrate:
    """Move to a newer published version of the template (`to_version`), keeping the work
    done; `now` is the clock (a test's own, else the time)."""

    to_version: int
    now: datetime | None = None


InstanceCommand = (
    Update | AddStep | EditStep | RemoveStep | ReorderSteps | ReplaceDefinition | Advance | Migrate
)


@traced("instance perform")
@transactional
def perform(actor: User, instance_id: int, command: InstanceCommand) -> Changed:
    status_before = db.session.scalar(
        select(WorkflowInstance.status).where(WorkflowInstance.id == instance_id)
    )
    step_id: int | None = None
    match command:
        case Update(title=title, status=status, reason=reason):
            update_instance(actor, instance_id, title, status, reason)
        case AddStep(step=step, order=order):
            step_id = add_step(actor, instance_id, step, order).id
        case EditStep(step_id=edited, patch=patch):
            step_id = update_step(actor, instance_id, edited, patch).id
        case RemoveStep(step_id=removed):
            remove_step(actor, instance_id, removed)
        case ReorderSteps(step_ids=ids):
            reorder_steps(actor, instance_id, ids)
        case ReplaceDefinition(edits=edits, title=title):
            replace_definition(actor, instance_id, edits, title)
        case Advance():
            advance_instance(actor, instance_id)
        case Migrate(to_version=to_version, now=now):
            migrate(actor, instance_id, to_version, now)
    instance = load_instance(instance_id, actor)
    return changed_from(instance, step_id, journal.moves(), status_before or instance.status)
