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
    # The attempt this run of the step began with: automatic retries and a rescue after a
    # crash keep it (and so the idempotency key sent downstream); an admin's retry of a
    # failed step starts a new run.
    run: int = 1


@dataclass(frozen=True)
class Created:
    """Something a call created outside, named by the answer: recorded as a ResourceLink
    with the step's outcome, so a retry finds it instead of creating it again."""

    provider: str
    kind: str
    external_id: str
    key: str
    url: str = ""


@dataclass
class Done:
    output: dict[str, Any]
    created: Created | None = None


@dataclass
class Wait:
    """Visit the step again at `until` (the job's run_at); no worker sleeps meanwhile."""

    until: datetime
    action_data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Call:
    """An outside call the worker makes after committing: `effect` names the executor.
    `secrets`: request fields the worker fills with the firm's secret of that name (a bot
    token), at call time. `provider` and `key`: the idempotency key sent downstream; a
    resource already recorded under it is the outcome, and nothing is called again."""

    effect: str
    request: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)
    provider: str = ""
    key: str = ""


@dataclass
class Spawn:
    template_key: str
    title: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


Result = Done | Wait | Call | Spawn


class ActionFailed(Exception):
    """The attempt failed; `retryable` says whether another attempt may succeed, and
    `retry_after` (seconds) when the other side said when (a 429's Retry-After)."""

    def __init__(
        self, message: str, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


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


def idempotency_key(step_id: int, attempt: int, purpose: str) -> str:
    """The key sent downstream: the same for every run of one attempt of one step."""
    return f"matterflow-step-{step_id}-attempt-{attempt}-{purpose}"


def backoff_seconds(policy: RetryPolicy, attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): exponential."""
    return policy.backoff_seconds * policy.backoff_factor ** max(attempt - 1, 0)
