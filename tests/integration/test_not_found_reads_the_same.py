"""Every "not found" reads the same whether the thing exists elsewhere or not: for each
kind of resource, an id of another firm (or of a matter one may not see) and an id that
names nothing get the same status and the same body, in the pages and in the API. The
only difference allowed is the id the caller sent, echoed back in the message."""

import re
from http import HTTPStatus

import pytest

from tests.integration.support import step_by_key, three_step_template
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document, Job

NOWHERE = 987654
CSRF = re.compile(r'(csrf[-_]token"?\s*(?:content|value)=")[^"]+"|("X-CSRFToken":\s*")[^"]+"')


@pytest.fixture
def things(demo, api_as) -> dict[str, int]:
    """One of each kind, in the demo firm, on DEMO-001."""
    lawyer = api_as(demo.user(Role.LAWYER))
    draft = lawyer.post("/templates", json=three_step_template()).json
    template = lawyer.post(f"/templates/{draft['id']}/publish").json
    body = {"matterId": demo.matter.id}
    instance = lawyer.post(f"/templates/{template['id']}/instantiate", json=body).json
    step = step_by_key(instance, "conflicts")
    document = Document(
        org_id=demo.org.id,
        matter_id=demo.matter.id,
        name="passport.pdf",
        content_type="application/pdf",
        size=4,
        sha256="0" * 64,
        storage_path="nowhere/passport.pdf",
    )
    job = Job(org_id=demo.org.id, instance_id=instance["id"], kind="step.run", status="DEAD")
    db.session.add_all([document, job])
    db.session.commit()
    return {
        "template": template["id"],
        "instance": instance["id"],
        "step": step["id"],
        "matter": demo.matter.id,
        "document": document.id,
        "job": job.id,
    }


# (kind, method, path): {id} is the id asked for, {own} a matter of the asker's own.
PAGES = [
    ("step", "POST", "/steps/{id}/claim"),
    ("step", "POST", "/steps/{id}/complete"),
    ("instance", "GET", "/matters/{own}/workflows/{id}"),
    ("instance", "GET", "/matters/{own}/workflows/{id}/history"),
    ("instance", "GET", "/matters/{own}/workflows/{id}/edit"),
    ("matter", "GET", "/matters/{id}/workflows"),
    ("matter", "GET", "/matters/{id}"),
    ("template", "GET", "/workflows/templates/{id}"),
    ("template", "POST", "/workflows/templates/{id}/publish"),
    ("document", "GET", "/documents/{id}"),
]
API = [
    ("step", "POST", "/steps/{id}/claim"),
    ("instance", "GET", "/instances/{id}"),
    ("instance", "GET", "/instances/{id}/events"),
    ("matter", "GET", "/matters/{id}"),
    ("template", "GET", "/templates/{id}"),
    ("template", "GET", "/templates/{id}/export"),
    ("job", "POST", "/jobs/{id}/retry"),
]
ADMIN_PAGES = [("job", "POST", "/admin/jobs/{id}/retry")]


def _normalised(body: str, asked: int) -> str:
    body = CSRF.sub(lambda m: (m.group(1) or m.group(2)) + 'TOKEN"', body)
    return body.replace(f" {asked} was not found", " {id} was not found")


def _compare(send, path: str, thing: int, own: int) -> None:
    there = send(path.format(id=thing, own=own))
    nothing = send(path.format(id=NOWHERE, own=own))
    assert there.status_code == nothing.status_code == HTTPStatus.NOT_FOUND, (
        there.status_code,
        there.get_data(as_text=True)[:400],
    )
    assert _normalised(there.get_data(as_text=True), thing) == _normalised(
        nothing.get_data(as_text=True), NOWHERE
    )


@pytest.fixture
def outsider(second_firm):
    return second_firm["lawyer"]


@pytest.mark.parametrize(("kind", "method", "path"), PAGES)
@pytest.mark.parametrize("htmx", [False, True])
def test_pages_answer_another_firms_id_like_no_id_when_asked(
    things, login_as, outsider, second_firm, kind, method, path, htmx
):
    web = login_as(outsider)

    def send(url: str):
        if method == "GET":
            return web.get(url, htmx=htmx, follow_redirects=True)
        return web.post(url, htmx=htmx)

    _compare(send, path, things[kind], second_firm["matter"].id)


@pytest.mark.parametrize(("kind", "method", "path"), API)
def test_api_answers_another_firms_id_like_no_id_when_asked(
    things, api_as, make_user, second_firm, kind, method, path
):
    asker = make_user(second_firm["org"], Role.ADMIN if kind == "job" else Role.LAWYER)
    api = api_as(asker)
    _compare(lambda url: api.request(method, url), path, things[kind], second_firm["matter"].id)


@pytest.mark.parametrize(("kind", "method", "path"), ADMIN_PAGES)
def test_admin_pages_answer_another_firms_job_like_no_job_when_asked(
    things, login_as, make_user, second_firm, kind, method, path
):
    web = login_as(make_user(second_firm["org"], Role.ADMIN))
    _compare(lambda url: web.post(url), path, things[kind], second_firm["matter"].id)


@pytest.mark.parametrize(
    ("kind", "method", "path"),
    [p for p in PAGES if p[0] in ("step", "instance", "matter", "document")],
)
def test_pages_answer_a_matter_one_may_not_see_like_no_matter_when_asked(
    demo, things, login_as, make_user, make_matter, kind, method, path
):
    """A lawyer of the same firm who is not on DEMO-001 learns nothing of what is on it."""
    stranger = make_user(demo.org, Role.LAWYER)
    own = make_matter(stranger)
    web = login_as(stranger)

    def send(url: str):
        return web.get(url, follow_redirects=True) if method == "GET" else web.post(url)

    _compare(send, path, things[kind], own.id)


@pytest.mark.parametrize(
    ("kind", "method", "path"), [p for p in API if p[0] in ("step", "instance", "matter")]
)
def test_api_answers_a_matter_one_may_not_see_like_no_matter_when_asked(
    demo, things, api_as, make_user, make_matter, kind, method, path
):
    stranger = make_user(demo.org, Role.LAWYER)
    own = make_matter(stranger)
    api = api_as(stranger)
    _compare(lambda url: api.request(method, url), path, things[kind], own.id)
