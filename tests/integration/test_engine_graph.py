"""Graphs through the API: fan-out and fan-in, branching on an approval, failure routes,
condition and template errors, and what publishing refuses."""

from http import HTTPStatus

from tests.integration.engine_support import (
    by_key,
    publish,
    reload,
    run_worker,
    start,
    states,
    step,
)


def checklist(key, **fields):
    return step(key, "CHECKLIST", config={"items": ["done"]}, **fields)


def complete(api, instance, key, payload=None):
    step_id = by_key(instance, key)["id"]
    response = api.post(f"/steps/{step_id}/complete", json=payload or {"checkedItems": ["done"]})
    assert response.status_code == HTTPStatus.OK, response.json
    return response.json


def test_join_becomes_ready_only_after_both_branches_when_fanning_out_and_in(firm):
    template = publish(
        firm.api,
        "Fan",
        [
            checklist("a", dependsOn=[]),
            checklist("b", dependsOn=["a"]),
            checklist("c", dependsOn=["a"]),
            checklist("d", dependsOn=["b", "c"]),
        ],
    )
    instance = start(firm.api, template, firm.matter.id)
    assert states(instance) == {"a": "READY", "b": "PENDING", "c": "PENDING", "d": "PENDING"}
    instance = complete(firm.api, instance, "a")
    assert states(instance) == {"a": "COMPLETED", "b": "READY", "c": "READY", "d": "PENDING"}
    instance = complete(firm.api, instance, "b")
    assert states(instance)["d"] == "PENDING"
    instance = complete(firm.api, instance, "c")
    assert states(instance)["d"] == "READY"
    instance = complete(firm.api, instance, "d")
    assert instance["status"] == "Completed"


def test_rejection_skips_the_letter_and_notifies_the_client_when_approval_is_false(firm):
    template = publish(
        firm.api,
        "Engagement",
        [
            step("approval", "APPROVAL_LAWYER", config={"message": "Take the matter?"}),
            step(
                "send_engagement_letter",
                dependsOn=["approval"],
                condition="steps.approval.approved == true",
                config={"message": "Letter for {{ matter.reference }}"},
            ),
            step(
                "notify_client",
                dependsOn=["approval"],
                condition="steps.approval.approved == false",
                config={"message": "Declined: {{ steps.approval.comment }}"},
            ),
        ],
    )
    instance = start(firm.api, template, firm.matter.id)
    instance = complete(firm.api, instance, "approval", {"approved": False, "comment": "conflict"})
    assert states(instance) == {
        "approval": "COMPLETED",
        "send_engagement_letter": "SKIPPED",
        "notify_client": "READY",
    }
    events = firm.api.get(f"/instances/{instance['id']}/events").json["items"]
    bypass = [e for e in events if e["eventType"] == "step.bypass"]
    assert [e["payload"]["key"] for e in bypass] == ["send_engagement_letter"]
    run_worker()
    instance = reload(firm.api, instance["id"])
    assert instance["status"] == "Completed"
    assert instance["stepData"]["notify_client"] == {"message": "Declined: conflict"}
    assert "send_engagement_letter" not in instance["stepData"]


def test_failure_routes_to_the_handler_and_the_flow_continues_when_on_failure_is_set(firm):
    template = publish(
        firm.api,
        "Filing",
        [
            checklist("efile", onFailure="file_by_hand"),
            step("file_by_hand", config={"message": "Failed: {{ steps.efile.error }}"}),
            checklist("tell_client", dependsOn=["efile"]),
        ],
    )
    instance = start(firm.api, template, firm.matter.id)
    failed = firm.api.post(
        f"/steps/{by_key(instance, 'efile')['id']}/fail", json={"reason": "portal down"}
    )
    assert failed.status_code == HTTPStatus.OK, failed.json
    instance = failed.json
    assert states(instance) == {
        "efile": "FAILED",
        "file_by_hand": "READY",
        "tell_client": "PENDING",
    }
    assert instance["status"] == "Running"
    run_worker()
    instance = reload(firm.api, instance["id"])
    assert instance["stepData"]["file_by_hand"] == {"message": "Failed: portal down"}
    assert states(instance)["tell_client"] == "READY"
    instance = complete(firm.api, instance, "tell_client")
    assert instance["status"] == "Completed"


def test_handler_is_skipped_and_dependents_run_when_the_source_succeeds(firm):
    template = publish(
        firm.api,
        "Filing ok",
        [
            checklist("efile", onFailure="file_by_hand"),
            checklist("file_by_hand"),
            checklist("tell_client", dependsOn=["efile"]),
        ],
    )
    instance = complete(firm.api, start(firm.api, template, firm.matter.id), "efile")
    assert states(instance) == {
        "efile": "COMPLETED",
        "file_by_hand": "SKIPPED",
        "tell_client": "READY",
    }


def test_instance_fails_when_a_required_step_fails_without_a_route(firm):
    template = publish(firm.api, "Plain", [checklist("a"), checklist("b")])
    instance = start(firm.api, template, firm.matter.id)
    response = firm.api.post(f"/steps/{by_key(instance, 'a')['id']}/fail", json={"reason": "no"})
    assert response.json["status"] == "Failed"
    assert states(response.json)["b"] == "PENDING"


def test_step_fails_with_the_message_when_its_condition_cannot_be_evaluated(firm):
    template = publish(
        firm.api,
        "Bad data",
        [checklist("a"), checklist("b", condition="steps.a.missing_field == 1")],
    )
    instance = complete(firm.api, start(firm.api, template, firm.matter.id), "a")
    b = by_key(instance, "b")
    assert b["actionState"] == "FAILED"
    assert instance["stepData"]["b"]["error"].startswith("The condition could not be evaluated")
    assert "missing_field" in instance["stepData"]["b"]["error"]
    assert instance["status"] == "Failed"


def test_step_fails_with_the_message_when_a_template_cannot_be_rendered(firm):
    template = publish(
        firm.api, "Bad template", [step("a", config={"message": "{{ context.nope }}"})]
    )
    instance = start(firm.api, template, firm.matter.id)
    a = by_key(instance, "a")
    assert a["actionState"] == "FAILED"
    assert "nope" in instance["stepData"]["a"]["error"]


def test_rendered_values_are_stored_and_the_raw_template_kept_when_a_step_becomes_ready(firm):
    template = publish(
        firm.api,
        "Welcome",
        [
            step(
                "letter",
                "APPROVAL_LAWYER",
                title="Approve letter for {{ context.client }}",
                config={"message": "Send to {{ context.client }} re {{ matter.reference }}?"},
            )
        ],
    )
    instance = start(firm.api, template, firm.matter.id, parameters={"client": "Acme"})
    letter = by_key(instance, "letter")
    assert letter["title"] == "Approve letter for Acme"
    assert letter["actionConfig"]["message"] == f"Send to Acme re {firm.matter.reference}?"
    assert letter["actionData"]["template"] == {
        "title": "Approve letter for {{ context.client }}",
        "actionConfig": {
            "message": "Send to {{ context.client }} re {{ matter.reference }}?",
        },
    }


def test_publishing_lists_every_problem_when_a_key_is_unknown_a_cycle_and_a_bad_expression(firm):
    created = firm.api.post(
        "/templates",
        json={
            "name": "Broken",
            "steps": [
                checklist("a", dependsOn=["ghost"]),
                checklist("b", dependsOn=["c"]),
                checklist("c", dependsOn=["b"]),
                checklist("d", dependsOn=[], condition="steps.a.approved =="),
            ],
        },
    )
    assert created.status_code == HTTPStatus.CREATED, created.json
    response = firm.api.post(f"/templates/{created.json['id']}/publish")
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    details = response.json["error"]["details"]
    found = {(d["step"], d["key"], d["field"]) for d in details}
    assert (0, "a", "dependsOn") in found
    assert (1, "b", "dependsOn") in found and (2, "c", "dependsOn") in found
    assert (3, "d", "condition") in found
    messages = " | ".join(d["message"] for d in details)
    assert "unknown step key 'ghost'" in messages
    assert "dependency cycle" in messages
    assert "syntax error" in messages
    template = firm.api.get(f"/templates/{created.json['id']}").json
    assert template["status"] == "DRAFT"


def test_publishing_reports_templates_unknown_names_and_invalid_configs_when_present(firm):
    created = firm.api.post(
        "/templates",
        json={
            "name": "Broken 2",
            "steps": [
                step("a", title="Hi {{ client }}", config={"message": "{% set x = 1 %}"}),
                step("b", condition="secret.value == 1"),
                step("c", "core.http", config={"url": "https://{{ context.host }}/x"}),
            ],
        },
    )
    assert created.status_code == HTTPStatus.CREATED, created.json
    details = firm.api.post(f"/templates/{created.json['id']}/publish").json["error"]["details"]
    assert {(d["key"], d["field"]) for d in details} == {
        ("a", "title"),
        ("a", "actionConfig.message"),
        ("b", "condition"),
    }


def test_escapes_fail_the_step_without_leaking_internals_when_a_workflow_runs(firm):
    template = publish(
        firm.api,
        "Escapes",
        [
            step("cel", dependsOn=[], condition="steps.__class__ == context"),
            step("jinja", dependsOn=[], config={"message": "{{ context.__class__.__mro__ }}"}),
            step("bomb", dependsOn=[], config={"message": "{{ 'x' * 1000000000 }}"}),
        ],
    )
    instance = start(firm.api, template, firm.matter.id)
    assert states(instance) == {"cel": "FAILED", "jinja": "FAILED", "bomb": "FAILED"}
    errors = {key: value["error"] for key, value in instance["stepData"].items()}
    assert "no such member in mapping: '__class__'" in errors["cel"]
    assert "access to attribute '__class__' of 'dict' object is unsafe" in errors["jinja"]
    assert "longer than 100000 characters" in errors["bomb"]
    assert not any("<class" in error or "object at 0x" in error for error in errors.values())
