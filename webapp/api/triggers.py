"""Triggers (admins) and the hooks that fire webhook triggers."""

from typing import Any

from flask import request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.api import trigger_schemas as t
from webapp.api.blueprint import api
from webapp.api.paging import page_args
from webapp.api.serialize import respond
from webapp.api.spec import PAGE, endpoint
from webapp.models import Trigger, TriggerFiring
from webapp.services import triggers
from webapp.services.triggers import hooks

TAG = "Triggers"


def trigger_out(trigger: Trigger, secret: str | None = None) -> t.TriggerOut:
    hook = (
        url_for("api.receive_hook", trigger_id=trigger.id, _external=True)
        if trigger.kind == "webhook"
        else None
    )
    return t.TriggerOut(
        id=trigger.id,
        name=trigger.name,
        kind=trigger.kind,
        template_key=trigger.template_key,
        template_version=trigger.template_version,
        enabled=trigger.enabled,
        condition=trigger.condition,
        matter=trigger.matter_rule or {},
        schedule=trigger.schedule,
        event={"type": trigger.event_type} if trigger.event_type else None,
        parameters=trigger.parameters or {},
        next_fire_at=trigger.next_fire_at,
        hook_url=hook,
        secret=secret,
        created_by_id=trigger.created_by_id,
        created_at=trigger.created_at,
        updated_at=trigger.updated_at,
    )


def firing_out(firing: TriggerFiring) -> t.FiringOut:
    return t.FiringOut.model_validate(firing)


def _definition_fields(body: t.TriggerIn | t.TriggerPatch, fields: set[str]) -> dict[str, Any]:
    """The body's fields as the door's snake_case values; rules and schedules as dicts."""
    values: dict[str, Any] = {}
    for name in fields:
        value = getattr(body, name)
        if name in ("matter", "schedule", "event") and value is not None:
            value = value.model_dump(by_alias=True, exclude_none=True)
        values[name] = value
    return values


@endpoint(
    api,
    "/triggers",
    "GET",
    summary="List triggers (admins)",
    tag=TAG,
    response=t.TriggerList,
    query=PAGE,
)
def list_triggers() -> ResponseReturnValue:
    limit, offset = page_args()
    rows, total = triggers.list_triggers(current_user, limit, offset)
    return respond(t.TriggerList(items=[trigger_out(row) for row in rows], total=total))


@endpoint(
    api,
    "/triggers",
    "POST",
    summary="Create a trigger (admins); a webhook trigger's answer carries its secret, once",
    tag=TAG,
    body=t.TriggerIn,
    response=t.TriggerOut,
    status=201,
)
def create_trigger(body: t.TriggerIn) -> ResponseReturnValue:
    values = _definition_fields(body, set(t.TriggerIn.model_fields))
    command = triggers.Create(triggers.Definition(**values))
    changed = triggers.perform(current_user, None, command)
    assert changed.trigger is not None
    return respond(trigger_out(changed.trigger, changed.secret), 201)


@endpoint(
    api,
    "/triggers/<int:trigger_id>",
    "GET",
    summary="Get a trigger (admins)",
    tag=TAG,
    response=t.TriggerOut,
)
def get_trigger(trigger_id: int) -> ResponseReturnValue:
    return respond(trigger_out(triggers.get_trigger(current_user, trigger_id)))


@endpoint(
    api,
    "/triggers/<int:trigger_id>",
    "PATCH",
    summary="Change, enable or disable a trigger (admins)",
    tag=TAG,
    body=t.TriggerPatch,
    response=t.TriggerOut,
)
def patch_trigger(trigger_id: int, body: t.TriggerPatch) -> ResponseReturnValue:
    changes = _definition_fields(body, body.model_fields_set)
    changed = triggers.perform(current_user, trigger_id, triggers.Update(changes))
    assert changed.trigger is not None
    return respond(trigger_out(changed.trigger))


@endpoint(
    api,
    "/triggers/<int:trigger_id>",
    "DELETE",
    summary="Delete a trigger and its firings (admins; workflows it started stay)",
    tag=TAG,
    response=t.TriggerDeleted,
)
def delete_trigger(trigger_id: int) -> ResponseReturnValue:
    changed = triggers.perform(current_user, trigger_id, triggers.Delete())
    return respond(t.TriggerDeleted(id=changed.deleted_id or trigger_id))


@endpoint(
    api,
    "/triggers/<int:trigger_id>/secret",
    "POST",
    summary="Rotate a webhook trigger's secret (admins); the answer carries it, once",
    tag=TAG,
    response=t.TriggerOut,
)
def rotate_secret(trigger_id: int) -> ResponseReturnValue:
    changed = triggers.perform(current_user, trigger_id, triggers.RotateSecret())
    assert changed.trigger is not None
    return respond(trigger_out(changed.trigger, changed.secret))


@endpoint(
    api,
    "/triggers/<int:trigger_id>/firings",
    "GET",
    summary="A trigger's firings, newest first (admins)",
    tag=TAG,
    response=t.FiringList,
    query=PAGE,
)
def list_firings(trigger_id: int) -> ResponseReturnValue:
    limit, offset = page_args()
    rows, total = triggers.list_firings(current_user, trigger_id, limit, offset)
    return respond(t.FiringList(items=[firing_out(row) for row in rows], total=total))


@endpoint(
    api,
    "/hooks/<int:trigger_id>",
    "POST",
    summary="Fire a webhook trigger: signed (X-Matterflow-Signature), named "
    "(X-Matterflow-Delivery); 401 for a bad or stale signature",
    tag="Webhooks",
    response=t.HookAccepted,
    status=202,
    auth=False,
    also={200: "This delivery was received before: its first firing, nothing started"},
)
def receive_hook(trigger_id: int) -> ResponseReturnValue:
    fired = hooks.receive(
        trigger_id,
        request.get_data(),
        request.headers.get(hooks.SIGNATURE_HEADER),
        request.headers.get(hooks.DELIVERY_HEADER),
    )
    firing = fired.firing
    accepted = t.HookAccepted(
        firing_id=firing.id,
        instance_id=firing.instance_id,
        outcome=firing.outcome,
        reason=firing.reason,
    )
    return respond(accepted, 202 if fired.created else 200)
