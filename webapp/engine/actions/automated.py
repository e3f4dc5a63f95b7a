"""The contract of automated action types, run by the worker.

A handler stays pure: `run` looks at the rendered config and returns what should happen —
an output now (`Done`), a later visit (`Wait`), an outside call for the worker to make
(`Call`: HTTP, SMTP), or a child workflow to start (`Spawn`). The worker makes the call
outside any database transaction and hands the result back to `finish`."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from webapp.engine.actions.base import ActionHandler
from webapp.engine.definition import RetryPolicy


@dataclass
class RunContext:
    step_id: int
    step_key: str
    config: dict[str, Any]
    action_data: dict[str, Any]
    attempt: int
    now: datetime
    instance_id: int = 0
    matter_id: int = 0
    depth: int = 0


@dataclass
class Done:
    output: dict[str, Any]


@dataclass
class Wait:
    """Visit the step again at `until` (the job's run_at); no worker sleeps meanwhile."""

    until: datetime
    action_data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Call:
    """An outside call the worker makes after committing: `effect` names the executor."""

    effect: str
    request: dict[str, Any]


@dataclass
class Spawn:
    template_key: str
    title: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


Result = Done | Wait | Call | Spawn


class ActionFailed(Exception):
    """The attempt failed; `retryable` says whether another attempt may succeed."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class AutomatedHandler(ActionHandler):
    automated = True
    # Used when the step has no `retry` policy of its own.
    default_retry: ClassVar[RetryPolicy] = RetryPolicy(max_attempts=1)

    def run(self, ctx: RunContext) -> Result:
        raise NotImplementedError

    def finish(self, ctx: RunContext, result: dict[str, Any]) -> Done:
        """Interpret an executor's result; raise ActionFailed when it is a failure."""
        return Done(result)

    def retry_policy(self, retry: dict[str, Any] | None) -> RetryPolicy:
        return RetryPolicy.model_validate(retry) if retry else self.default_retry


def backoff_seconds(policy: RetryPolicy, attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): exponential."""
    return policy.backoff_seconds * policy.backoff_factor ** max(attempt - 1, 0)
