"""A secret's value is sent where a step's config names it and shown nowhere: not in any
API answer, page, export, audit row, job or attempt record, nor in a log line. The
worker alone puts the value in, at call time; an error or an answer that echoes it is
masked before it is recorded."""

import json
import logging
import threading

import pytest
from sqlalchemy import select

from tests.integration.engine_support import by_key, make_firm, publish, reload, run_worker, step
from tests.integration.standin_support import StandIn, stand_in
from webapp.engine.roles import Role
from webapp.engine.secret_refs import MASK
from webapp.extensions import db
from webapp.models import (
    InstanceStep,
    Job,
    ResourceLink,
    StepAttempt,
    WorkflowEvent,
    WorkflowInstance,
)

VALUE = "tok-3f9a-very-secret-value"
REFERENCE = "{{ secrets.API_TOKEN }}"


def echoing(request: dict) -> tuple[int, dict, dict]:
    """Creates a filing; its answer repeats the Authorization header it was sent (some
    APIs do). A path under /slow answers after the caller gave up."""
    if request["path"].startswith("/slow"):
        threading.Event().wait(1.5)
        return 503, {}, {"error": "late"}
    seen = request["headers"].get("authorization", "")
    return 201, {"Location": "/filings/F-77"}, {"id": "F-77", "echo": seen}


@pytest.fixture
def private_allowed(app, monkeypatch):
    monkeypatch.setitem(app.config, "HTTP_ALLOW_PRIVATE", True)


@pytest.fixture
def run(make_org, make_user, make_matter, api_as, login_as, private_allowed, caplog):
    """A firm whose admin stored API_TOKEN, and one workflow run that sent it in a header,
    plus one whose call failed with the value in its URL."""
    caplog.set_level(logging.DEBUG)
    firm = make_firm(make_org, make_user, make_matter, api_as, Role.ADMIN)
    admin = firm.people[Role.ADMIN]
    admin_api = api_as(admin)
    stored = admin_api.post("/secrets", json={"name": "API_TOKEN", "value": VALUE})
    assert stored.status_code == 201, stored.json
    script = StandIn(echoing)
    with stand_in(script) as base:
        config = {
            "method": "POST",
            "url": f"{base}/filings",
            "headers": {"Authorization": f"Bearer {REFERENCE}"},
            "body": {"matter": "{{ matter.reference }}", "token": REFERENCE},
        }
        good = publish(admin_api, "File", [step("efile", "core.http", config=config)])
        slow = {**config, "url": f"{base}/slow?key={REFERENCE}", "timeout": 0.5}
        once = {"maxAttempts": 1}
        bad = publish(admin_api, "Slow", [step("efile", "core.http", config=slow, retry=once)])
        started = [
            admin_api.post(f"/templates/{t}/instantiate", json={"matterId": firm.matter.id})
            for t in (good, bad)
        ]
        assert all(s.status_code == 201 for s in started), [s.json for s in started]
        run_worker()
    return {
        "firm": firm,
        "admin_api": admin_api,
        "web": login_as(admin),
        "script": script,
        "instances": [s.json["id"] for s in started],
        "templates": (good, bad),
        "caplog": caplog,
    }


def test_the_stand_in_gets_the_value_where_the_config_names_the_secret(run):
    requests = run["script"].requests
    assert len(requests) == 2
    assert all(r["headers"]["authorization"] == f"Bearer {VALUE}" for r in requests)
    assert json.loads(requests[0]["body"])["token"] == VALUE
    assert requests[1]["path"] == f"/slow?key={VALUE}"


def test_the_value_is_in_no_api_answer_and_the_reference_or_the_mask_is(run):
    api, matter = run["admin_api"], run["firm"].matter
    good, bad = run["instances"]
    bodies = {}
    for instance_id in (good, bad):
        for path in ("", "/events", "/history", "/drift"):
            response = api.get(f"/instances/{instance_id}{path}")
            assert response.status_code == 200, (path, response.json)
            bodies[f"instance {instance_id}{path}"] = response.get_data(as_text=True)
    for template_id in run["templates"]:
        bodies[f"export {template_id}"] = api.get(f"/templates/{template_id}/export").get_data(
            as_text=True
        )
    for kind in ("json", "csv"):
        response = api.get(f"/matters/{matter.id}/audit?format={kind}")
        assert response.status_code == 200
        bodies[f"audit {kind}"] = response.get_data(as_text=True)
    bodies["jobs"] = api.get("/jobs").get_data(as_text=True)
    for surface, text in bodies.items():
        assert VALUE not in text, surface
    done = by_key(reload(api, good), "efile")
    assert done["actionState"] == "COMPLETED"
    assert done["actionConfig"]["headers"]["Authorization"] == f"Bearer {REFERENCE}"
    assert done["attempts"][0]["inputs"]["headers"]["Authorization"] == f"Bearer {REFERENCE}"
    assert done["attempts"][0]["output"]["body"]["echo"] == f"Bearer {MASK}"
    failed = by_key(reload(api, bad), "efile")
    assert failed["actionState"] == "FAILED"
    assert f"/slow?key={MASK} did not answer" in failed["attempts"][0]["error"]
    assert REFERENCE in bodies[f"export {run['templates'][0]}"]


def test_the_value_is_on_no_page(run):
    web, matter = run["web"], run["firm"].matter
    for instance_id in run["instances"]:
        base = f"/matters/{matter.id}/workflows/{instance_id}"
        for path in ("", "/history", "/drift", "/audit?before=999999"):
            page = web.get(base + path)
            assert page.status_code == 200, path
            assert VALUE not in page.get_data(as_text=True), path
    assert VALUE not in web.get("/admin/secrets").get_data(as_text=True)
    assert VALUE not in web.get("/admin/jobs").get_data(as_text=True)


def test_the_value_is_in_no_stored_row_and_no_log_line(run):
    rows = [
        *db.session.scalars(select(StepAttempt)),
        *db.session.scalars(select(Job)),
        *db.session.scalars(select(WorkflowEvent)),
        *db.session.scalars(select(InstanceStep)),
        *db.session.scalars(select(WorkflowInstance)),
        *db.session.scalars(select(ResourceLink)),
    ]
    assert len(rows) > 10
    for row in rows:
        columns = {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}
        assert VALUE not in json.dumps(columns, default=str), row
    logged = "\n".join(r.getMessage() for r in run["caplog"].records)
    assert VALUE not in logged
