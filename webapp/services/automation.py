"""Running automated steps for the worker.

One `step.run` job is one visit to a step. `begin_step` (a transaction) starts an attempt
and asks the handler what to do; a pure outcome (echo, delay, sub-workflow) is applied
in that same transaction. An outside call (HTTP, SMTP) is made after the commit, and
`finish_step` (a second transaction) records its result. The attempt rows say what was
sent and what came back; retries follow the step's retry policy with exponential backoff,
and an exhausted step fails (its job goes to the dead letters)."""

import traceback
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import lazyload

from webapp.adapters import execute
from webapp.engine.actions import get_handler
from webapp.engine.actions.automated import (
    ActionFailed,
    AutomatedHandler,
    Call,
    Created,
    Done,
    RunContext,
    Spawn,
    Wait,
    backoff_seconds,
)
from webapp.engine.actions.subworkflow import check_depth
from webapp.engine.errors import Conflict, DomainError
from webapp.engine.secret_refs import mask
from webapp.engine.states import ACTIVE_STATUSES, InstanceStatus, StepEvent, StepState
from webapp.extensions import db
from webapp.models import InstanceStep, Job, ResourceLink, StepAttempt, User, WorkflowInstance
from webapp.models.base import utcnow
from webapp.observability import observe, tracing
from webapp.observability.jobs import visiting
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import savepoint, transactional
from webapp.services import effects, outbox, resource_links
from webapp.services.instances import instantiate
from webapp.services.step_secrets import masking_logs, resolve_config, reveal_all
from webapp.services.steps.advance import (
    advance,
    complete_step,
    fail_step,
    notify_parent,
    step_event,
)
from webapp.services.steps.conditions import render_step
from webapp.services.templates import find_template

RUNNING, SUCCEEDED, FAILED = "RUNNING", "SUCCEEDED", "FAILED"
ABANDONED = "The worker running this attempt stopped before it finished (its lease expired)."


@dataclass(frozen=True)
class PendingCall:
    """An outside call to make between `begin_step` and `finish_step`. `revealed`: the
    secret values in `request`, masked in whatever comes back before it is recorded."""

    job_id: int
    instance_id: int
    attempt_id: int
    effect: str
    request: dict[str, Any]
    revealed: tuple[str, ...] = ()


@dataclass
class Visit:
    """The rows one visit works on, loaded and locked."""

    job: Job
    instance: WorkflowInstance
    step: InstanceStep
    handler: AutomatedHandler


def run_step_job(job: outbox.Claimed, worker_id: str) -> None:
    call = begin_step(job.id, job.instance_id or 0, worker_id)
    if call is not None:
        call_out(call, worker_id)


def call_out(call: PendingCall, worker_id: str) -> None:
    """Make the outside call after `begin_step` committed, then record what came back."""
    try:
        with masking_logs(call.revealed):
            result, failure = execute(call.effect, call.request), None
    except ActionFailed as error:
        result, failure = None, error
    except Exception as error:  # a bug or an unexpected library error: retry, then report
        trace = mask(traceback.format_exc(), call.revealed)
        current_app.logger.error("Executor %s failed: %s", call.effect, trace)
        result, failure = None, ActionFailed(f"Unexpected error: {error}", retryable=True)
    if failure is not None:
        message = mask(failure.message, call.revealed)
        failure = ActionFailed(message, failure.retryable, failure.retry_after)
    finish_step(call, worker_id, mask(result, call.revealed), failure)


class InstanceBusy(Exception):
    """Another transaction holds the instance; the worker runs its other jobs first."""


def lock_instance(instance_id: int, skip_locked: bool = False) -> WorkflowInstance | None:
    # The matter (and its members) loads only if a condition or template asks for it.
    return db.session.scalar(
        select(WorkflowInstance)
        .where(WorkflowInstance.id == instance_id)
        .options(lazyload(WorkflowInstance.matter))
        .with_for_update(of=WorkflowInstance, skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )


def _lock_or_busy(instance_id: int, wait: bool) -> WorkflowInstance | None:
    instance = lock_instance(instance_id, skip_locked=not wait)
    if instance is None and not wait:
        exists = select(WorkflowInstance.id).where(WorkflowInstance.id == instance_id)
        if db.session.scalar(exists) is not None:
            raise InstanceBusy(instance_id)
    return instance


def _load(job_id: int, instance_id: int, worker_id: str) -> Visit | None:
    """Lock the instance, then the job (the order every transaction uses)."""
    db.session.expire_all()  # the worker's session outlives transactions: read afresh
    instance = lock_instance(instance_id)
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return None  # the lease was lost: whoever holds it now does the work
    return _visit(job, instance)


def _visit(job: Job, instance: WorkflowInstance | None) -> Visit | None:
    step = None
    if instance is not None:
        step = next((s for s in instance.steps if s.id == job.payload.get("stepId")), None)
    if instance is None or step is None:
        outbox.mark_done(job, "The step no longer exists.")
        return None
    return Visit(job, instance, step, get_handler(step.action_type))  # type: ignore[arg-type]  # a step.run job is only enqueued for an automated step


def _still_runnable(visit: Visit) -> bool:
    instance, step, job = visit.instance, visit.step, visit.job
    if instance.status in (InstanceStatus.PAUSED, InstanceStatus.CREATED):
        outbox.park(job)
        return False
    if instance.status not in ACTIVE_STATUSES:
        outbox.mark_done(job, f"The workflow is {instance.status}.")
        return False
    if step.action_state not in (StepState.READY, StepState.IN_PROGRESS):
        outbox.mark_done(job, f"The step is {step.action_state}.")
        return False
    return True


def begin_step(job_id: int, instance_id: int, worker_id: str) -> PendingCall | None:
    calls = begin_steps([job_id], instance_id, worker_id)
    return calls[0] if calls else None


@transactional
def begin_steps(
    job_ids: list[int], instance_id: int, worker_id: str, wait: bool = True
) -> list[PendingCall]:
    """Visits of one instance's steps, in job order, in one transaction: the instance and
    the jobs are locked and loaded once, and the writes of all of them go in one flush.
    Each visit sees what the ones before it did, as if they had run one by one.
    `wait=False`: raise InstanceBusy instead of waiting for another worker's lock."""
    with db.session.no_autoflush:
        db.session.expire_all()  # the worker's session outlives transactions: read afresh
        instance = _lock_or_busy(instance_id, wait)
        owned = outbox.own_jobs(job_ids, worker_id)
        # A job whose lease was lost is skipped: whoever holds it now does the work.
        visits = (_visit(owned[job_id], instance) for job_id in job_ids if job_id in owned)
        calls = (_begin_visit(visit, worker_id) for visit in visits if visit is not None)
        return [call for call in calls if call is not None]


def _begin_visit(visit: Visit, worker_id: str) -> PendingCall | None:
    """Under the request that enqueued this visit: its trace, its request id."""
    with visiting(visit.job.trace_context, job_id=visit.job.id, **_about(visit)):
        return _begin(visit, worker_id)


def _about(visit: Visit) -> dict[str, Any]:
    """What spans and log lines say about a visit."""
    instance, step = visit.instance, visit.step
    return {
        "firm": instance.org_id,
        "matter": instance.matter_id,
        "instance": instance.id,
        "step": step.id,
        "action_type": step.action_type,
    }


def _begin(visit: Visit, worker_id: str) -> PendingCall | None:
    if not _still_runnable(visit):
        return None
    step = visit.step
    if step.action_state == StepState.READY:
        step_event(visit.instance, step, StepEvent.START, None)
    attempt = _latest_attempt(step) if step.attempt else None
    if attempt is not None and attempt.status == SUCCEEDED:
        # The result came back while the instance was paused: apply it now, call nothing.
        _succeed(visit, attempt, attempt.output or {})
        return None
    if attempt is not None and attempt.status == RUNNING and "until" not in step.action_data:
        _close(attempt, FAILED, error=ABANDONED)
    exhausted = visit.job.attempts >= _policy(visit).max_attempts
    if attempt is not None and attempt.status == FAILED and exhausted:
        _give_up(visit, attempt.error or ABANDONED)
        return None
    if attempt is None or attempt.status != RUNNING:
        attempt = _open_attempt(visit, worker_id)
    return _run(visit, attempt)


def _run(visit: Visit, attempt: StepAttempt) -> PendingCall | None:
    observe(**_about(visit))
    revealed: tuple[str, ...] = ()
    try:
        resolved = resolve_config(visit.step, visit.instance, visit.handler)
        revealed = resolved.revealed
        with tracing.span("handler run", attempt=attempt.number, **_about(visit)):
            outcome = visit.handler.run(_context(visit, attempt, resolved.config))
        if isinstance(outcome, Call) and outcome.secrets:
            revealed += _fill_secrets(visit, outcome)
    except ActionFailed as failure:
        observe(result="failed")
        masked = ActionFailed(
            mask(failure.message, revealed), failure.retryable, failure.retry_after
        )
        _record_failure(visit, attempt, masked)
        return None
    observe(result=type(outcome).__name__.lower())
    if isinstance(outcome, Call) and outcome.key:
        link = resource_links.find(outcome.provider, outcome.key)
        if link is not None and link.step_id == visit.step.id:
            # Made by an earlier visit of this step: its outcome, not a second call.
            _succeed(visit, attempt, _recorded_output(link))
            return None
    if not isinstance(outcome, Call):
        outcome = _masked(outcome, revealed)
    if isinstance(outcome, Done):
        _succeed(visit, attempt, outcome.output)
    elif isinstance(outcome, Wait):
        visit.step.action_data = outcome.action_data
        outbox.reschedule(visit.job, (outcome.until - utcnow()).total_seconds())
    elif isinstance(outcome, Spawn):
        _spawn(visit, attempt, outcome)
    elif isinstance(outcome, Call):
        try:
            request = effects.prepare(outcome.effect, visit.instance, visit.step, outcome.request)
        except ActionFailed as failure:
            _record_failure(visit, attempt, failure)
            return None
        db.session.flush()  # the attempt's id, for `finish_step`
        return PendingCall(
            visit.job.id,
            visit.instance.id,
            attempt.id,
            outcome.effect,
            request,
            revealed,
        )
    return None


def _fill_secrets(visit: Visit, call: Call) -> tuple[str, ...]:
    values = reveal_all(visit.instance.org_id, set(call.secrets.values()))
    for field_name, secret_name in call.secrets.items():
        call.request[field_name] = values[secret_name]
    return tuple(values.values())


def _masked(outcome: Done | Wait | Spawn, revealed: tuple[str, ...]) -> Done | Wait | Spawn:
    """An outcome recorded as is (an output, working data, a child's parameters) holds
    no secret value."""
    if not revealed:
        return outcome
    if isinstance(outcome, Done):
        return Done(mask(outcome.output, revealed), outcome.created)
    if isinstance(outcome, Wait):
        return Wait(outcome.until, mask(outcome.action_data, revealed))
    return Spawn(
        outcome.template_key, mask(outcome.title, revealed), mask(outcome.parameters, revealed)
    )


def _recorded_output(link: ResourceLink) -> dict[str, Any]:
    """What the attempt that created the resource returned, else what the link says."""
    attempt = db.session.scalar(
        select(StepAttempt).where(
            StepAttempt.step_id == link.step_id,
            StepAttempt.number == link.attempt,
            StepAttempt.status == SUCCEEDED,
        )
    )
    if attempt is not None and attempt.output:
        return dict(attempt.output)
    return {
        "resource": {
            "provider": link.provider,
            "kind": link.kind,
            "externalId": link.external_id,
            "url": link.url,
        }
    }


@transactional
def finish_step(
    call: PendingCall, worker_id: str, result: dict[str, Any] | None, failure: ActionFailed | None
) -> None:
    visit = _load(call.job_id, call.instance_id, worker_id)
    if visit is None:
        return
    attempt = db.session.get(StepAttempt, call.attempt_id)
    if attempt is None or attempt.status != RUNNING:
        outbox.mark_done(visit.job, "The attempt was already settled.")
        return
    observe(**_about(visit))
    if failure is None:
        try:
            with tracing.span("handler finish", attempt=attempt.number, **_about(visit)):
                done = visit.handler.finish(_context(visit, attempt), result or {})
            output = done.output
            if done.created is not None:
                _record_link(visit, attempt, done.created)
            output = effects.settle(call.effect, visit.instance, visit.step, output)
        except ActionFailed as error:
            failure = error
    observe(result="failed" if failure is not None else "done")
    if failure is not None:
        if _still_runnable(visit):
            _record_failure(visit, attempt, failure)
        else:
            _close(attempt, FAILED, error=failure.message)
        return
    if not _still_runnable(visit):
        _close(attempt, SUCCEEDED, output=output)  # applied when the instance resumes
        return
    _succeed(visit, attempt, output)


def _record_link(visit: Visit, attempt: StepAttempt, created: Created) -> None:
    """In the transaction of the outcome: a crash before the commit loses both, and the
    rescue's call, with the same key, is answered by the other side's record of it."""
    resource_links.record(
        org_id=visit.instance.org_id,
        step_id=visit.step.id,
        provider=created.provider,
        kind=created.kind,
        external_id=created.external_id[:255],
        key=created.key,
        url=created.url[:500],
        attempt=attempt.number,
    )


def _policy(visit: Visit) -> Any:
    return visit.handler.retry_policy(visit.step.retry)


def _context(
    visit: Visit, attempt: StepAttempt, config: dict[str, Any] | None = None
) -> RunContext:
    """`config`: the config resolved with secrets (the call); else the stored one, with
    its references as written (interpreting an answer needs no secret)."""
    return RunContext(
        step_id=visit.step.id,
        step_key=visit.step.key,
        config=visit.step.action_config or {} if config is None else config,
        action_data=dict(visit.step.action_data or {}),
        attempt=attempt.number,
        now=utcnow(),
        instance_id=visit.instance.id,
        matter_id=visit.instance.matter_id,
        depth=visit.instance.depth,
        run=max(attempt.number - visit.job.attempts + 1, 1),
    )


def _latest_attempt(step: InstanceStep) -> StepAttempt | None:
    db.session.flush()  # an attempt an earlier visit of the same batch opened counts
    return db.session.scalar(
        select(StepAttempt)
        .where(StepAttempt.step_id == step.id)
        .order_by(StepAttempt.number.desc())
        .limit(1)
    )


def _open_attempt(visit: Visit, worker_id: str) -> StepAttempt:
    step = visit.step
    step.attempt = (step.attempt or 0) + 1
    visit.job.attempts += 1
    attempt = StepAttempt(
        org_id=visit.instance.org_id,
        instance_id=visit.instance.id,
        step_id=step.id,
        job_id=visit.job.id,
        number=step.attempt,
        status=RUNNING,
        inputs=step.action_config or {},
        worker_id=worker_id,
        started_at=utcnow(),
    )
    db.session.add(attempt)
    return attempt


def _close(
    attempt: StepAttempt,
    status: str,
    output: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    attempt.status = status
    attempt.output = output
    attempt.error = error
    attempt.finished_at = utcnow()


def _succeed(visit: Visit, attempt: StepAttempt, output: dict[str, Any]) -> None:
    if attempt.status == RUNNING:
        _close(attempt, SUCCEEDED, output=output)
    visit.step.last_error = None
    complete_step(visit.instance, visit.step, output, None, {"attempt": attempt.number})
    outbox.mark_done(visit.job)
    advance(visit.instance)


def _record_failure(visit: Visit, attempt: StepAttempt, failure: ActionFailed) -> None:
    _close(attempt, FAILED, error=failure.message)
    policy = _policy(visit)
    if failure.retryable and visit.job.attempts < policy.max_attempts:
        delay = failure.retry_after
        if delay is None:
            delay = backoff_seconds(policy, visit.job.attempts)
        outbox.reschedule(visit.job, delay, failure.message)
        visit.step.last_error = failure.message
        record_event(
            org_id=visit.instance.org_id,
            event_type="step.retry_scheduled",
            actor_id=None,
            matter_id=visit.instance.matter_id,
            instance_id=visit.instance.id,
            step_id=visit.step.id,
            payload={
                "key": visit.step.key,
                "attempt": attempt.number,
                "error": failure.message,
                "retryInSeconds": delay,
            },
        )
        return
    tries = visit.job.attempts
    suffix = f" (gave up after {tries} attempts)" if failure.retryable and tries > 1 else ""
    _give_up(visit, failure.message + suffix)


@transactional
def fail_run(job_id: int, instance_id: int, worker_id: str, error: str) -> None:
    """A step run broke unexpectedly (a bug, not an ActionFailed) and what it wrote was
    rolled back. The failure counts as an attempt under the step's retry policy; the last
    one fails the step and sends the job to the dead letters, as any last failure does."""
    visit = _load(job_id, instance_id, worker_id)
    if visit is None or not _still_runnable(visit):
        return
    attempt = _latest_attempt(visit.step)
    if attempt is not None and attempt.status == RUNNING and attempt.job_id == visit.job.id:
        _close(attempt, FAILED, error=error)  # opened and counted by a committed visit
    else:
        visit.job.attempts += 1
    policy = _policy(visit)
    if visit.job.attempts < policy.max_attempts:
        outbox.reschedule(visit.job, backoff_seconds(policy, visit.job.attempts), error)
        return
    if visit.step.action_state == StepState.READY:
        step_event(visit.instance, visit.step, StepEvent.START, None)
    _give_up(visit, error)


def _give_up(visit: Visit, reason: str) -> None:
    outbox.mark_dead(visit.job, reason)
    fail_step(visit.instance, visit.step, reason)
    advance(visit.instance)


# --- sub-workflows -----------------------------------------------------------------------


def _spawn(visit: Visit, attempt: StepAttempt, spawn: Spawn) -> None:
    """The child starts in this transaction; the step stays IN_PROGRESS until it ends."""
    instance = visit.instance
    depth = instance.depth + 1
    try:
        check_depth(depth, current_app.config["SUBWORKFLOW_MAX_DEPTH"], spawn.template_key)
        creator = db.session.get(User, instance.created_by_id or 0)
        if creator is None:
            raise ActionFailed("The person who started this workflow no longer exists.")
        with savepoint():
            template = find_template(creator, spawn.template_key)
            child, _ = instantiate(
                creator,
                template.id,
                instance.matter_id,
                spawn.title,
                spawn.parameters,
                request_id=f"subworkflow:{visit.step.id}:{attempt.number}",
            )
    except DomainError as error:
        _record_failure(visit, attempt, ActionFailed(f"Cannot start the sub-workflow: {error}"))
        return
    except ActionFailed as error:
        _record_failure(visit, attempt, error)
        return
    child.parent_instance_id = instance.id
    child.parent_step_id = visit.step.id
    child.depth = depth
    visit.step.action_data = {**visit.step.action_data, "childInstanceId": child.id}
    record_event(
        org_id=instance.org_id,
        event_type="step.subworkflow_started",
        actor_id=None,
        matter_id=instance.matter_id,
        instance_id=instance.id,
        step_id=visit.step.id,
        payload={"key": visit.step.key, "childInstanceId": child.id, "templateKey": template.key},
    )
    outbox.mark_done(visit.job)
    notify_parent(child)  # a child that finished at once (every step skipped) reports now


@transactional
def finish_parent_step(claimed: outbox.Claimed, worker_id: str) -> None:
    """A child workflow ended: its parent step completes with the child's outputs, or
    fails when the child failed or was cancelled."""
    db.session.expire_all()
    parent = lock_instance(claimed.instance_id or 0)
    job = outbox.own_job(claimed.id, worker_id)
    if job is None:
        return
    child = db.session.get(WorkflowInstance, job.payload.get("childId"))
    step = None
    if parent is not None:
        step = next((s for s in parent.steps if s.id == job.payload.get("parentStepId")), None)
    attempt = _latest_attempt(step) if step is not None else None
    if parent is None or child is None or step is None or attempt is None:
        outbox.mark_done(job, "The parent step no longer exists.")
        return
    if parent.status in (InstanceStatus.PAUSED, InstanceStatus.CREATED):
        outbox.park(job)
        return
    outbox.mark_done(job)
    if parent.status not in ACTIVE_STATUSES or step.action_state != StepState.IN_PROGRESS:
        return
    run_job = db.session.get(Job, attempt.job_id or 0)
    visit = Visit(run_job or job, parent, step, get_handler(step.action_type))  # type: ignore[arg-type]  # a step.run job is only enqueued for an automated step
    if child.status == InstanceStatus.COMPLETED:
        _succeed(visit, attempt, dict(child.step_data or {}))
        return
    ending = "was cancelled" if child.status == InstanceStatus.CANCELLED else "failed"
    _record_failure(
        visit,
        attempt,
        ActionFailed(f"The sub-workflow {child.title!r} (#{child.id}) {ending}."),
    )


# --- admin retry of a dead step run ------------------------------------------------------


def reopen_failed_step(job: Job, user: User) -> None:
    """FAILED -> READY (`retry`), templates rendered again; the job runs it afresh."""
    instance = lock_instance(job.instance_id or job.payload.get("instanceId", 0))
    step = None
    if instance is not None:
        step = next((s for s in instance.steps if s.id == job.payload.get("stepId")), None)
    if instance is None or step is None:
        raise Conflict("The step of this job no longer exists; it cannot be retried.")
    if instance.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"The workflow is {instance.status}; a step of a finished workflow cannot be retried."
        )
    if step.action_state != StepState.FAILED:
        raise Conflict(f"The step is {step.action_state}; only a failed step can be retried.")
    step_event(instance, step, StepEvent.RETRY, user.id)
    step.last_error = None
    data = dict(instance.step_data or {})
    data.pop(step.key, None)
    instance.step_data = data
    try:
        render_step(step, instance)
    except Exception as error:
        raise Conflict(f"The step's templates cannot be rendered: {error}") from None
    advance(instance, user.id)
