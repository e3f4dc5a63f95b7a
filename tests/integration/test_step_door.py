"""The step door: `perform` returns what moved, and `Assign` narrows a step to one
eligible person of the firm (through the API, the runner and instance edits alike)."""

from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.integration.engine_support import by_key, fresh, make_firm, publish, start
from tests.integration.engine_support import step as step_body
from tests.integration.support import snapshot
from webapp.engine.errors import DomainError
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, Organization, WorkflowEvent
from webapp.services import instances, matters, steps, templates


@pytest.fixture
def team(make_org, make_user, make_matter, api_as):
    """A matter with two paralegals and a client, and a workflow of two checklists."""
    firm = make_firm(make_org, make_user, make_matter, api_as, Role.ADMIN, Role.CLIENT)
    org = db.session.get(Organization, firm.lawyer.org_id)
    first, second = (make_user(org, Role.PARALEGAL) for _ in range(2))
    for paralegal in (first, second):
        firm.api.post(
            f"/matters/{firm.matter.id}/members",
            json={"userId": paralegal.id, "role": Role.PARALEGAL},
        )
    body = [
        step_body("gather", "CHECKLIST", config={"items": ["a"]}, roleScope=Role.PARALEGAL),
        step_body("review", "CHECKLIST", config={"items": ["a"]}, roleScope=Role.LAWYER),
    ]
    instance = start(firm.api, publish(firm.api, "Team work", body), firm.matter.id)
    return firm, instance, first, second


def test_perform_returns_every_move_the_change_caused_when_a_step_completes(team):
    firm, instance, first, _second = team
    gather, review = by_key(instance, "gather")["id"], by_key(instance, "review")["id"]

    changed = steps.perform(first, gather, steps.Complete({"checkedItems": ["a"]}))

    moves = [(m.step_id, m.before, m.after) for m in changed.steps]
    assert moves == [
        (gather, "READY", "IN_PROGRESS"),
        (gather, "IN_PROGRESS", "COMPLETED"),
        (review, "PENDING", "READY"),
    ]
    assert changed.step_ids == {gather, review}
    assert changed.states == {"READY", "COMPLETED", "PENDING"}  # never shown in progress
    assert changed.instance_id == instance["id"]
    assert changed.matter_id == firm.matter.id


def test_assigning_narrows_the_step_to_that_person_when_the_owner_assigns(team, api_as):
    firm, instance, first, second = team
    gather = by_key(instance, "gather")["id"]

    response = firm.api.post(f"/steps/{gather}/assign", json={"userId": second.id})

    assert response.status_code == HTTPStatus.OK, response.json
    assert by_key(response.json, "gather")["assignedToId"] == second.id
    refused = api_as(first).post(f"/steps/{gather}/complete", json={"checkedItems": ["a"]})
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert "Assigned to" in refused.json["error"]["message"]
    done = api_as(second).post(f"/steps/{gather}/complete", json={"checkedItems": ["a"]})
    assert done.status_code == HTTPStatus.OK
    fresh()
    row = db.session.scalar(
        select(WorkflowEvent).where(WorkflowEvent.event_type == "step.assigned")
    )
    assert (row.actor_id, row.payload["to"]) == (firm.lawyer.id, second.id)


def test_assigning_to_nobody_opens_the_step_again_to_its_role(team, api_as):
    firm, instance, first, second = team
    gather = by_key(instance, "gather")["id"]
    firm.api.post(f"/steps/{gather}/assign", json={"userId": second.id})

    response = firm.api.post(f"/steps/{gather}/assign", json={"userId": None})

    assert response.status_code == HTTPStatus.OK
    done = api_as(first).post(f"/steps/{gather}/complete", json={"checkedItems": ["a"]})
    assert done.status_code == HTTPStatus.OK


def test_assignment_reads_the_same_for_another_firms_person_and_an_unknown_id(team, second_firm):
    firm, instance, _first, _second = team
    gather = by_key(instance, "gather")["id"]
    before = snapshot()

    foreign = firm.api.post(f"/steps/{gather}/assign", json={"userId": second_firm["lawyer"].id})
    unknown = firm.api.post(f"/steps/{gather}/assign", json={"userId": 999999})

    assert foreign.status_code == unknown.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert foreign.json == unknown.json
    assert foreign.json["error"]["message"] == "No such person works at your firm."
    assert snapshot() == before


def test_assignment_to_an_id_no_database_can_hold_is_refused_and_changes_nothing(team):
    firm, instance, _first, _second = team
    gather = by_key(instance, "gather")["id"]
    before = snapshot()
    for user_id in (-6227020799, 0, 2**31, 10**20):
        response = firm.api.post(f"/steps/{gather}/assign", json={"userId": user_id})
        assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, (user_id, response.json)
        assert response.json["error"]["details"][0]["field"] == "userId"
    assert snapshot() == before


def test_assignment_to_someone_who_may_not_act_is_refused_in_plain_words(team):
    firm, instance, _first, _second = team
    client = firm.people[Role.CLIENT]
    gather = by_key(instance, "gather")["id"]
    before = snapshot()

    response = firm.api.post(f"/steps/{gather}/assign", json={"userId": client.id})

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json["error"]["message"] == (
        f"{client.name} cannot act on this step: it is for the matter's paralegals."
    )
    assert snapshot() == before


def test_only_admins_and_the_owner_may_assign_when_a_paralegal_tries(team, api_as):
    _firm, instance, first, second = team
    gather = by_key(instance, "gather")["id"]

    response = api_as(first).post(f"/steps/{gather}/assign", json={"userId": second.id})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert db.session.get(InstanceStep, gather).assigned_to_id is None


def test_an_added_step_assigned_to_another_firms_person_is_refused_when_editing(team, second_firm):
    firm, instance, _first, _second = team
    before = snapshot()
    body = step_body("extra", "CHECKLIST", config={"items": ["a"]}, roleScope=Role.LAWYER)

    response = firm.api.post(
        f"/instances/{instance['id']}/steps",
        json={**body, "assignedToId": second_firm["lawyer"].id},
    )

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json["error"]["message"] == "No such person works at your firm."
    assert snapshot() == before


def test_the_runner_assigns_a_step_when_the_owner_chooses_a_person(team, login_as):
    firm, instance, _first, second = team
    gather = by_key(instance, "gather")["id"]
    web = login_as(firm.lawyer)

    response = web.post(f"/steps/{gather}/assign", data={"user_id": second.id}, htmx=True)

    assert response.status_code == HTTPStatus.OK
    assert f"Assigned to</span> {second.name}" in response.get_data(as_text=True)
    assert db.session.get(InstanceStep, gather).assigned_to_id == second.id


def test_the_instance_door_returns_the_status_change_and_the_added_step(team):
    firm, instance, _first, _second = team
    body = step_body("extra", "CHECKLIST", config={"items": ["a"]}, roleScope=Role.LAWYER)

    added = instances.perform(firm.lawyer, instance["id"], instances.AddStep(body))
    cancelled = instances.perform(
        firm.lawyer, instance["id"], instances.Update(status="Cancelled", reason="Settled")
    )

    assert db.session.get(InstanceStep, added.step_id).key == "extra"
    assert cancelled.status == ("WaitingForInput", "Cancelled")
    assert cancelled.steps == ()


def test_a_rename_with_a_refused_status_keeps_the_old_title_through_the_instance_door(team):
    firm, instance, _first, _second = team
    before = snapshot()

    with pytest.raises(DomainError):
        instances.perform(firm.lawyer, instance["id"], instances.Update("New", "Created"))

    assert snapshot() == before


@pytest.mark.parametrize(
    ("fields", "approved", "comment"),
    [
        ({"approved": "true", "comment": "false"}, True, "false"),
        ({"approved": "false", "comment": "true"}, False, "true"),
        ({"approved": "true"}, True, ""),
    ],
)
def test_an_approval_form_is_read_by_the_handlers_payload_model_when_the_comment_is_a_word(
    firm, login_as, fields, approved, comment
):
    body = [step_body("decide", "APPROVAL_LAWYER", config={}, roleScope=Role.LAWYER)]
    instance = start(firm.api, publish(firm.api, "Decision", body), firm.matter.id)
    decide = by_key(instance, "decide")["id"]

    response = login_as(firm.lawyer).post(f"/steps/{decide}/complete", data=fields, htmx=True)

    assert response.status_code == HTTPStatus.OK, response.get_data(as_text=True)[:300]
    fresh()
    step = db.session.get(InstanceStep, decide)
    assert step.action_state == "COMPLETED"
    assert (step.action_data["approved"], step.action_data["comment"]) == (approved, comment)


def test_claim_lost_to_a_faster_colleague_is_answered_409_and_changes_nothing(team, api_as):
    _firm, instance, first, second = team
    gather = by_key(instance, "gather")["id"]
    won = api_as(first).post(f"/steps/{gather}/claim")
    assert won.status_code == HTTPStatus.OK, won.json
    before = snapshot()

    lost = api_as(second).post(f"/steps/{gather}/claim")
    completed = api_as(second).post(f"/steps/{gather}/complete", json={"checkedItems": ["a"]})

    for response in (lost, completed):
        assert response.status_code == HTTPStatus.CONFLICT, response.json
        assert response.json["error"]["message"] == (
            "Someone else claimed the step 'Gather' first."
        )
    assert snapshot() == before
    fresh()
    assert db.session.get(InstanceStep, gather).claimed_by_id == first.id


def test_the_template_door_names_the_new_draft_when_a_published_version_is_edited(team):
    firm, instance, _first, _second = team
    published = instance["templateId"]
    body = step_body("extra", "CHECKLIST", config={"items": ["a"]}, roleScope=Role.LAWYER)

    added = templates.perform(firm.lawyer, published, templates.AddStep(body))

    assert added.created and added.template.id != published
    assert added.template.status == "DRAFT" and added.step.key == "extra"
    again = templates.perform(firm.lawyer, added.template.id, templates.RemoveStep(added.step_id))
    assert not again.created and again.template.id == added.template.id


def test_the_matter_door_refuses_what_the_matters_rules_refuse_and_changes_nothing(team):
    firm, _instance, first, _second = team
    before = snapshot()

    with pytest.raises(DomainError):
        matters.perform(first, firm.matter.id, matters.Update(status="CLOSED"))

    assert snapshot() == before
    closed = matters.perform(firm.lawyer, firm.matter.id, matters.Update(status="CLOSED"))
    assert closed.kept().status == "CLOSED"
