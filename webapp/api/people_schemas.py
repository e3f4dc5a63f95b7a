"""Request and response bodies of people and API tokens (camelCase on the wire)."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from webapp.api.schemas import Omitted, Patch, Schema
from webapp.services.auth import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS

RoleName = Literal["ADMIN", "LAWYER", "PARALEGAL", "CLIENT"]
# The service checks the same shapes (services/people.py), so the document and the
# answers agree: an address with one @ and a dot after it, a name on one line.
EMAIL_PATTERN = r"^[^@ \t\r\n]+@[^@ \t\r\n]+\.[^@ \t\r\n]+$"
NAME_PATTERN = r"^[ \t]*[^ \t\r\n][^\r\n]*$"


class UserIn(Schema):
    email: str = Field(max_length=320, pattern=EMAIL_PATTERN)
    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    role: RoleName


class UserPatch(Patch):
    role: RoleName | Omitted = None
    active: bool | Omitted = Field(
        None,
        description="false deactivates: their sessions and tokens are refused from their "
        "next request, and their tokens are revoked; true reactivates",
    )


class UserOut(Schema):
    id: int
    email: str
    name: str
    role: str
    active: bool
    status: Literal["invited", "active", "deactivated"] = Field(
        description="invited: has not set a password from their invitation yet"
    )
    invitation_expires_at: datetime | None = Field(
        description="when the invitation link sent last stops working (invited people)"
    )
    created_at: datetime


class UserList(Schema):
    items: list[UserOut]
    total: int


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    expires_in_days: int = Field(
        DEFAULT_TOKEN_DAYS,
        ge=1,
        le=MAX_TOKEN_DAYS,
        description=f"days until it stops working; {DEFAULT_TOKEN_DAYS} if left out",
    )


class TokenOut(Schema):
    id: int
    name: str
    user_id: int
    user_name: str
    created_at: datetime
    expires_at: datetime | None = Field(description="null: never (tokens from the command line)")
    last_used_at: datetime | None = Field(
        description="the last request it authenticated, to the minute"
    )
    revoked_at: datetime | None
    state: Literal["active", "expired", "revoked"]


class TokenCreated(TokenOut):
    token: str = Field(description="the token itself: in this answer, and never again")


class TokenList(Schema):
    items: list[TokenOut]
    total: int
