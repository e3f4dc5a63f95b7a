"""Instantiating with a requestId is idempotent, through the API and under concurrency."""

import threading
from http import HTTPStatus

import pytest
from sqlalchemy import func, select

from tests.integration.engine_support import fresh, publish, step
from webapp.extensions import db
from webapp.models import WorkflowInstance


@pytest.fixture
def template(firm):
    return publish(firm.api, "Intake", [step("intake", "CHECKLIST", config={"items": ["x"]})])


def instances_count() -> int:
    fresh()
    return db.session.scalar(select(func.count()).select_from(WorkflowInstance))


def test_same_request_id_returns_the_same_instance_when_instantiating_twice(firm, template):
    body = {"matterId": firm.matter.id, "parameters": {"client": "Acme"}, "requestId": "req-1"}
    first = firm.api.post(f"/templates/{template}/instantiate", json=body)
    second = firm.api.post(f"/templates/{template}/instantiate", json=body)
    assert first.status_code == HTTPStatus.CREATED
    assert second.status_code == HTTPStatus.OK
    assert second.json["id"] == first.json["id"]
    assert instances_count() == 1


def test_same_request_id_is_a_conflict_when_the_body_differs(firm, template):
    body = {"matterId": firm.matter.id, "parameters": {"client": "Acme"}, "requestId": "req-2"}
    assert firm.api.post(f"/templates/{template}/instantiate", json=body).status_code == 201
    body["parameters"] = {"client": "Other"}
    response = firm.api.post(f"/templates/{template}/instantiate", json=body)
    assert response.status_code == HTTPStatus.CONFLICT
    assert "req-2" in response.json["error"]["message"]
    assert instances_count() == 1


def test_concurrent_requests_create_exactly_one_instance_when_they_share_a_request_id(
    app, firm, template
):
    body = {"matterId": firm.matter.id, "requestId": "req-race"}
    barrier = threading.Barrier(2)
    answers: list[tuple[int, dict]] = []

    def call() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/templates/{template}/instantiate", json=body, headers=firm.api.headers
        )
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    codes = sorted(code for code, _ in answers)
    assert codes == [HTTPStatus.OK, HTTPStatus.CREATED], answers
    assert len({answer["id"] for _, answer in answers}) == 1
    assert instances_count() == 1
