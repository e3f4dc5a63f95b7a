"""The firm's people (admins): list, invite, change a role, deactivate and reactivate,
resend an invitation."""

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.api import people_schemas as p
from webapp.api.blueprint import api
from webapp.api.paging import page_args
from webapp.api.serialize import respond
from webapp.api.spec import PAGE, endpoint, one_of
from webapp.models import Invitation, User
from webapp.services import people

TAG = "People"


def user_out(user: User, invitation: Invitation | None = None) -> p.UserOut:
    return p.UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        active=user.active,
        status=people.status_of(user),
        invitation_expires_at=invitation.expires_at if invitation else None,
        created_at=user.created_at,
    )


def one_user_out(user: User) -> p.UserOut:
    return user_out(user, people.open_invitations([user.id]).get(user.id))


@endpoint(
    api,
    "/users",
    "GET",
    summary="List the firm's people by name (admins)",
    tag=TAG,
    response=p.UserList,
    query={"role": one_of("only this role", *people.ROLES), **PAGE},
)
def list_users() -> ResponseReturnValue:
    limit, offset = page_args()
    rows, total = people.list_users(current_user, request.args.get("role"), limit, offset)
    invitations = people.open_invitations([row.id for row in rows])
    items = [user_out(row, invitations.get(row.id)) for row in rows]
    return respond(p.UserList(items=items, total=total))


@endpoint(
    api,
    "/users",
    "POST",
    summary="Invite someone by email (admins; lawyers invite clients): they set a password "
    "from a signed, one-use link that expires",
    tag=TAG,
    body=p.UserIn,
    response=p.UserOut,
    status=201,
)
def invite_user(body: p.UserIn) -> ResponseReturnValue:
    changed = people.perform(current_user, None, people.Invite(body.email, body.name, body.role))
    return respond(one_user_out(changed.user), 201)


@endpoint(
    api, "/users/<int:user_id>", "GET", summary="Get a person (admins)", tag=TAG, response=p.UserOut
)
def get_user(user_id: int) -> ResponseReturnValue:
    return respond(one_user_out(people.get_user(current_user, user_id)))


@endpoint(
    api,
    "/users/<int:user_id>",
    "PATCH",
    summary="Change a person's role, deactivate or reactivate them (admins); the firm's "
    "last active admin cannot be demoted or deactivated (409)",
    tag=TAG,
    body=p.UserPatch,
    response=p.UserOut,
)
def patch_user(user_id: int, body: p.UserPatch) -> ResponseReturnValue:
    command = people.Update(role=body.role, active=body.active)
    return respond(one_user_out(people.perform(current_user, user_id, command).user))


@endpoint(
    api,
    "/users/<int:user_id>/invitation",
    "POST",
    summary="Send a new invitation link (the last one stops working); 409 once they have "
    "set a password",
    tag=TAG,
    response=p.UserOut,
)
def resend_invitation(user_id: int) -> ResponseReturnValue:
    changed = people.perform(current_user, user_id, people.ResendInvitation())
    return respond(one_user_out(changed.user))
