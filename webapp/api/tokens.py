"""Personal API tokens: create (shown once), list with their last use, revoke."""

from datetime import datetime
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.api import people_schemas as p
from webapp.api.blueprint import api
from webapp.api.paging import page_args
from webapp.api.serialize import respond
from webapp.api.spec import PAGE, endpoint, one_of
from webapp.engine.errors import NotAllowed
from webapp.models import ApiToken
from webapp.services import auth
from webapp.services.clock import now

TAG = "Tokens"


def token_fields(token: ApiToken, moment: datetime | None = None) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "user_id": token.user_id,
        "user_name": token.user.name,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "state": auth.token_state(token, moment),
    }


@endpoint(
    api,
    "/tokens",
    "GET",
    summary="List your API tokens, newest first, with their last use; scope=firm: every "
    "token of the firm (admins)",
    tag=TAG,
    response=p.TokenList,
    query={"scope": one_of("whose tokens; mine by default", "mine", "firm"), **PAGE},
)
def list_tokens() -> ResponseReturnValue:
    limit, offset = page_args()
    everyone = request.args.get("scope") == "firm"
    if everyone and not current_user.is_admin:
        raise NotAllowed("Only admins can list the firm's tokens.")
    rows, total = auth.list_tokens(current_user, everyone, limit, offset)
    moment = now()
    items = [p.TokenOut(**token_fields(row, moment)) for row in rows]
    return respond(p.TokenList(items=items, total=total))


@endpoint(
    api,
    "/tokens",
    "POST",
    summary="Create a personal API token; the answer carries the token, once",
    tag=TAG,
    body=p.TokenIn,
    response=p.TokenCreated,
    status=201,
)
def create_token(body: p.TokenIn) -> ResponseReturnValue:
    command = auth.CreateToken(body.name, body.expires_in_days)
    changed = auth.perform_token(current_user, None, command)
    return respond(p.TokenCreated(**token_fields(changed.token), token=changed.secret or ""), 201)


@endpoint(
    api,
    "/tokens/<int:token_id>",
    "DELETE",
    summary="Revoke a token (yours; admins: any of the firm's); it gets 401 from then on",
    tag=TAG,
    response=p.TokenOut,
)
def revoke_token(token_id: int) -> ResponseReturnValue:
    changed = auth.perform_token(current_user, token_id, auth.RevokeToken())
    return respond(p.TokenOut(**token_fields(changed.token)))
