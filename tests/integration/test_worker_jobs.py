"""The worker's queue: notifications, dead letters and their retry by an admin, leases
that expire, paused workflows."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from sqlalchemy import func, select

from tests.integration.engine_support import (
    HttpScript,
    by_key,
    http_server,
    make_firm,
    publish,
    reload,
    run_worker,
    smtp_server,
    start,
    step,
)
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Job, StepAttempt, WorkflowEvent
from webapp.models.base import utcnow
from webapp.persistence.journal import enqueue
from webapp.services import automation, outbox


@pytest.fixture
def firm(make_org, make_user, make_matter, api_as):
    return make_firm(make_org, make_user, make_matter, api_as, Role.ADMIN)


def test_people_who_can_act_are_emailed_when_a_step_becomes_ready(
    app, make_org, make_user, make_matter, api_as, monkeypatch
):
    firm = make_firm(make_org, make_user, make_matter, api_as, Role.PARALEGAL, Role.CLIENT)
    org_id = firm.lawyer.org_id
    silent = make_user(
        db.session.get(type(firm.lawyer).org.property.mapper.class_, org_id), Role.PARALEGAL
    )
    silent.email = ""  # someone without an address is skipped, not an error
    firm.matter.members.append(type(firm.matter.members[0])(user_id=silent.id, role=Role.PARALEGAL))
    db.session.commit()
    template = publish(
        firm.api,
        "Conflicts",
        [step("conflict_check", "CHECKLIST", roleScope="PARALEGAL", config={"items": ["Search"]})],
    )
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        monkeypatch.setitem(app.config, "NOTIFICATIONS_ENABLED", True)
        start(firm.api, template, firm.matter.id)
        run_worker()
        assert inbox.received.wait(5)
    paralegal = firm.people[Role.PARALEGAL]
    assert [m["rcpt"] for m in inbox.messages] == [[paralegal.email]]
    message = inbox.messages[0]["message"]
    assert message["Subject"] == f"Ready for you: Conflict Check ({firm.matter.reference})"
    assert f"Hello {paralegal.name}" in message.get_body(preferencelist=("plain",)).get_content()
    assert db.session.scalar(select(Job.status).where(Job.kind == "notify.step_ready")) == "DONE"


def test_nobody_is_emailed_when_notifications_are_disabled(app, firm, monkeypatch):
    template = publish(firm.api, "Quiet", [step("a", "CHECKLIST", config={"items": ["x"]})])
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        start(firm.api, template, firm.matter.id)
        run_worker()
    assert inbox.messages == []
    job = db.session.scalar(select(Job).where(Job.kind == "notify.step_ready"))
    assert (job.status, job.last_error) == ("DONE", "Notifications are disabled.")


def dead_http_step(firm, base):
    """An optional failing HTTP step beside a person's step, so the workflow stays open."""
    template = publish(
        firm.api,
        "Dead letter",
        [
            step("hold", "CHECKLIST", config={"items": ["ok"]}, dependsOn=[]),
            step(
                "call",
                "core.http",
                config={"url": base},
                dependsOn=[],
                required=False,
                retry={"maxAttempts": 2, "backoffSeconds": 0},
            ),
        ],
    )
    return start(firm.api, template, firm.matter.id)


def test_admin_sees_dead_jobs_and_retries_one_when_the_server_recovers(
    app, firm, api_as, monkeypatch
):
    monkeypatch.setitem(app.config, "HTTP_ALLOW_PRIVATE", True)
    admin_api = api_as(firm.people[Role.ADMIN])
    script = HttpScript(replies=[(500, "{}"), (500, "{}"), (200, '{"ok": true}')])
    with http_server(script) as base:
        instance = dead_http_step(firm, base)
        run_worker()
        assert by_key(reload(firm.api, instance["id"]), "call")["actionState"] == "FAILED"
        dead = admin_api.get("/jobs?status=DEAD")
        assert dead.status_code == HTTPStatus.OK
        assert dead.json["total"] == 1
        job = dead.json["items"][0]
        assert job["kind"] == "step.run" and job["attempts"] == 2
        assert "HTTP 500" in job["lastError"] and "gave up after 2 attempts" in job["lastError"]
        retried = admin_api.post(f"/jobs/{job['id']}/retry")
        assert retried.status_code == HTTPStatus.OK, retried.json
        assert retried.json["status"] == "PENDING" and retried.json["attempts"] == 0
        assert by_key(reload(firm.api, instance["id"]), "call")["actionState"] == "READY"
        run_worker()
    call = by_key(reload(firm.api, instance["id"]), "call")
    assert call["actionState"] == "COMPLETED"
    assert [a["status"] for a in call["attempts"]] == ["FAILED", "FAILED", "SUCCEEDED"]
    assert admin_api.get("/jobs?status=DEAD").json["total"] == 0
    again = admin_api.post(f"/jobs/{job['id']}/retry")
    assert again.status_code == HTTPStatus.CONFLICT


def test_only_admins_see_jobs_when_a_lawyer_asks(firm):
    assert firm.api.get("/jobs?status=DEAD").status_code == HTTPStatus.FORBIDDEN
    assert firm.api.post("/jobs/1/retry").status_code == HTTPStatus.FORBIDDEN


def test_retry_is_refused_when_the_workflow_has_failed(app, firm, api_as, monkeypatch):
    monkeypatch.setitem(app.config, "HTTP_ALLOW_PRIVATE", True)
    with http_server(HttpScript(replies=[(500, "{}")])) as base:
        template = publish(
            firm.api,
            "Fatal",
            [step("call", "core.http", config={"url": base}, retry={"maxAttempts": 1})],
        )
        instance = start(firm.api, template, firm.matter.id)
        run_worker()
    assert reload(firm.api, instance["id"])["status"] == "Failed"
    job_id = db.session.scalar(select(Job.id).where(Job.status == "DEAD"))
    response = api_as(firm.people[Role.ADMIN]).post(f"/jobs/{job_id}/retry")
    assert response.status_code == HTTPStatus.CONFLICT
    assert "Failed" in response.json["error"]["message"]


def test_a_worker_that_lost_its_lease_cannot_complete_the_step_twice(app, firm, monkeypatch):
    monkeypatch.setitem(app.config, "HTTP_ALLOW_PRIVATE", True)
    script = HttpScript(replies=[(200, '{"n": 1}')])
    with http_server(script) as base:
        template = publish(firm.api, "Slow", [step("call", "core.http", config={"url": base})])
        instance = start(firm.api, template, firm.matter.id)
        claimed = outbox.claim_jobs("slow-worker", 1)
        call = automation.begin_step(claimed[0].id, claimed[0].instance_id, "slow-worker")
        assert call is not None  # the slow worker is now "calling" the server
        db.session.execute(
            Job.__table__.update().values(locked_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert run_worker("fast-worker") == 1  # the lease expired: another worker takes over
        automation.finish_step(call, "slow-worker", {"status": 200, "body": {"n": 0}}, None)
    instance = reload(firm.api, instance["id"])
    assert instance["stepData"]["call"]["body"] == {"n": 1}
    completions = db.session.scalar(
        select(func.count()).where(WorkflowEvent.event_type == "step.complete")
    )
    assert completions == 1
    attempts = db.session.scalars(select(StepAttempt).order_by(StepAttempt.number)).all()
    assert [(a.number, a.status, a.worker_id) for a in attempts] == [
        (1, "FAILED", "slow-worker"),
        (2, "SUCCEEDED", "fast-worker"),
    ]
    assert "lease expired" in attempts[0].error


def test_jobs_of_a_paused_workflow_wait_until_it_is_resumed(firm):
    template = publish(
        firm.api, "Pause", [step("a", "CHECKLIST", config={"items": ["x"]}), step("b")]
    )
    instance = start(firm.api, template, firm.matter.id)
    a_id = by_key(instance, "a")["id"]
    firm.api.post(f"/steps/{a_id}/complete", json={"checkedItems": ["x"]})
    assert (
        firm.api.patch(f"/instances/{instance['id']}", json={"status": "Paused"}).status_code == 200
    )
    run_worker()
    job = db.session.scalar(select(Job).where(Job.kind == "step.run"))
    assert job.status == "PENDING" and job.run_at > utcnow()
    assert by_key(reload(firm.api, instance["id"]), "b")["actionState"] == "READY"
    assert (
        firm.api.patch(f"/instances/{instance['id']}", json={"status": "Running"}).status_code
        == 200
    )
    run_worker()
    assert reload(firm.api, instance["id"])["status"] == "Completed"


def test_worker_returns_when_idle_and_counts_the_jobs_it_ran(firm):
    template = publish(
        firm.api, "Three", [step("a", dependsOn=[]), step("b", dependsOn=[]), step("c")]
    )
    start(firm.api, template, firm.matter.id)
    assert run_worker() == 3
    assert run_worker() == 0


def test_a_job_that_keeps_failing_unexpectedly_reaches_the_dead_letters(firm):
    enqueue("no.such.kind", {}, org_id=firm.matter.org_id, max_attempts=2)
    db.session.commit()
    assert run_worker() == 1
    job = db.session.scalar(select(Job))
    assert (job.status, job.attempts) == ("PENDING", 1)
    db.session.execute(Job.__table__.update().values(run_at=utcnow()))
    db.session.commit()

    assert run_worker() == 1

    job = db.session.scalar(select(Job))
    assert (job.status, job.attempts) == ("DEAD", 2)
    assert "No runner for job kind 'no.such.kind'" in job.last_error
