"""GET /instances/{id}/drift compares the instance's definition with the template version
it came from, by step key, at read time."""

from http import HTTPStatus

from tests.integration.support import (
    snapshot,
    step_by_key,
    three_step_template,
)
from webapp.engine.roles import Role


def drift_of(client, instance_id: int) -> dict:
    response = client.get(f"/instances/{instance_id}/drift")
    assert response.status_code == HTTPStatus.OK, response.json
    return response.json


def test_demo_instance_is_in_sync_when_created_with_its_own_title(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    [instance] = lawyer.get("/instances").json["items"]
    assert instance["title"] != "Client onboarding"
    drift = drift_of(lawyer, instance["id"])
    assert drift["isDrifted"] is False
    assert (drift["baseKey"], drift["baseVersion"]) == ("client_onboarding", 1)
    assert drift["baseWorkflowId"] == instance["templateId"]


def test_drift_ignores_work_done_on_steps_when_only_runtime_state_changed(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    [instance] = lawyer.get("/instances").json["items"]
    checklist = step_by_key(lawyer.get(f"/instances/{instance['id']}").json, "conflict_check")
    done = api_as(demo.user(Role.PARALEGAL)).post(
        f"/steps/{checklist['id']}/complete",
        json={"checkedItems": checklist["actionConfig"]["items"]},
    )
    assert done.status_code == HTTPStatus.OK
    assert drift_of(lawyer, instance["id"])["isDrifted"] is False


def test_drift_names_the_changed_config_when_a_steps_action_config_is_edited(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    [instance] = lawyer.get("/instances").json["items"]
    retainer = step_by_key(lawyer.get(f"/instances/{instance['id']}").json, "retainer")
    response = lawyer.patch(
        f"/instances/{instance['id']}/steps/{retainer['id']}",
        json={"actionConfig": {"amount": "2000.00", "currency": "USD"}},
    )
    assert response.status_code == HTTPStatus.OK, response.json
    [modified] = drift_of(lawyer, instance["id"])["stepsModified"]
    assert modified["key"] == "retainer"
    assert modified["fields"] == ["actionConfig"]
    assert modified["changes"]["actionConfig"]["from"]["amount"] == "1500.00"
    assert modified["changes"]["actionConfig"]["to"]["amount"] == "2000.00"


def test_drift_keeps_comparing_with_its_own_version_when_the_template_moves_on(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    draft = lawyer.post("/templates", json=three_step_template()).json
    v1 = lawyer.post(f"/templates/{draft['id']}/publish").json
    old = lawyer.post(f"/templates/{v1['id']}/instantiate", json={"matterId": demo.matter.id}).json
    v2_steps = three_step_template()["steps"][:2]
    v2 = lawyer.patch(f"/templates/{v1['id']}", json={"steps": v2_steps}).json
    lawyer.post(f"/templates/{v2['id']}/publish")
    new = lawyer.post(f"/templates/{v2['id']}/instantiate", json={"matterId": demo.matter.id}).json

    old_drift, new_drift = drift_of(lawyer, old["id"]), drift_of(lawyer, new["id"])
    assert (old_drift["baseVersion"], old_drift["isDrifted"]) == (1, False)
    assert (new_drift["baseVersion"], new_drift["isDrifted"]) == (2, False)
    assert new_drift["baseWorkflowId"] == v2["id"]


def test_drift_is_read_only_when_computed(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    [instance] = lawyer.get("/instances").json["items"]
    before = snapshot()
    drift_of(lawyer, instance["id"])
    assert snapshot() == before


def start_engagement_letter(demo, api_as) -> tuple:
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import WorkflowTemplate

    template_id = db.session.scalar(
        select(WorkflowTemplate.id).where(WorkflowTemplate.key == "engagement_letter")
    )
    lawyer = api_as(demo.user(Role.LAWYER))
    started = lawyer.post(
        f"/templates/{template_id}/instantiate", json={"matterId": demo.matter.id}
    )
    assert started.status_code == HTTPStatus.CREATED, started.json
    return lawyer, started.json


def test_templated_instance_is_not_drifted_when_it_has_just_started(demo, api_as):
    lawyer, instance = start_engagement_letter(demo, api_as)
    approval = step_by_key(instance, "approve_letter")
    assert approval["actionConfig"]["message"] == "Send the engagement letter for DEMO-001?"
    drift = drift_of(lawyer, instance["id"])
    assert (drift["isDrifted"], drift["stepsModified"]) == (False, [])


def test_templated_instance_is_not_drifted_when_its_steps_are_worked(app, demo, api_as):
    from tests.integration.engine_support import reload, run_worker, smtp_server

    lawyer, instance = start_engagement_letter(demo, api_as)
    approval = step_by_key(instance, "approve_letter")
    with smtp_server() as (inbox, port):
        app.config["SMTP_PORT"] = port
        done = lawyer.post(f"/steps/{approval['id']}/complete", json={"approved": True})
        assert done.status_code == HTTPStatus.OK, done.json
        run_worker()
        assert inbox.received.wait(5)
    after = reload(lawyer, instance["id"])
    sent = step_by_key(after, "send_letter")
    assert sent["actionState"] == "COMPLETED"
    assert sent["actionConfig"]["subject"] == "Your engagement letter — Acme Corp v. Widget Ltd"
    assert drift_of(lawyer, instance["id"])["isDrifted"] is False


def test_templated_step_drifts_from_its_source_when_a_person_edits_it(demo, api_as):
    lawyer, instance = start_engagement_letter(demo, api_as)
    approval = step_by_key(instance, "approve_letter")
    edited = lawyer.patch(
        f"/instances/{instance['id']}/steps/{approval['id']}",
        json={"actionConfig": {"message": "Send it?"}, "title": "Approve the letter"},
    )
    assert edited.status_code == HTTPStatus.OK, edited.json
    drift = drift_of(lawyer, instance["id"])
    [modified] = drift["stepsModified"]
    assert modified["key"] == "approve_letter"
    changes = modified["changes"]
    assert sorted(changes) == ["actionConfig", "title"]
    assert changes["title"] == {"from": "Approve the engagement letter", "to": "Approve the letter"}
    assert changes["actionConfig"]["from"]["message"] == (
        "Send the engagement letter for {{ matter.reference }}?"
    )
    assert changes["actionConfig"]["to"]["message"] == "Send it?"
