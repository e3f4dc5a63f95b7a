"""/admin/users, /admin/tokens and /account/tokens: the firm's people with their open
invitations, and API tokens with their owner and last use, each in two queries."""

from dataclasses import dataclass, field
from typing import Any

from webapp.models import ApiToken, Invitation, User
from webapp.services import auth
from webapp.services import people as people_service
from webapp.services.clock import now

SHOWN = 200  # people and tokens listed on one page (the API pages through more)


@dataclass
class Person:
    user: User
    status: str  # invited, active, deactivated
    invitation: Invitation | None


@dataclass
class UsersPage:
    people: list[Person]
    total: int
    roles: tuple[str, ...] = people_service.ROLES
    form: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    confirming: str | None = None  # "deactivate-<id>" without script


def users_page(actor: User) -> UsersPage:
    rows, total = people_service.list_users(actor, limit=SHOWN)
    invitations = people_service.open_invitations([row.id for row in rows])
    return UsersPage(
        people=[
            Person(row, people_service.status_of(row), invitations.get(row.id)) for row in rows
        ],
        total=total,
    )


@dataclass
class Token:
    token: ApiToken
    state: str  # active, expired, revoked


@dataclass
class TokensPage:
    tokens: list[Token]
    total: int
    everyone: bool  # the admin's view of the firm's tokens
    form: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    revealed: dict[str, Any] | None = None  # a new token, shown once
    confirming: str | None = None  # "revoke-<id>" without script
    default_days: int = auth.DEFAULT_TOKEN_DAYS
    max_days: int = auth.MAX_TOKEN_DAYS


def tokens_page(actor: User, everyone: bool = False) -> TokensPage:
    rows, total = auth.list_tokens(actor, everyone, limit=SHOWN)
    moment = now()
    return TokensPage(
        tokens=[Token(row, auth.token_state(row, moment)) for row in rows],
        total=total,
        everyone=everyone,
    )
