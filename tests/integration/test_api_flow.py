"""Issue 2's main acceptance, as an API client would drive it: a lawyer authors, publishes
and revises a template, runs version 1 on DEMO-001, each role does its step, and the
audit trail lists every transition with its actor, from and to."""

import hashlib
import io
import re
from http import HTTPStatus

from tests.integration.support import (
    PDF,
    step_by_key,
    three_step_template,
)
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document


def test_template_is_published_then_revised_as_a_new_draft_when_a_lawyer_edits_it(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    created = lawyer.post("/templates", json=three_step_template())
    assert created.status_code == HTTPStatus.CREATED, created.json
    draft = created.json
    assert (draft["version"], draft["status"], draft["checksum"]) == (1, "DRAFT", None)
    assert [(s["order"], s["key"], s["actionType"], s["roleScope"]) for s in draft["steps"]] == [
        (1, "conflicts", "CHECKLIST", "PARALEGAL"),
        (2, "approval", "APPROVAL_LAWYER", "LAWYER"),
        (3, "identity", "REQUEST_DOC_CLIENT", "CLIENT"),
    ]

    published = lawyer.post(f"/templates/{draft['id']}/publish")
    assert published.status_code == HTTPStatus.OK, published.json
    v1 = published.json
    assert (v1["id"], v1["version"], v1["status"]) == (draft["id"], 1, "PUBLISHED")
    assert re.fullmatch(r"[0-9a-f]{64}", v1["checksum"])

    edited = lawyer.patch(f"/templates/{v1['id']}", json={"name": "Engagement intake 2026"})
    assert edited.status_code == HTTPStatus.CREATED, edited.json
    v2 = edited.json
    assert v2["id"] != v1["id"]
    assert (v2["key"], v2["version"], v2["status"], v2["checksum"]) == (v1["key"], 2, "DRAFT", None)
    assert v2["name"] == "Engagement intake 2026"

    unchanged = lawyer.get(f"/templates/{v1['id']}").json
    assert unchanged == v1

    versions = lawyer.get(f"/templates/{v1['id']}/versions").json
    assert [(t["version"], t["status"]) for t in versions["items"]] == [
        (2, "DRAFT"),
        (1, "PUBLISHED"),
    ]


def test_instance_runs_to_completed_with_a_full_audit_trail_when_each_role_does_its_step(
    demo, api_as
):
    lawyer = api_as(demo.user(Role.LAWYER))
    paralegal = api_as(demo.user(Role.PARALEGAL))
    client = api_as(demo.user(Role.CLIENT))
    draft = lawyer.post("/templates", json=three_step_template()).json
    v1 = lawyer.post(f"/templates/{draft['id']}/publish").json
    lawyer.patch(f"/templates/{v1['id']}", json={"description": "Revised"})  # v2 draft

    response = lawyer.post(f"/templates/{v1['id']}/instantiate", json={"matterId": demo.matter.id})
    assert response.status_code == HTTPStatus.CREATED, response.json
    instance = response.json
    assert (instance["status"], instance["currentStep"]) == ("Running", 1)
    assert (instance["templateId"], instance["templateVersion"]) == (v1["id"], 1)
    assert [(s["key"], s["actionState"]) for s in instance["steps"]] == [
        ("conflicts", "READY"),
        ("approval", "PENDING"),
        ("identity", "PENDING"),
    ]
    checklist, approval, upload = (
        step_by_key(instance, k) for k in ("conflicts", "approval", "identity")
    )

    done = paralegal.post(
        f"/steps/{checklist['id']}/complete",
        json={"checkedItems": checklist["actionConfig"]["items"]},
    )
    assert done.status_code == HTTPStatus.OK, done.json
    assert states(done.json) == ["COMPLETED", "READY", "PENDING"]
    assert (done.json["status"], done.json["currentStep"]) == ("WaitingForApproval", 2)

    approved = lawyer.post(
        f"/steps/{approval['id']}/complete", json={"approved": True, "comment": "Go"}
    )
    assert approved.status_code == HTTPStatus.OK, approved.json
    assert states(approved.json) == ["COMPLETED", "COMPLETED", "READY"]
    assert approved.json["stepData"]["approval"] == {"approved": True, "comment": "Go"}

    uploaded = client.post(
        f"/steps/{upload['id']}/complete",
        data={"file": (io.BytesIO(PDF), "passport.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == HTTPStatus.OK, uploaded.json
    assert uploaded.json["status"] == "Completed"
    [stored] = uploaded.json["stepData"]["identity"]["files"]
    assert stored["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert db.session.get(Document, stored["documentId"]).sha256 == stored["sha256"]

    events = lawyer.get(f"/instances/{instance['id']}/events")
    assert events.status_code == HTTPStatus.OK
    lawyer_id, paralegal_id, client_id = (
        demo.user(role).id for role in (Role.LAWYER, Role.PARALEGAL, Role.CLIENT)
    )
    keys = {s["id"]: s["key"] for s in instance["steps"]}
    trail = [
        (e["eventType"], keys.get(e["stepId"]), e["actorId"], e["oldStatus"], e["newStatus"])
        for e in events.json["items"]
    ]
    assert trail == [
        ("instance.created", None, lawyer_id, None, "Created"),
        ("instance.status_changed", None, lawyer_id, "Created", "Running"),
        ("step.activate", "conflicts", None, "PENDING", "READY"),
        ("step.start", "conflicts", paralegal_id, "READY", "IN_PROGRESS"),
        ("step.complete", "conflicts", paralegal_id, "IN_PROGRESS", "COMPLETED"),
        ("step.activate", "approval", None, "PENDING", "READY"),
        ("instance.status_changed", None, paralegal_id, "Running", "WaitingForApproval"),
        ("step.start", "approval", lawyer_id, "READY", "IN_PROGRESS"),
        ("step.complete", "approval", lawyer_id, "IN_PROGRESS", "COMPLETED"),
        ("step.activate", "identity", None, "PENDING", "READY"),
        ("instance.status_changed", None, lawyer_id, "WaitingForApproval", "Running"),
        ("instance.status_changed", None, lawyer_id, "Running", "WaitingForInput"),
        ("step.start", "identity", client_id, "READY", "IN_PROGRESS"),
        ("step.complete", "identity", client_id, "IN_PROGRESS", "COMPLETED"),
        ("instance.status_changed", None, client_id, "WaitingForInput", "Running"),
        ("instance.status_changed", None, client_id, "Running", "Completed"),
    ]
    assert events.json["total"] == len(trail)
    assert all(e["createdAt"] for e in events.json["items"])


def states(instance: dict) -> list[str]:
    return [s["actionState"] for s in instance["steps"]]
