"""Automated actions run by the worker, against real servers on loopback."""

import json
from datetime import datetime, timedelta
from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.integration.engine_support import (
    HttpScript,
    by_key,
    http_server,
    publish,
    reload,
    run_worker,
    smtp_server,
    start,
    states,
    step,
    wait_for,
)
from webapp.extensions import db
from webapp.models import Job, WorkflowInstance


@pytest.fixture
def private_allowed(app, monkeypatch):
    monkeypatch.setitem(app.config, "HTTP_ALLOW_PRIVATE", True)


def http_step(key, url, **fields):
    config = {"method": "POST", "url": url, "body": {"matter": "{{ matter.reference }}"}}
    return step(key, "core.http", config={**config, **fields.pop("config", {})}, **fields)


def test_http_step_completes_on_attempt_three_when_the_server_fails_twice(firm, private_allowed):
    script = HttpScript(replies=[(503, '{"busy": true}'), (502, "{}"), (200, '{"filed": "F-1"}')])
    with http_server(script) as base:
        template = publish(
            firm.api,
            "E-filing",
            [http_step("efile", f"{base}/file", retry={"maxAttempts": 3, "backoffSeconds": 0})],
        )
        instance = start(firm.api, template, firm.matter.id)
        run_worker()
    instance = reload(firm.api, instance["id"])
    efile = by_key(instance, "efile")
    assert efile["actionState"] == "COMPLETED"
    assert efile["attempt"] == 3
    attempts = efile["attempts"]
    assert [a["number"] for a in attempts] == [1, 2, 3]
    assert [a["status"] for a in attempts] == ["FAILED", "FAILED", "SUCCEEDED"]
    assert "HTTP 503" in attempts[0]["error"] and "HTTP 502" in attempts[1]["error"]
    assert attempts[2]["output"]["body"] == {"filed": "F-1"}
    assert all(a["inputs"]["body"] == {"matter": firm.matter.reference} for a in attempts)
    assert all(a["finishedAt"] >= a["startedAt"] for a in attempts)
    assert instance["stepData"]["efile"]["status"] == 200
    assert len(script.requests) == 3
    assert json.loads(script.requests[0]["body"]) == {"matter": firm.matter.reference}
    assert instance["status"] == "Completed"


def test_retry_waits_with_exponential_backoff_when_an_attempt_fails(firm, private_allowed):
    script = HttpScript(replies=[(503, "{}")])
    with http_server(script) as base:
        template = publish(
            firm.api,
            "Backoff",
            [
                http_step(
                    "call", base, retry={"maxAttempts": 3, "backoffSeconds": 30, "backoffFactor": 2}
                )
            ],
        )
        instance = start(firm.api, template, firm.matter.id)
        before = datetime.now().astimezone()
        run_worker()
    call = by_key(reload(firm.api, instance["id"]), "call")
    assert call["actionState"] == "IN_PROGRESS"
    job = db.session.scalar(select(Job).where(Job.kind == "step.run"))
    assert job.status == "PENDING" and job.attempts == 1
    assert job.run_at >= before + timedelta(seconds=29)
    assert "HTTP 503" in job.last_error


def test_http_step_fails_at_once_when_the_server_answers_a_client_error(firm, private_allowed):
    script = HttpScript(replies=[(404, '{"error": "no such case"}')])
    with http_server(script) as base:
        template = publish(
            firm.api,
            "Lookup",
            [http_step("lookup", base, retry={"maxAttempts": 3, "backoffSeconds": 0})],
        )
        instance = start(firm.api, template, firm.matter.id)
        run_worker()
    instance = reload(firm.api, instance["id"])
    lookup = by_key(instance, "lookup")
    assert lookup["actionState"] == "FAILED"
    assert len(lookup["attempts"]) == 1 and len(script.requests) == 1
    assert "HTTP 404" in instance["stepData"]["lookup"]["error"]
    assert instance["status"] == "Failed"


PRIVATE_HOSTS = [
    "127.0.0.1",
    "localhost",
    "[::1]",
    "0.0.0.0",
    "10.20.30.40",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "[::ffff:127.0.0.1]",
    "100.64.0.1",
]


def test_http_steps_are_refused_when_the_address_is_loopback_or_private(app, firm):
    assert app.config["HTTP_ALLOW_PRIVATE"] is False
    script = HttpScript(replies=[(200, "{}")])
    with http_server(script) as base:
        port = base.rsplit(":", 1)[1]
        # Optional steps, and a person's step that keeps the workflow open: one refusal
        # must not end the workflow before the others run.
        steps = [step("hold", "CHECKLIST", config={"items": ["ok"]}, dependsOn=[])] + [
            http_step(
                f"call_{i}",
                f"http://{host}:{port}/admin",
                dependsOn=[],
                required=False,
                retry={"maxAttempts": 3, "backoffSeconds": 0},
            )
            for i, host in enumerate(PRIVATE_HOSTS)
        ]
        instance = start(firm.api, publish(firm.api, "Internal", steps), firm.matter.id)
        run_worker()
    instance = reload(firm.api, instance["id"])
    for i, host in enumerate(PRIVATE_HOSTS):
        call = by_key(instance, f"call_{i}")
        error = instance["stepData"][f"call_{i}"]["error"]
        assert call["actionState"] == "FAILED", host
        assert "refused" in error and "HTTP_ALLOW_PRIVATE" in error, (host, error)
        assert len(call["attempts"]) == 1, host
    assert script.requests == []
    dead = db.session.scalars(select(Job.status).where(Job.kind == "step.run")).all()
    assert dead == ["DEAD"] * len(PRIVATE_HOSTS)


def test_http_step_is_refused_when_the_host_is_not_in_the_allow_list(
    app, firm, private_allowed, monkeypatch
):
    monkeypatch.setitem(app.config, "HTTP_ALLOWED_HOSTS", ["courts.example"])
    script = HttpScript(replies=[(200, "{}")])
    with http_server(script) as base:
        template = publish(firm.api, "Allow list", [http_step("call", base)])
        instance = start(firm.api, template, firm.matter.id)
        run_worker()
    instance = reload(firm.api, instance["id"])
    assert "not in HTTP_ALLOWED_HOSTS" in instance["stepData"]["call"]["error"]
    assert script.requests == []


def test_email_step_sends_the_rendered_message_over_smtp_when_run(app, firm, monkeypatch):
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        template = publish(
            firm.api,
            "Letter",
            [
                step(
                    "send_letter",
                    "core.email",
                    config={
                        "to": ["{{ context.email }}"],
                        "subject": "Engagement letter — {{ matter.reference }}",
                        "body": "Dear {{ context.name }},\nplease find the letter attached.",
                    },
                )
            ],
        )
        instance = start(
            firm.api,
            template,
            firm.matter.id,
            parameters={"email": "ceo@acme-corp.com", "name": "Ann"},
        )
        run_worker()
        assert inbox.received.wait(5)
    message = inbox.messages[0]
    assert message["rcpt"] == ["ceo@acme-corp.com"]
    assert message["message"]["Subject"] == f"Engagement letter — {firm.matter.reference}"
    assert "Dear Ann," in message["message"].get_content()
    instance = reload(firm.api, instance["id"])
    assert instance["stepData"]["send_letter"]["sent"] is True
    assert instance["status"] == "Completed"


def test_email_step_retries_when_the_mail_server_is_down(app, firm, monkeypatch):
    from tests.integration.engine_support import free_port

    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())
    template = publish(
        firm.api,
        "Letter down",
        [
            step(
                "mail",
                "core.email",
                config={"to": ["ann@acme-corp.com"], "subject": "Hi"},
                retry={"maxAttempts": 2, "backoffSeconds": 0},
            )
        ],
    )
    instance = start(firm.api, template, firm.matter.id)
    run_worker()
    mail = by_key(reload(firm.api, instance["id"]), "mail")
    assert mail["actionState"] == "FAILED"
    assert [a["status"] for a in mail["attempts"]] == ["FAILED", "FAILED"]
    assert "Could not send the email" in mail["attempts"][0]["error"]


def test_delay_step_waits_through_run_at_without_sleeping_when_given_a_duration(firm):
    template = publish(
        firm.api,
        "Cooling off",
        [step("wait", "core.delay", config={"duration": "PT1S"}), step("after")],
    )
    instance = start(firm.api, template, firm.matter.id)
    run_worker()
    assert states(reload(firm.api, instance["id"])) == {"wait": "IN_PROGRESS", "after": "PENDING"}
    job = db.session.scalar(select(Job).where(Job.kind == "step.run"))
    assert job.status == "PENDING" and job.run_at > job.updated_at
    assert wait_for(
        lambda: run_worker() >= 0 and reload(firm.api, instance["id"])["status"] == "Completed",
        timeout=5,
    )
    instance = reload(firm.api, instance["id"])
    wait = by_key(instance, "wait")
    assert len(wait["attempts"]) == 1
    assert instance["stepData"]["wait"]["waitedUntil"] == job.payload.get(
        "until", instance["stepData"]["wait"]["waitedUntil"]
    )


def test_delay_step_completes_at_once_when_until_is_in_the_past(firm):
    template = publish(
        firm.api, "Past", [step("wait", "core.delay", config={"until": "{{ context.when }}"})]
    )
    instance = start(
        firm.api, template, firm.matter.id, parameters={"when": "2020-01-01T00:00:00Z"}
    )
    run_worker()
    instance = reload(firm.api, instance["id"])
    assert instance["stepData"]["wait"] == {"waitedUntil": "2020-01-01T00:00:00+00:00"}


def test_subworkflow_outputs_reach_the_parent_when_the_child_completes(firm):
    publish(
        firm.api, "KYC", [step("greet", config={"message": "hello {{ context.name }}"})], key="kyc"
    )
    parent = publish(
        firm.api,
        "Onboarding",
        [
            step(
                "kyc_check",
                "core.subworkflow",
                config={"templateKey": "kyc", "parameters": {"name": "{{ context.client }}"}},
            ),
            step("after", config={"message": "child said {{ steps.kyc_check.greet.message }}"}),
        ],
    )
    instance = start(firm.api, parent, firm.matter.id, parameters={"client": "Acme"})
    run_worker()
    instance = reload(firm.api, instance["id"])
    assert instance["status"] == "Completed"
    assert instance["stepData"]["kyc_check"] == {"greet": {"message": "hello Acme"}}
    assert instance["stepData"]["after"] == {"message": "child said hello Acme"}
    child = db.session.scalar(
        select(WorkflowInstance).where(WorkflowInstance.parent_instance_id == instance["id"])
    )
    assert child.matter_id == firm.matter.id and child.depth == 1
    assert child.parent_step_id == by_key(instance, "kyc_check")["id"]
    assert child.status == "Completed"


def test_subworkflow_fails_with_a_clear_message_when_nesting_exceeds_the_limit(
    app, firm, monkeypatch
):
    monkeypatch.setitem(app.config, "SUBWORKFLOW_MAX_DEPTH", 1)
    template = publish(
        firm.api,
        "Recursive",
        [step("again", "core.subworkflow", config={"templateKey": "recursive"})],
        key="recursive",
    )
    instance = start(firm.api, template, firm.matter.id)
    run_worker()
    child = db.session.scalar(
        select(WorkflowInstance).where(WorkflowInstance.parent_instance_id == instance["id"])
    )
    child_json = reload(firm.api, child.id)
    assert child_json["status"] == "Failed"
    assert child_json["stepData"]["again"]["error"] == (
        "Cannot start sub-workflow 'recursive': it would be nested 2 levels deep and "
        "SUBWORKFLOW_MAX_DEPTH is 1."
    )
    instance = reload(firm.api, instance["id"])
    assert instance["status"] == "Failed"
    assert (
        instance["stepData"]["again"]["error"]
        == f"The sub-workflow 'Recursive' (#{child.id}) failed."
    )


def test_parent_step_fails_when_the_child_workflow_is_cancelled(firm):
    child_template = publish(
        firm.api, "Review", [step("review", "CHECKLIST", config={"items": ["ok"]})], key="review"
    )
    parent = publish(
        firm.api, "Parent", [step("sub", "core.subworkflow", config={"templateKey": "review"})]
    )
    instance = start(firm.api, parent, firm.matter.id)
    run_worker()
    child = db.session.scalar(
        select(WorkflowInstance).where(WorkflowInstance.template_id == child_template)
    )
    assert by_key(reload(firm.api, instance["id"]), "sub")["actionState"] == "IN_PROGRESS"
    cancelled = firm.api.patch(f"/instances/{child.id}", json={"status": "Cancelled"})
    assert cancelled.status_code == HTTPStatus.OK, cancelled.json
    run_worker()
    instance = reload(firm.api, instance["id"])
    assert by_key(instance, "sub")["actionState"] == "FAILED"
    assert "was cancelled" in instance["stepData"]["sub"]["error"]


def test_subworkflow_fails_when_the_template_key_is_not_published(firm):
    template = publish(
        firm.api, "Orphan", [step("sub", "core.subworkflow", config={"templateKey": "nowhere"})]
    )
    instance = start(firm.api, template, firm.matter.id)
    run_worker()
    instance = reload(firm.api, instance["id"])
    assert "Template 'nowhere' was not found" in instance["stepData"]["sub"]["error"]
