"""One rule decides which audit rows a person sees (services.audit.visible_events): the
runner's trail and `GET /instances/{id}/events` show the same rows to every role, the
rows of a step removed after it became READY included."""

import pytest

from tests.integration.engine_support import by_key, fresh, make_firm, publish, start
from tests.integration.engine_support import step as step_body
from webapp.engine.roles import Role
from webapp.services import steps
from webapp.web.reads import runner as reads

ROLES = (Role.ADMIN, Role.LAWYER, Role.PARALEGAL, Role.CLIENT)


@pytest.fixture
def worked(make_org, make_user, make_matter, api_as):
    """An instance with firm and client steps, worked a little, and a READY step removed."""
    firm = make_firm(
        make_org, make_user, make_matter, api_as, Role.ADMIN, Role.PARALEGAL, Role.CLIENT
    )
    definition = [
        step_body("intake", "CHECKLIST", config={"items": ["a"]}, roleScope=Role.PARALEGAL),
        step_body(
            "id_docs",
            "REQUEST_DOC_CLIENT",
            config={"requestText": "Your passport"},
            roleScope=Role.CLIENT,
            dependsOn=[],
        ),
        step_body(
            "extra", "CHECKLIST", config={"items": ["a"]}, roleScope=Role.LAWYER, dependsOn=[]
        ),
    ]
    instance = start(firm.api, publish(firm.api, "Visibility", definition), firm.matter.id)
    paralegal, client = firm.people[Role.PARALEGAL], firm.people[Role.CLIENT]
    steps.perform(paralegal, by_key(instance, "intake")["id"], steps.Tick("a", True))
    steps.perform(client, by_key(instance, "id_docs")["id"], steps.Claim())
    extra = by_key(instance, "extra")["id"]
    removed = firm.api.delete(f"/instances/{instance['id']}/steps/{extra}")
    assert removed.status_code == 200, removed.json
    fresh()
    people = {Role.LAWYER: firm.lawyer, **firm.people}
    return firm, instance["id"], people, extra


@pytest.mark.parametrize("role", ROLES)
def test_runner_trail_and_events_api_show_the_same_rows_when_viewed_by_each_role(
    worked, api_as, role
):
    firm, instance_id, people, _extra = worked
    person = people[role]

    trail = reads.runner_view(person, firm.matter.id, instance_id).audit
    api = api_as(person).get(f"/instances/{instance_id}/events?limit=200")

    assert api.status_code == 200
    api_ids = [item["id"] for item in api.json["items"]]
    assert [entry.event.id for entry in trail] == list(reversed(api_ids))
    assert api.json["total"] == len(api_ids)


def test_staff_see_the_removed_steps_rows_and_a_client_sees_only_theirs(worked, api_as):
    firm, instance_id, people, extra = worked

    def step_ids(role):
        items = api_as(people[role]).get(f"/instances/{instance_id}/events?limit=200").json
        return {item["stepId"] for item in items["items"]}

    assert extra in step_ids(Role.LAWYER)
    assert extra in step_ids(Role.PARALEGAL)
    client_sees = step_ids(Role.CLIENT)
    assert extra not in client_sees
    assert client_sees - {None} == {
        s["id"]
        for s in firm.api.get(f"/instances/{instance_id}").json["steps"]
        if s["roleScope"] == Role.CLIENT
    }
