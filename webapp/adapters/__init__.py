"""The outside world: each adapter behind a small interface. `execute` runs the outside
call an automated step asked for (engine/actions/automated.Call). The worker runs it
between two transactions, never inside one; a failure comes back as ActionFailed,
saying whether another attempt may help."""

from collections.abc import Callable
from typing import Any

from webapp.adapters.http import call_http
from webapp.adapters.mail import send_email
from webapp.adapters.rendering import render_to_storage
from webapp.adapters.slack import post_message
from webapp.engine.actions.automated import ActionFailed


def execute(effect: str, request: dict[str, Any]) -> dict[str, Any]:
    executors: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "http": call_http,
        "email": send_email,
        "slack": post_message,
        "render": render_to_storage,
    }
    if effect not in executors:
        raise ActionFailed(f"No executor for {effect!r}.")
    return executors[effect](request)
