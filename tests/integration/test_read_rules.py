"""What each role may read (engine/permissions, "what each role may read"): templates
for admins and lawyers only, an instance's parameters and the team's addresses for the
firm's people and never a client; a replayed requestId is answered only to someone who
may see the instance. Through the API and the pages."""

from http import HTTPStatus

import pytest

from tests.integration.support import snapshot, step_by_key, three_step_template
from webapp.engine import permissions
from webapp.engine.eligibility import Actor, MatterAccess
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import WorkflowInstance

PARAMETERS = {"fee": "secret-fee-4711", "adverse": "Adverse Holdings"}


@pytest.fixture
def published(demo, api_as) -> dict:
    lawyer = api_as(demo.user(Role.LAWYER))
    draft = lawyer.post("/templates", json=three_step_template()).json
    return lawyer.post(f"/templates/{draft['id']}/publish").json


@pytest.fixture
def running(demo, api_as, published) -> dict:
    lawyer = api_as(demo.user(Role.LAWYER))
    body = {"matterId": demo.matter.id, "parameters": PARAMETERS, "requestId": "req-1"}
    response = lawyer.post(f"/templates/{published['id']}/instantiate", json=body)
    assert response.status_code == HTTPStatus.CREATED, response.json
    return response.json


# ---- the rules, as plain values ----------------------------------------------------------

ACCESS = MatterAccess(org_id=1, owner_id=10, members={10: "LAWYER", 11: "PARALEGAL", 12: "CLIENT"})


@pytest.mark.parametrize(
    ("role", "templates"),
    [(Role.ADMIN, True), (Role.LAWYER, True), (Role.PARALEGAL, False), (Role.CLIENT, False)],
)
def test_only_admins_and_lawyers_read_templates_when_asked_by_role(role, templates):
    assert permissions.may_read_templates(Actor(id=99, role=role, org_id=1)) is templates


@pytest.mark.parametrize(
    ("actor", "reads"),
    [
        (Actor(10, Role.LAWYER, 1), True),  # the owner
        (Actor(11, Role.PARALEGAL, 1), True),  # a member
        (Actor(50, Role.ADMIN, 1), True),  # an admin sees every matter of the firm
        (Actor(12, Role.CLIENT, 1), False),  # a client on the matter
        (Actor(13, Role.LAWYER, 1), False),  # a lawyer not on the matter
        (Actor(10, Role.LAWYER, 2), False),  # another firm
    ],
)
def test_parameters_and_addresses_are_read_by_the_firms_people_on_the_matter_only_when_asked(
    actor, reads
):
    assert (
        permissions.may_see_matter(actor, ACCESS) and permissions.reads_parameters(actor)
    ) is reads
    assert permissions.may_read_team_addresses(actor, ACCESS) is reads


# ---- templates through the API and the pages ------------------------------------------------


@pytest.mark.parametrize("role", [Role.PARALEGAL, Role.CLIENT])
@pytest.mark.parametrize(
    "path",
    [
        "/templates",
        "/templates?allVersions=true",
        "/templates/{id}",
        "/templates/{id}/versions",
        "/templates/{id}/export",
        "/templates/{id}/export?format=yaml",
        "/templates/999999",
    ],
)
def test_api_refuses_templates_with_403_when_the_role_never_reads_them(
    demo, api_as, published, role, path
):
    response = api_as(demo.user(role)).get(path.format(id=published["id"]))
    assert response.status_code == HTTPStatus.FORBIDDEN, response.get_data(as_text=True)[:300]
    error = response.json["error"]
    assert error == {
        "code": "forbidden",
        "message": "Only admins and lawyers can see workflow templates.",
        "details": None,
    }
    assert published["name"] not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.PARALEGAL, Role.CLIENT])
def test_pages_and_api_refuse_templates_alike_when_the_role_never_reads_them(
    demo, api_as, login_as, published, role
):
    page = login_as(demo.user(role)).get("/workflows/templates")
    api = api_as(demo.user(role)).get("/templates")
    assert page.status_code == api.status_code == HTTPStatus.FORBIDDEN
    assert published["name"] not in page.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LAWYER])
def test_api_lists_templates_when_the_role_reads_them(demo, api_as, published, role):
    reader = api_as(demo.user(role))
    listed = reader.get("/templates")
    assert listed.status_code == HTTPStatus.OK
    assert published["id"] in {item["id"] for item in listed.json["items"]}
    assert reader.get(f"/templates/{published['id']}/export").status_code == HTTPStatus.OK


# ---- an instance's parameters and the team's addresses --------------------------------------


def test_client_gets_no_parameters_when_reading_an_instance(demo, api_as, running):
    client = api_as(demo.user(Role.CLIENT))
    response = client.get(f"/instances/{running['id']}")
    assert response.status_code == HTTPStatus.OK
    assert response.json["context"] == {}
    assert "secret-fee-4711" not in response.get_data(as_text=True)
    assert {s["roleScope"] for s in response.json["steps"]} == {"CLIENT"}


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LAWYER, Role.PARALEGAL])
def test_firm_people_on_the_matter_get_the_parameters_when_reading_an_instance(
    demo, api_as, running, role
):
    response = api_as(demo.user(role)).get(f"/instances/{running['id']}")
    assert response.status_code == HTTPStatus.OK
    assert response.json["context"] == PARAMETERS


def test_client_cannot_search_instances_by_parameters_when_it_would_reveal_them(
    demo, api_as, running
):
    client = api_as(demo.user(Role.CLIENT))
    probe = client.get("/instances", query_string={"context": '{"fee": "secret-fee-4711"}'})
    assert probe.status_code == HTTPStatus.FORBIDDEN
    assert probe.json["error"]["code"] == "forbidden"
    # Without a filter the client still lists the workflow, without its parameters.
    listed = client.get("/instances").json
    assert running["id"] in {item["id"] for item in listed["items"]}
    assert "context" not in listed["items"][0]
    lawyer = api_as(demo.user(Role.LAWYER))
    found = lawyer.get("/instances", query_string={"context": '{"fee": "secret-fee-4711"}'})
    assert [item["id"] for item in found.json["items"]] == [running["id"]]


def test_client_sees_the_team_without_addresses_when_reading_a_matter(demo, api_as):
    client = api_as(demo.user(Role.CLIENT))
    for response in (client.get(f"/matters/{demo.matter.id}"), client.get("/matters")):
        assert response.status_code == HTTPStatus.OK
        body = response.get_data(as_text=True)
        matter = response.json if "members" in response.json else response.json["items"][0]
        assert matter["members"], "the client sees who works on the matter"
        assert {m["email"] for m in matter["members"]} == {None}
        assert all(m["name"] for m in matter["members"])
        for person in demo.users.values():
            if person.role != Role.CLIENT:
                assert person.email not in body


def test_lawyer_sees_the_team_with_addresses_when_reading_a_matter(demo, api_as):
    response = api_as(demo.user(Role.LAWYER)).get(f"/matters/{demo.matter.id}")
    emails = {m["email"] for m in response.json["members"]}
    assert demo.user(Role.PARALEGAL).email in emails
    assert demo.user(Role.CLIENT).email in emails


def test_client_pages_show_neither_parameters_nor_addresses_when_opened(demo, login_as, running):
    client = login_as(demo.user(Role.CLIENT))
    pages = [
        "/inbox",
        "/matters",
        f"/matters/{demo.matter.id}",
        f"/matters/{demo.matter.id}/workflows/{running['id']}",
    ]
    for path in pages:
        response = client.get(path, follow_redirects=True)
        assert response.status_code == HTTPStatus.OK, path
        body = response.get_data(as_text=True)
        assert "secret-fee-4711" not in body, path
        for person in demo.users.values():
            if person.role != Role.CLIENT:
                assert person.email not in body, path


# ---- replayed requestIds ---------------------------------------------------------------------


@pytest.mark.parametrize("route", ["instantiate", "workflows"])
def test_replayed_request_id_returns_the_workflow_when_the_person_may_see_it(
    demo, api_as, published, route
):
    admin = api_as(demo.user(Role.ADMIN))
    first = _start(admin, route, published["id"], demo.matter.id, "again")
    assert first.status_code == HTTPStatus.CREATED
    before = snapshot()
    replay = _start(admin, route, published["id"], demo.matter.id, "again")
    assert replay.status_code == HTTPStatus.OK
    assert replay.json["id"] == first.json["id"]
    assert replay.json["context"] == PARAMETERS
    assert snapshot() == before


@pytest.mark.parametrize("route", ["instantiate", "workflows"])
def test_replayed_request_id_is_answered_as_new_when_the_person_may_not_see_the_matter(
    demo, api_as, make_user, make_matter, published, route
):
    lawyer = api_as(demo.user(Role.LAWYER))
    first = _start(lawyer, route, published["id"], demo.matter.id, "theirs")
    assert first.status_code == HTTPStatus.CREATED
    stranger_user = make_user(demo.org, Role.LAWYER)
    stranger = api_as(stranger_user)
    own = make_matter(stranger_user)
    before = snapshot()

    # The same request: the matter is not theirs, so it was not found — as without a replay.
    same = _start(stranger, route, published["id"], demo.matter.id, "theirs")
    fresh = _start(stranger, route, published["id"], demo.matter.id, "never-used")
    assert same.status_code == fresh.status_code == HTTPStatus.NOT_FOUND
    assert same.json == fresh.json
    assert "secret-fee-4711" not in same.get_data(as_text=True)

    # On a matter of their own: refused as a reused requestId, without naming the workflow.
    other = _start(stranger, route, published["id"], own.id, "theirs")
    assert other.status_code == HTTPStatus.CONFLICT
    assert other.json["error"]["details"] is None
    assert str(first.json["id"]) not in other.get_data(as_text=True)
    assert snapshot() == before


@pytest.mark.parametrize("role", [Role.PARALEGAL, Role.CLIENT])
def test_replayed_request_id_is_refused_with_403_when_the_role_cannot_start_workflows(
    demo, api_as, running, published, role
):
    """Paralegals and clients see the matter, but never start workflows: a replay is
    answered as the request itself would be."""
    before = snapshot()
    for route in ("instantiate", "workflows"):
        replay = _start(api_as(demo.user(role)), route, published["id"], demo.matter.id, "req-1")
        assert replay.status_code == HTTPStatus.FORBIDDEN
        assert "secret-fee-4711" not in replay.get_data(as_text=True)
    assert snapshot() == before


def test_another_firm_replaying_a_request_id_gets_404_when_it_names_the_same_ids(
    demo, api_as, second_firm, running, published
):
    outsider = api_as(second_firm["lawyer"])
    replay = _start(outsider, "instantiate", published["id"], demo.matter.id, "req-1")
    assert replay.status_code == HTTPStatus.NOT_FOUND
    assert db.session.query(WorkflowInstance).filter_by(request_id="req-1").count() == 1
    assert step_by_key(running, "identity")  # the original is untouched


def _start(api, route: str, template_id: int, matter_id: int, request_id: str):
    body = {"matterId": matter_id, "parameters": PARAMETERS, "requestId": request_id}
    if route == "workflows":
        return api.post("/workflows", json={"workflowId": template_id, **body})
    return api.post(f"/templates/{template_id}/instantiate", json=body)
