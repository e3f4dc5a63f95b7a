from collections.abc import Iterator
from http import HTTPStatus

import pytest
from prometheus_client.parser import text_string_to_metric_families

from webapp.engine.roles import Role

METRICS_TOKEN = "test-metrics-token"


@pytest.fixture(autouse=True)
def metrics_token(app) -> Iterator[None]:
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    yield
    app.config["METRICS_TOKEN"] = ""


def samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == HTTPStatus.OK
    values = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_metrics_count_finished_steps_by_type_when_a_checklist_completes(app, demo, api_as):
    instance = api_as(demo.user(Role.LAWYER)).get("/instances").json["items"][0]
    detail = api_as(demo.user(Role.LAWYER)).get(f"/instances/{instance['id']}").json
    checklist = next(s for s in detail["steps"] if s["actionType"] == "CHECKLIST")
    completed = ("matterflow_steps_total", (("action_type", "CHECKLIST"), ("outcome", "completed")))
    before = samples(app.test_client())
    assert completed not in before
    assert before[("matterflow_instances", (("status", "Running"),))] == 1

    response = api_as(demo.user(Role.PARALEGAL)).post(
        f"/steps/{checklist['id']}/complete",
        json={"checkedItems": checklist["actionConfig"]["items"]},
    )
    assert response.status_code == HTTPStatus.OK, response.json

    after = samples(app.test_client())
    assert after[completed] == 1
    cycle = ("matterflow_step_cycle_seconds_count", (("action_type", "CHECKLIST"),))
    assert after[cycle] == 1


def test_metrics_refuse_a_scrape_when_the_token_is_missing_or_wrong(app):
    client = app.test_client()
    missing = client.get("/metrics")
    assert missing.status_code == HTTPStatus.UNAUTHORIZED
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"matterflow_" not in missing.data
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == HTTPStatus.UNAUTHORIZED


def test_metrics_refuse_every_scrape_when_no_token_is_set(app):
    app.config["METRICS_TOKEN"] = ""
    refused = app.test_client().get("/metrics", headers={"Authorization": "Bearer "})
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert b"METRICS_TOKEN" in refused.data
    assert b"matterflow_" not in refused.data
