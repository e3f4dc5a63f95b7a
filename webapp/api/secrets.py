"""The firm's secrets: names and dates only; a value goes in and never comes out."""

from datetime import datetime

from flask.typing import ResponseReturnValue
from flask_login import current_user
from pydantic import Field

from webapp.api.blueprint import api
from webapp.api.schemas import Schema
from webapp.api.serialize import respond
from webapp.api.spec import endpoint
from webapp.engine.secret_refs import NAME_PATTERN
from webapp.models import Secret
from webapp.services import secrets

TAG = "Secrets"


class SecretIn(Schema):
    name: str = Field(
        max_length=100,
        pattern=NAME_PATTERN,
        description="capital letters, digits and underscores; configs read it as "
        "{{ secrets.NAME }}",
    )
    value: str = Field(
        min_length=1,
        max_length=secrets.MAX_VALUE,
        description="stored encrypted; never returned by any request",
    )


class SecretOut(Schema):
    name: str
    reference: str = Field(description="what an automated step's config writes to use it")
    created_at: datetime
    updated_at: datetime


class SecretList(Schema):
    items: list[SecretOut]
    total: int


def secret_out(secret: Secret | secrets.Deleted) -> SecretOut:
    return SecretOut(
        name=secret.name,
        reference="{{ secrets." + secret.name + " }}",
        created_at=secret.created_at,
        updated_at=secret.updated_at,
    )


@endpoint(
    api,
    "/secrets",
    "GET",
    summary="List the firm's secrets by name (admins); values are never returned",
    tag=TAG,
    response=SecretList,
)
def list_secrets() -> ResponseReturnValue:
    rows = secrets.list_secrets(current_user)
    return respond(SecretList(items=[secret_out(row) for row in rows], total=len(rows)))


@endpoint(
    api,
    "/secrets",
    "POST",
    summary="Set a secret (admins): a new one (201) or a new value for one of that name",
    tag=TAG,
    body=SecretIn,
    response=SecretOut,
    status=201,
    also={200: "A secret of that name existed: its value is replaced"},
)
def put_secret(body: SecretIn) -> ResponseReturnValue:
    changed = secrets.put_secret(current_user, body.name, body.value)
    return respond(secret_out(changed.secret), 201 if changed.created else 200)


@endpoint(
    api,
    "/secrets/<name>",
    "DELETE",
    summary="Delete a secret (admins); steps that use it fail until it is set again",
    tag=TAG,
    response=SecretOut,
)
def delete_secret(name: str) -> ResponseReturnValue:
    return respond(secret_out(secrets.delete_secret(current_user, name)))
