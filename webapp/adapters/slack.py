"""Slack's Web API through slack_sdk: `chat.postMessage` with the firm's bot token, at
SLACK_API_URL (Slack's by default; a local stand-in in the tests). Failures come back as
ActionFailed: a 429 carries Slack's Retry-After, so the job is rescheduled then instead of
a worker sleeping on it."""

from typing import Any
from urllib.error import URLError

from flask import current_app
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from webapp.engine.actions.automated import ActionFailed

# Slack's error codes worth another attempt: its side, not the request.
RETRYABLE_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
DEFAULT_RETRY_AFTER = 30.0


def post_message(request: dict[str, Any]) -> dict[str, Any]:
    client = WebClient(
        token=request["token"],
        base_url=current_app.config["SLACK_API_URL"],
        timeout=int(current_app.config["SLACK_TIMEOUT_SECONDS"]),
        retry_handlers=[],  # retries are the step's, through the outbox: never a second post here
    )
    try:
        response = client.chat_postMessage(
            channel=request["channel"], text=request["text"], blocks=request.get("blocks")
        )
    except SlackApiError as error:
        raise refusal(error) from None
    except (SlackClientError, URLError, OSError) as error:
        raise ActionFailed(f"Could not reach Slack: {error}", retryable=True) from None
    return {"ok": True, "channel": response.get("channel"), "ts": response.get("ts")}


def refusal(error: SlackApiError) -> ActionFailed:
    response = error.response
    status = int(response.status_code)
    code = str(response.get("error") or f"HTTP {status}") if response.data else f"HTTP {status}"
    if status == 429:
        wait = retry_after(response.headers)
        return ActionFailed(
            f"Slack is limiting this bot's messages (HTTP 429): trying again in {wait:g} s.",
            retryable=True,
            retry_after=wait,
        )
    retryable = status >= 500 or code in RETRYABLE_ERRORS
    return ActionFailed(f"Slack refused the message: {code}.", retryable=retryable)


def retry_after(headers: dict[str, Any]) -> float:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER
