"""core.http sends an Idempotency-Key on every call that may create something, the same
on each retry and after a crash, and records what the answer says it created (a
ResourceLink) with the step's outcome; the runner shows it with a link out."""

import os
import signal
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.integration.engine_support import (
    by_key,
    fresh,
    publish,
    reload,
    run_worker,
    start,
    step,
    wait_for,
)
from tests.integration.standin_support import StandIn, stand_in
from tests.integration.test_worker_processes import LEASE_SECONDS, finish, flask
from webapp.extensions import db
from webapp.models import Job, ResourceLink, WorkflowEvent
from webapp.services import resource_links


def creating(request: dict) -> tuple[int, dict, dict]:
    """Files a case: each new request creates a new one (the stand-in answers a key it has
    seen with the first answer, as a provider does)."""
    number = len({r["headers"].get("idempotency-key") for r in script_requests(request)})
    return 201, {"Location": f"/cases/C-{number}"}, {"id": f"C-{number}", "status": "filed"}


def script_requests(request: dict) -> list[dict]:
    return request["_script"].requests


@pytest.fixture
def private_allowed(app, monkeypatch):
    monkeypatch.setitem(app.config, "HTTP_ALLOW_PRIVATE", True)


def new_script(**fields) -> StandIn:
    script = StandIn(lambda request: creating({**request, "_script": script}), **fields)
    return script


def filing(base: str, **fields) -> dict:
    config = {"method": "POST", "url": f"{base}/cases", "body": {"ref": "{{ matter.reference }}"}}
    return step("file_case", "core.http", config=config, **fields)


def test_post_sends_one_key_for_every_retry_and_records_what_was_created(
    firm, private_allowed, login_as
):
    replies = iter([(503, {}, {"busy": True})])

    def busy_then_create(request: dict) -> tuple[int, dict, dict]:
        return next(replies, None) or creating({**request, "_script": script})

    script = StandIn(busy_then_create)
    with stand_in(script) as base:
        retry = {"maxAttempts": 3, "backoffSeconds": 0}
        template = publish(firm.api, "File", [filing(base, retry=retry)])
        instance = start(firm.api, template, firm.matter.id)
        run_worker()
    step_row = by_key(reload(firm.api, instance["id"]), "file_case")
    assert step_row["actionState"] == "COMPLETED" and step_row["attempt"] == 2
    key = resource_links.idempotency_key(step_row["id"], 1, "http")
    assert script.keys() == [key, key]
    link = db.session.scalar(select(ResourceLink))
    assert (link.provider, link.kind, link.external_id) == ("http", "resource", "C-1")
    assert link.url == f"{base}/cases/C-1" and link.attempt == 2
    assert link.idempotency_key == key and link.step_id == step_row["id"]
    runner = login_as(firm.lawyer).get(f"/matters/{firm.matter.id}/workflows/{instance['id']}")
    text = runner.get_data(as_text=True)
    assert "C-1" in text and f'href="{base}/cases/C-1"' in text


def test_get_sends_no_key_and_records_nothing(firm, private_allowed):
    script = new_script()
    with stand_in(script) as base:
        config = {"url": f"{base}/cases/C-1"}
        template = publish(firm.api, "Look", [step("look", "core.http", config=config)])
        start(firm.api, template, firm.matter.id)
        run_worker()
    assert script.keys() == [None]
    assert db.session.scalar(select(func.count()).select_from(ResourceLink)) == 0


def test_a_key_the_config_sets_is_sent_as_written(firm, private_allowed):
    script = new_script()
    with stand_in(script) as base:
        headers = {"Idempotency-Key": "case-{{ matter.reference }}"}
        config = {"method": "PUT", "url": f"{base}/cases", "headers": headers}
        template = publish(firm.api, "Own key", [step("put", "core.http", config=config)])
        start(firm.api, template, firm.matter.id)
        run_worker()
    assert script.keys()[-1] == f"case-{firm.matter.reference}"
    assert db.session.scalar(select(ResourceLink.idempotency_key)) == (
        f"case-{firm.matter.reference}"
    )


def test_a_resource_recorded_under_the_key_is_the_outcome_and_nothing_is_called(
    firm, private_allowed
):
    script = new_script()
    with stand_in(script) as base:
        template = publish(firm.api, "File", [filing(base)])
        instance = start(firm.api, template, firm.matter.id)
        step_id = by_key(instance, "file_case")["id"]
        resource_links.record(
            org_id=firm.lawyer.org_id,
            step_id=step_id,
            provider="http",
            kind="resource",
            external_id="C-0",
            key=resource_links.idempotency_key(step_id, 1, "http"),
            url=f"{base}/cases/C-0",
        )
        db.session.commit()
        run_worker()
    assert script.requests == []
    done = by_key(reload(firm.api, instance["id"]), "file_case")
    assert done["actionState"] == "COMPLETED"
    assert done["attempts"][0]["output"]["resource"]["externalId"] == "C-0"


def test_a_worker_killed_after_the_call_and_before_its_commit_creates_nothing_twice(
    app, firm, private_allowed
):
    """The rescuer sends the same key again; the stand-in, as a provider does, answers it
    with the first answer: one case, two requests under one key, one link, one completion."""
    script = new_script(hold=threading.Event())
    with stand_in(script) as base:
        template = publish(firm.api, "File", [filing(base)])
        instance = start(firm.api, template, firm.matter.id)
        doomed = flask(app, "worker", "--id", "doomed")
        try:
            assert script.arrived.wait(30), "the worker never called the stand-in"
        finally:
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.wait(10)
        script.hold.set()
        expired = wait_for(
            lambda: fresh() or db.session.scalar(select(Job.locked_until)) < datetime.now(UTC),
            timeout=LEASE_SECONDS + 5,
        )
        assert expired
        finish(flask(app, "worker", "--until-idle", "--id", "rescuer"))
    fresh()
    step_row = by_key(reload(firm.api, instance["id"]), "file_case")
    assert step_row["actionState"] == "COMPLETED"
    assert [(a["number"], a["status"]) for a in step_row["attempts"]] == [
        (1, "FAILED"),
        (2, "SUCCEEDED"),
    ]
    key = resource_links.idempotency_key(step_row["id"], 1, "http")
    assert script.keys() == [key, key]  # the same key again: deduped by the stand-in
    assert len(script.answered) == 1  # one case was created
    links = db.session.scalars(select(ResourceLink)).all()
    assert [(link.external_id, link.idempotency_key) for link in links] == [("C-1", key)]
    completions = db.session.scalar(
        select(func.count()).where(WorkflowEvent.event_type == "step.complete")
    )
    assert completions == 1
