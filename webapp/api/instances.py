import json
from collections.abc import Iterator
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.api import schemas as s
from webapp.api.blueprint import api
from webapp.api.paging import after_arg, page_args
from webapp.api.serialize import drift_out, instance_out, instance_summary, preview_out, respond
from webapp.api.spec import LIMIT, OFFSET, PAGE, ROW_ID, Query, endpoint, one_of
from webapp.engine.definition import StepDefinition
from webapp.engine.errors import Invalid
from webapp.engine.states import InstanceStatus
from webapp.services import audit, drift, instances, migration

TAG = "Instances"


@endpoint(
    api,
    "/workflows",
    "POST",
    summary="Create an instance in Created (start it with PATCH)",
    tag=TAG,
    body=s.WorkflowCreateIn,
    response=s.InstanceOut,
    status=201,
    also={200: "An instance with this requestId exists already: it is returned unchanged"},
)
def create_workflow(body: s.WorkflowCreateIn) -> ResponseReturnValue:
    instance, created = instances.instantiate(
        current_user,
        body.workflow_id,
        body.matter_id,
        body.title,
        body.parameters,
        body.request_id,
        start=False,
        started_by=instances.API,
    )
    return respond(instance_out(instance, current_user), 201 if created else 200)


@endpoint(
    api,
    "/instances",
    "GET",
    summary="List instances",
    tag=TAG,
    response=s.InstanceList,
    query={
        "matterId": Query("only this matter", dict(ROW_ID)),
        "status": one_of("only this status", *(status.value for status in InstanceStatus)),
        "context": Query(
            'a JSON object the context must contain, e.g. {"client": "acme"}',
            {"type": "object"},
            json=True,
        ),
        "after": Query(
            "keyset cursor: only instances older than this id — pass the last id of the "
            "previous page (newest first); combines with limit, and with offset",
            dict(ROW_ID),
        ),
        **PAGE,
    },
)
def list_instances() -> ResponseReturnValue:
    limit, offset = page_args()
    after = after_arg()
    matter_id = request.args.get("matterId")
    if matter_id is not None and not (matter_id.isdigit() and 1 <= int(matter_id) < 2**31):
        raise Invalid("matterId must be a matter's id: a whole number from 1.")
    rows, total = instances.list_instances(
        current_user,
        int(matter_id) if matter_id else None,
        request.args.get("status"),
        limit,
        offset,
        context=_context_filter(request.args.get("context")),
        after=after,
    )
    return respond(s.InstanceList(items=[instance_summary(i) for i in rows], total=total))


def _texts(value: Any) -> Iterator[str]:
    """Every key and string in a JSON document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _context_filter(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise Invalid('context must be a JSON object, e.g. {"client": "acme"}.') from None
    if not isinstance(value, dict):
        raise Invalid('context must be a JSON object, e.g. {"client": "acme"}.')
    if not all(_storable(piece) for piece in _texts(value)):
        raise Invalid(
            "context must not contain the NUL character (\\u0000) or a broken one "
            "(a lone surrogate): a database cannot store them."
        )
    return value


@endpoint(
    api,
    "/instances/<int:instance_id>",
    "GET",
    summary="Get an instance with its steps",
    tag=TAG,
    response=s.InstanceOut,
)
def get_instance(instance_id: int) -> ResponseReturnValue:
    return respond(instance_out(instances.load_instance(instance_id, current_user), current_user))


@endpoint(
    api,
    "/instances/<int:instance_id>",
    "PATCH",
    summary="Rename, start, pause, resume or cancel",
    tag=TAG,
    body=s.InstancePatch,
    response=s.InstanceOut,
)
def patch_instance(instance_id: int, body: s.InstancePatch) -> ResponseReturnValue:
    command = instances.Update(body.title, body.status, body.reason)
    return _edited(instances.perform(current_user, instance_id, command))


@endpoint(
    api,
    "/instances/<int:instance_id>/steps",
    "POST",
    summary="Add a step",
    tag=TAG,
    body=s.InstanceStepIn,
    response=s.InstanceOut,
    status=201,
)
def add_step(instance_id: int, body: s.InstanceStepIn) -> ResponseReturnValue:
    step = body.model_dump(by_alias=True, exclude={"order"}, exclude_unset=True)
    instances.perform(current_user, instance_id, instances.AddStep(step, body.order))
    return respond(
        instance_out(instances.load_instance(instance_id, current_user), current_user), 201
    )


@endpoint(
    api,
    "/instances/<int:instance_id>/steps/<int:step_id>",
    "PATCH",
    summary="Edit a step",
    tag=TAG,
    body=s.InstanceStepPatch,
    response=s.InstanceOut,
)
def patch_step(instance_id: int, step_id: int, body: s.InstanceStepPatch) -> ResponseReturnValue:
    patch = body.model_dump(exclude_unset=True)
    instances.perform(current_user, instance_id, instances.EditStep(step_id, patch))
    return respond(instance_out(instances.load_instance(instance_id, current_user), current_user))


@endpoint(
    api,
    "/instances/<int:instance_id>/steps/<int:step_id>",
    "DELETE",
    summary="Remove a step",
    tag=TAG,
    response=s.InstanceOut,
)
def delete_step(instance_id: int, step_id: int) -> ResponseReturnValue:
    instance = instances.perform(current_user, instance_id, instances.RemoveStep(step_id)).instance
    return respond(instance_out(instance, current_user))


@endpoint(
    api,
    "/instances/<int:instance_id>/steps/reorder",
    "POST",
    summary="Reorder the steps",
    tag=TAG,
    body=s.ReorderIn,
    response=s.InstanceOut,
)
def reorder_steps(instance_id: int, body: s.ReorderIn) -> ResponseReturnValue:
    command = instances.ReorderSteps(body.step_ids)
    instance = instances.perform(current_user, instance_id, command).instance
    return respond(instance_out(instance, current_user))


@endpoint(
    api,
    "/instances/<int:instance_id>/advance",
    "POST",
    summary="Re-evaluate readiness and status",
    tag=TAG,
    response=s.InstanceOut,
)
def advance_instance(instance_id: int) -> ResponseReturnValue:
    instance = instances.perform(current_user, instance_id, instances.Advance()).instance
    return respond(instance_out(instance, current_user))


@endpoint(
    api,
    "/instances/<int:instance_id>/events",
    "GET",
    summary="The audit trail, oldest first",
    tag=TAG,
    response=s.EventList,
    query={"limit": Query("page size", {**LIMIT.schema, "default": 200}), "offset": OFFSET},
)
def instance_events(instance_id: int) -> ResponseReturnValue:
    limit, offset = page_args(default=200)
    instance = instances.load_instance(instance_id, current_user)
    rows, total = audit.visible_events(instance, current_user, limit=limit, offset=offset)
    items = [s.EventOut.model_validate(e) for e in rows]
    return respond(s.EventList(items=items, total=total))


@endpoint(
    api,
    "/instances/<int:instance_id>/definition",
    "GET",
    summary="The instance's definition, in the shape PUT takes back",
    tag=TAG,
    response=s.DefinitionOut,
)
def get_definition(instance_id: int) -> ResponseReturnValue:
    definition = instances.current_definition(current_user, instance_id)
    return respond(s.DefinitionOut.model_validate(definition))


@endpoint(
    api,
    "/instances/<int:instance_id>/definition",
    "PUT",
    summary="Replace the whole step list (steps matched by key); writes the history its diff implies",
    tag=TAG,
    body=s.DefinitionIn,
    response=s.InstanceOut,
)
def put_definition(instance_id: int, body: s.DefinitionIn) -> ResponseReturnValue:
    edits = [
        instances.StepEdit(
            StepDefinition.model_validate(step.model_dump(exclude={"id"})), step_id=step.id
        )
        for step in body.steps
    ]
    command = instances.ReplaceDefinition(edits, body.title)
    instance = instances.perform(current_user, instance_id, command).instance
    return respond(instance_out(instance, current_user))


@endpoint(
    api,
    "/instances/<int:instance_id>/history",
    "GET",
    summary="The append-only change history of the definition, oldest first",
    tag=TAG,
    response=s.HistoryPage,
    query=PAGE,
)
def instance_history(instance_id: int) -> ResponseReturnValue:
    limit, offset = page_args()
    entries, total = instances.instance_history(current_user, instance_id, limit, offset)
    items = [s.HistoryEntryOut.model_validate(entry) for entry in entries]
    return respond(s.HistoryPage(entries=items, total=total))


@endpoint(
    api,
    "/instances/<int:instance_id>/drift",
    "GET",
    summary="How the instance differs from its base template version (computed now)",
    tag=TAG,
    response=s.DriftOut,
)
def instance_drift(instance_id: int) -> ResponseReturnValue:
    return respond(drift_out(drift.drift_of(current_user, instance_id)))


@endpoint(
    api,
    "/instances/<int:instance_id>/migration",
    "GET",
    summary="Preview moving to a newer template version: what changes, what blocks (changes nothing)",
    tag=TAG,
    response=s.MigrationPreviewOut,
    query={"toVersion": Query("the version to move to", dict(ROW_ID), required=True)},
)
def migration_preview(instance_id: int) -> ResponseReturnValue:
    to_version = request.args.get("toVersion", "")
    if not (to_version.isdigit() and 1 <= int(to_version) < 2**31):
        raise Invalid("toVersion must be a template version: a whole number from 1.")
    return respond(preview_out(migration.preview(current_user, instance_id, int(to_version))))


@endpoint(
    api,
    "/instances/<int:instance_id>/migration",
    "POST",
    summary="Move to a newer template version, all or nothing (409 with the blockers when refused)",
    tag=TAG,
    body=s.MigrationIn,
    response=s.InstanceOut,
)
def migrate_instance(instance_id: int, body: s.MigrationIn) -> ResponseReturnValue:
    changed = instances.perform(current_user, instance_id, instances.Migrate(body.to_version))
    return _edited(changed)


def _edited(changed: instances.Changed) -> ResponseReturnValue:
    return respond(instance_out(changed.instance, current_user))
