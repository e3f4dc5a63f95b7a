"""Cancelling a workflow cancels its unfinished sub-workflows (and theirs), audited, in the
one transaction of the cancel; a finished sub-workflow stays as it is."""

from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.integration.engine_support import by_key, make_firm, publish, reload, run_worker, start
from tests.integration.engine_support import step as step_body
from tests.integration.support import snapshot
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import WorkflowInstance


@pytest.fixture
def family(make_org, make_user, make_matter, api_as):
    """parent -> quick (Completed) and middle (waiting) -> leaf (waiting on a checklist)."""
    firm = make_firm(make_org, make_user, make_matter, api_as, Role.PARALEGAL)
    publish(firm.api, "Quick", [step_body("hello")], key="quick")
    publish(
        firm.api,
        "Leaf",
        [step_body("review", "CHECKLIST", config={"items": ["ok"]}, roleScope="PARALEGAL")],
        key="leaf",
    )
    publish(
        firm.api,
        "Middle",
        [step_body("deeper", "core.subworkflow", config={"templateKey": "leaf"})],
        key="middle",
    )
    parent_template = publish(
        firm.api,
        "Parent",
        [
            step_body("fast", "core.subworkflow", config={"templateKey": "quick"}, dependsOn=[]),
            step_body("slow", "core.subworkflow", config={"templateKey": "middle"}, dependsOn=[]),
        ],
    )
    parent = start(firm.api, parent_template, firm.matter.id)
    run_worker()
    run_worker()
    db.session.expire_all()
    children = {
        i.title: i
        for i in db.session.scalars(
            select(WorkflowInstance).where(WorkflowInstance.parent_instance_id.is_not(None))
        )
    }
    assert {title: i.status for title, i in children.items()} == {
        "Quick": "Completed",
        "Middle": "Running",
        "Leaf": "Running",
    }
    assert by_key(reload(firm.api, parent["id"]), "slow")["actionState"] == "IN_PROGRESS"
    return firm, parent, children


def cancel_events(api, instance_id: int) -> list[tuple]:
    events = api.get(f"/instances/{instance_id}/events").json["items"]
    return [
        (e["actorId"], e["oldStatus"], e["newStatus"], e["payload"].get("reason"))
        for e in events
        if e["eventType"] == "instance.status_changed" and e["newStatus"] == "Cancelled"
    ]


def test_cancelling_a_workflow_cancels_its_running_sub_workflows_when_patched(family):
    firm, parent, children = family
    quick, middle, leaf = children["Quick"], children["Middle"], children["Leaf"]
    response = firm.api.patch(f"/instances/{parent['id']}", json={"status": "Cancelled"})
    assert response.status_code == HTTPStatus.OK, response.json
    assert response.json["status"] == "Cancelled"

    assert reload(firm.api, middle.id)["status"] == "Cancelled"
    assert reload(firm.api, leaf.id)["status"] == "Cancelled"
    assert reload(firm.api, quick.id)["status"] == "Completed"
    lawyer = firm.lawyer.id
    assert cancel_events(firm.api, middle.id) == [
        (lawyer, "Running", "Cancelled", f"Its parent workflow #{parent['id']} was cancelled.")
    ]
    assert cancel_events(firm.api, leaf.id) == [
        (lawyer, "Running", "Cancelled", f"Its parent workflow #{middle.id} was cancelled.")
    ]
    assert cancel_events(firm.api, quick.id) == []


def test_cancelled_sub_workflow_refuses_its_steps_when_the_parent_was_cancelled(family, api_as):
    firm, parent, children = family
    firm.api.patch(f"/instances/{parent['id']}", json={"status": "Cancelled"})
    leaf = reload(firm.api, children["Leaf"].id)
    paralegal = api_as(firm.people[Role.PARALEGAL])
    response = paralegal.post(
        f"/steps/{by_key(leaf, 'review')['id']}/complete", json={"checkedItems": ["ok"]}
    )
    assert response.status_code == HTTPStatus.CONFLICT
    run_worker()  # the children's "finished" notices find the parent cancelled: nothing moves
    assert reload(firm.api, parent["id"])["status"] == "Cancelled"


def test_refused_cancel_changes_no_sub_workflow_when_a_paralegal_asks(family, api_as):
    firm, parent, _ = family
    before = snapshot()
    paralegal = api_as(firm.people[Role.PARALEGAL])
    response = paralegal.patch(f"/instances/{parent['id']}", json={"status": "Cancelled"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot() == before
