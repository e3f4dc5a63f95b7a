"""`slack.post_message`: a templated message to a Slack channel, posted by the firm's bot.

The bot token is a firm secret, named in the config (`tokenSecret`), never written in it:
the worker reveals it at call time (services/automation.py) and the adapter posts through
slack_sdk (adapters/slack.py). A 429 is retried after Slack's Retry-After; the message
posted is recorded as a ResourceLink (`channel:ts`), so a retry finds it."""

from typing import Any

from pydantic import Field, field_validator

from webapp.engine.actions.automated import (
    AutomatedHandler,
    Call,
    Created,
    Done,
    RunContext,
    idempotency_key,
)
from webapp.engine.actions.base import ActionConfig, Category
from webapp.engine.actions.registry import register
from webapp.engine.definition import RetryPolicy
from webapp.engine.secret_refs import NAME_RE, WHOLE_REFERENCE_RE, names_in

PROVIDER = "slack"
DEFAULT_TOKEN_SECRET = "SLACK_BOT_TOKEN"
SECRET_NAME_RULE = (
    "tokenSecret names a secret of the firm (Admin → Secrets), e.g. SLACK_BOT_TOKEN or "
    "{{ secrets.SLACK_BOT_TOKEN }}, never the token itself."
)


class SlackConfig(ActionConfig):
    channel: str = Field(
        min_length=1, max_length=200, description="Channel id or name, e.g. C0123456789 or #intake"
    )
    text: str = Field(
        min_length=1,
        max_length=40_000,
        description="The message (Slack mrkdwn); the notification text when blocks are given",
    )
    blocks: list[dict[str, Any]] | None = Field(
        default=None, max_length=50, description="Block Kit blocks, as JSON (optional)"
    )
    token_secret: str = Field(
        default=DEFAULT_TOKEN_SECRET,
        alias="tokenSecret",
        max_length=120,
        description="The firm's secret holding the bot token (xoxb-…): its name, never the token",
    )

    @field_validator("token_secret")
    @classmethod
    def names_a_secret(cls, value: str) -> str:
        """`{{ secrets.NAME }}` is kept as NAME: the worker reveals it, nothing renders it."""
        value = value.strip()
        if WHOLE_REFERENCE_RE.fullmatch(value):
            (value,) = names_in(value)
        if not NAME_RE.match(value):
            raise ValueError(SECRET_NAME_RULE)
        return value


@register
class SlackHandler(AutomatedHandler):
    type = "slack.post_message"
    category = Category.NOTIFICATION
    label = "Slack message"
    description = (
        "Posts a message to a Slack channel as the firm's bot; the bot token is a firm "
        "secret (tokenSecret). Rate limits are retried after Slack's Retry-After."
    )
    Config = SlackConfig
    example = {
        "channel": "#intake",
        "text": "New matter {{ matter.reference }}: {{ matter.title }}",
        "tokenSecret": "SLACK_BOT_TOKEN",
    }
    default_retry = RetryPolicy(max_attempts=3, backoff_seconds=30, backoff_factor=2)

    def run(self, ctx: RunContext) -> Call:
        config = dict(ctx.config)
        request = {"channel": config["channel"], "text": config["text"]}
        if config.get("blocks"):
            request["blocks"] = config["blocks"]
        secret = config.get("tokenSecret") or DEFAULT_TOKEN_SECRET
        return Call("slack", request, secrets={"token": secret}, provider=PROVIDER, key=_key(ctx))

    def finish(self, ctx: RunContext, result: dict[str, Any]) -> Done:
        message = f"{result['channel']}:{result['ts']}"
        return Done(result, Created(PROVIDER, "message", message, _key(ctx)))


def _key(ctx: RunContext) -> str:
    return idempotency_key(ctx.step_id, ctx.run, PROVIDER)
