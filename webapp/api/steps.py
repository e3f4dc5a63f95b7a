from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.adapters.storage import incoming_files
from webapp.api import schemas as s
from webapp.api.blueprint import api
from webapp.api.serialize import instance_out, respond
from webapp.api.spec import endpoint, parse_body
from webapp.services import steps

TAG = "Steps"


def _act(step_id: int, command: steps.Command) -> ResponseReturnValue:
    changed = steps.perform(current_user, step_id, command, with_steps=True)
    return respond(instance_out(changed.instance, current_user))


@endpoint(
    api,
    "/steps/<int:step_id>/claim",
    "POST",
    summary="Claim a READY step",
    tag=TAG,
    response=s.InstanceOut,
)
def claim_step(step_id: int) -> ResponseReturnValue:
    return _act(step_id, steps.Claim())


@endpoint(
    api,
    "/steps/<int:step_id>/start",
    "POST",
    summary="Start a READY step",
    tag=TAG,
    response=s.InstanceOut,
)
def start_step(step_id: int) -> ResponseReturnValue:
    return _act(step_id, steps.Start())


@endpoint(
    api,
    "/steps/<int:step_id>/complete",
    "POST",
    summary="Complete with the handler's payload (document requests: multipart `file` parts)",
    tag=TAG,
    body=s.CompleteIn,
    response=s.InstanceOut,
    multipart=True,
)
def complete_step(step_id: int, body: s.CompleteIn | None = None) -> ResponseReturnValue:
    if request.mimetype == "multipart/form-data":
        return _act(step_id, steps.Upload(incoming_files(request.files)))
    payload = (body or parse_body(s.CompleteIn)).model_dump()
    return _act(step_id, steps.Complete(payload))


@endpoint(
    api,
    "/steps/<int:step_id>/files",
    "POST",
    summary="Add files to a document request already answered (multipart `file` parts)",
    tag=TAG,
    response=s.InstanceOut,
    multipart=True,
)
def add_step_files(step_id: int) -> ResponseReturnValue:
    return _act(step_id, steps.AddFile(incoming_files(request.files)))


@endpoint(
    api,
    "/steps/<int:step_id>/fail",
    "POST",
    summary="Fail a step",
    tag=TAG,
    body=s.ReasonIn,
    response=s.InstanceOut,
)
def fail_step(step_id: int, body: s.ReasonIn) -> ResponseReturnValue:
    return _act(step_id, steps.Fail(body.reason))


@endpoint(
    api,
    "/steps/<int:step_id>/block",
    "POST",
    summary="Block a step",
    tag=TAG,
    body=s.ReasonIn,
    response=s.InstanceOut,
)
def block_step(step_id: int, body: s.ReasonIn) -> ResponseReturnValue:
    return _act(step_id, steps.Block(body.reason))


@endpoint(
    api,
    "/steps/<int:step_id>/unblock",
    "POST",
    summary="Unblock a step",
    tag=TAG,
    response=s.InstanceOut,
)
def unblock_step(step_id: int) -> ResponseReturnValue:
    return _act(step_id, steps.Unblock())


@endpoint(
    api,
    "/steps/<int:step_id>/skip",
    "POST",
    summary="Skip a step (admins; performers of optional steps)",
    tag=TAG,
    body=s.SkipIn,
    response=s.InstanceOut,
)
def skip_step(step_id: int, body: s.SkipIn) -> ResponseReturnValue:
    return _act(step_id, steps.Skip(body.reason))


@endpoint(
    api,
    "/steps/<int:step_id>/assign",
    "POST",
    summary="Assign a step to one eligible person, or open it again to its role (admins and the matter's owner)",
    tag=TAG,
    body=s.AssignIn,
    response=s.InstanceOut,
)
def assign_step(step_id: int, body: s.AssignIn) -> ResponseReturnValue:
    return _act(step_id, steps.Assign(body.user_id))
