"""Rate limits (Flask-Limiter): sign-in per account and per address, the API per token,
hooks per trigger, a client's one-step link per link. Counts live in memory by default and in Redis when `REDIS_URL` is set,
so every gunicorn worker and every machine shares them.

Each app gets its own Limiter: the extension keeps its storage and switches on the
instance, and the tests build several apps in one process (one with limits, one without)."""

import hashlib
import time
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limit, Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user

SIGN_IN = "web.login"
HOOK = "api.receive_hook"
CLIENT_LINK = "web.client_links."
# Signed by their sender and limited elsewhere (hooks) or called by a provider in bursts.
NOT_PER_TOKEN = {
    HOOK,
    "api.esign_webhook",
    "api.payment_webhook",
    "api.upload_webhook",
    "api.stripe_webhook",
    "api.dropbox_sign_webhook",
    "api.dsl_schema",
}


def limiter_of(app: Flask) -> Limiter | None:
    """The app's limiter, or None when limits are off."""
    return app.extensions.get("matterflow_limiter")


# ---- who is counted ------------------------------------------------------------------------


def address() -> str:
    return "address:" + (get_remote_address() or "unknown")


def account() -> str:
    """The account a sign-in names, as typed (lower case): one counter per account,
    whether it exists or not, so a refusal says nothing about which accounts exist."""
    email = (request.form.get("email") or "").strip().lower()
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def api_caller() -> str:
    """A token counts for itself; a browser session for its person; anyone else for
    their address."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer ") and current_user.is_authenticated:
        return "token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:32]
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return address()


def trigger() -> str:
    return f"trigger:{(request.view_args or {}).get('trigger_id', 0)}"


def client_link() -> str:
    """One counter per link, whoever opens it (the token, hashed: it is a credential)."""
    token = str((request.view_args or {}).get("token", ""))
    return "link:" + hashlib.sha256(token.encode()).hexdigest()[:32]


# ---- when a limit applies ------------------------------------------------------------------


def not_a_sign_in() -> bool:
    return request.endpoint != SIGN_IN or request.method != "POST"


def not_an_api_call() -> bool:
    return request.blueprint != "api" or request.endpoint in NOT_PER_TOKEN


def not_a_hook() -> bool:
    return request.endpoint != HOOK


def not_a_client_link() -> bool:
    return not (request.endpoint or "").startswith(CLIENT_LINK)


def sign_in_failed(_response: Response) -> bool:
    """Only wrong passwords count against a sign-in limit (web/auth.py marks them)."""
    return bool(g.get("sign_in_failed"))


def setting(name: str) -> Any:
    return lambda: current_app.config[name]


LIMITS = [
    Limit(
        setting("SIGN_IN_ACCOUNT_LIMIT"),
        key_function=account,
        scope="sign-in-account",
        shared=True,
        exempt_when=not_a_sign_in,
        deduct_when=sign_in_failed,
        error_message="Too many wrong passwords for this account.",
    ),
    Limit(
        setting("SIGN_IN_ADDRESS_LIMIT"),
        key_function=address,
        scope="sign-in-address",
        shared=True,
        exempt_when=not_a_sign_in,
        deduct_when=sign_in_failed,
        error_message="Too many wrong passwords from this address.",
    ),
    Limit(
        setting("API_RATE_LIMIT"),
        key_function=api_caller,
        scope="api",
        shared=True,
        exempt_when=not_an_api_call,
        error_message="Too many requests for this token.",
    ),
    Limit(
        setting("HOOK_RATE_LIMIT"),
        key_function=trigger,
        scope="hook",
        shared=True,
        exempt_when=not_a_hook,
        error_message="Too many deliveries for this trigger.",
    ),
    Limit(
        setting("CLIENT_LINK_RATE_LIMIT"),
        key_function=client_link,
        scope="client-link",
        shared=True,
        exempt_when=not_a_client_link,
        error_message="This link was opened too many times in a short while.",
    ),
]


def register_limits(app: Flask) -> None:
    if not app.config["RATELIMIT_ENABLED"]:
        return
    limiter = Limiter(get_remote_address, default_limits=list(LIMITS), fail_on_first_breach=False)
    limiter.init_app(app)
    app.extensions["matterflow_limiter"] = limiter


# ---- the answer --------------------------------------------------------------------------


def retry_after() -> int:
    """Whole seconds until every breached tier lets a request through again: the longest
    wait (each tier is checked, RATELIMIT_FAIL_ON_FIRST_BREACH is off)."""
    limiter = limiter_of(current_app)
    breached = [limit for limit in (limiter.current_limits if limiter else []) if limit.breached]
    if not breached:
        return 60
    return max(1, int(max(limit.reset_at for limit in breached) - time.time()))


def throttled(error: RateLimitExceeded) -> tuple[int, str]:
    """The wait and the plain-words reason of a refusal."""
    return retry_after(), str(error.description)
