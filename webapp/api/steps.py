from flask import request
from flask_login import current_user

from webapp.api import api
from webapp.api import schemas as s
from webapp.api.serialize import instance_out, respond
from webapp.api.spec import endpoint, parse_body
from webapp.services import documents, steps

TAG = "Steps"


def _act(step_id: int, event: str, payload: dict | None = None):
    instance = steps.transition(current_user, step_id, event, payload, with_steps=True)
    return respond(instance_out(instance, current_user))


@endpoint(
    api,
    "/steps/<int:step_id>/claim",
    "POST",
    summary="Claim a READY step",
    tag=TAG,
    response=s.InstanceOut,
)
def claim_step(step_id: int):
    return _act(step_id, "claim")


@endpoint(
    api,
    "/steps/<int:step_id>/start",
    "POST",
    summary="Start a READY step",
    tag=TAG,
    response=s.InstanceOut,
)
def start_step(step_id: int):
    return _act(step_id, "start")


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
def complete_step(step_id: int, body: s.CompleteIn | None = None):
    if request.mimetype == "multipart/form-data":
        incoming = [
            documents.IncomingFile(f.filename or "upload", f.mimetype or "", f.read())
            for f in request.files.getlist("file")
        ]
        instance = documents.upload_to_step(current_user, step_id, incoming)
        return respond(instance_out(instance, current_user))
    payload = (body or parse_body(s.CompleteIn)).model_dump()
    return _act(step_id, "complete", payload)


@endpoint(
    api,
    "/steps/<int:step_id>/fail",
    "POST",
    summary="Fail a step",
    tag=TAG,
    body=s.ReasonIn,
    response=s.InstanceOut,
)
def fail_step(step_id: int, body: s.ReasonIn):
    return _act(step_id, "fail", {"reason": body.reason})


@endpoint(
    api,
    "/steps/<int:step_id>/block",
    "POST",
    summary="Block a step",
    tag=TAG,
    body=s.ReasonIn,
    response=s.InstanceOut,
)
def block_step(step_id: int, body: s.ReasonIn):
    return _act(step_id, "block", {"reason": body.reason})


@endpoint(
    api,
    "/steps/<int:step_id>/unblock",
    "POST",
    summary="Unblock a step",
    tag=TAG,
    response=s.InstanceOut,
)
def unblock_step(step_id: int):
    return _act(step_id, "unblock")


@endpoint(
    api,
    "/steps/<int:step_id>/skip",
    "POST",
    summary="Skip a step (admins; performers of optional steps)",
    tag=TAG,
    body=s.SkipIn,
    response=s.InstanceOut,
)
def skip_step(step_id: int, body: s.SkipIn):
    return _act(step_id, "skip", {"reason": body.reason} if body.reason else {})
