"""Helpers of the people and token tests: the invitation link as the email delivered
over loopback SMTP carries it (the injected `clock` fixture is the triggers' one, from
tests/integration/conftest.py)."""

import re
from typing import Any

from tests.integration.engine_support import run_worker, smtp_server

LINK = re.compile(r"https?://\S+/invitations/(\S+)")


def token_of(body: str) -> str:
    match = LINK.search(body)
    assert match, body
    return match.group(1)


def delivered_invitations(app: Any) -> list[Any]:
    """Run the worker against a real SMTP server on loopback; the emails it received."""
    before = app.config["SMTP_PORT"]
    with smtp_server() as (inbox, port):
        app.config["SMTP_PORT"] = port
        try:
            run_worker()
        finally:
            app.config["SMTP_PORT"] = before
    return [item["message"] for item in inbox.messages]


def link_token(message: Any) -> str:
    return token_of(message.get_body(("plain",)).get_content())
