"""Context and step data are JSON (JSONB with GIN indexes on PostgreSQL). Instances are
found by containment: `GET /instances?context=` answers the same on both databases, and on
PostgreSQL the query is `@>` served by the GIN index."""

import json
from http import HTTPStatus

import pytest
from sqlalchemy import bindparam, select, text, type_coerce
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import WorkflowInstance

CONTEXTS = {
    "acme-ma": {"client": "acme", "practice": "M&A", "parties": ["Acme", "Widget"], "value": 5},
    "acme-lit": {"client": "acme", "practice": "litigation", "urgent": True},
    "bolt": {"client": "bolt", "practice": "M&A", "parties": ["Bolt"], "value": 5.0},
}


@pytest.fixture
def lawyer(demo, api_as):
    client = api_as(demo.user(Role.LAWYER))
    [demo_instance] = client.get("/instances").json["items"]
    for title, context in CONTEXTS.items():
        response = client.post(
            f"/templates/{demo_instance['templateId']}/instantiate",
            json={"matterId": demo.matter.id, "title": title, "parameters": context},
        )
        assert response.status_code == HTTPStatus.CREATED
        assert response.json["context"] == context
    return client


def titles(lawyer, context) -> list[str]:
    response = lawyer.get("/instances", query_string={"context": json.dumps(context)})
    assert response.status_code == HTTPStatus.OK, response.json
    assert response.json["total"] == len(response.json["items"])
    return sorted(item["title"] for item in response.json["items"])


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"client": "acme"}, ["acme-lit", "acme-ma"]),
        ({"client": "acme", "practice": "M&A"}, ["acme-ma"]),
        ({"parties": ["Widget"]}, ["acme-ma"]),
        ({"parties": ["Acme", "Widget"]}, ["acme-ma"]),
        ({"value": 5}, ["acme-ma", "bolt"]),
        ({"urgent": True}, ["acme-lit"]),
        ({"urgent": 1}, []),
        ({"client": "ACME"}, []),
        ({"parties": "Acme"}, []),
        ({}, ["Onboarding — Acme Corp", "acme-lit", "acme-ma", "bolt"]),
    ],
)
def test_instances_are_found_by_json_containment_when_filtered_by_context(
    lawyer, context, expected
):
    assert titles(lawyer, context) == expected


def test_context_filter_pages_the_matches_when_limit_and_offset_are_given(lawyer):
    page = lawyer.get(
        "/instances", query_string={"context": '{"client": "acme"}', "limit": 1, "offset": 1}
    )
    assert page.json["total"] == 2
    assert [i["title"] for i in page.json["items"]] == ["acme-ma"]  # newest first


@pytest.mark.parametrize("bad", ["{not json", "[1]", '"acme"'])
def test_context_filter_is_refused_with_400_when_it_is_not_a_json_object(lawyer, bad):
    response = lawyer.get("/instances", query_string={"context": bad})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "context must be a JSON object" in response.json["error"]["message"]


def test_context_filter_holding_an_escaped_nul_is_refused_with_400_when_asked(lawyer):
    # PostgreSQL's JSONB cannot hold U+0000: a 500 on PostgreSQL before (the fuzz found it).
    response = lawyer.get("/instances", query_string={"context": '{"client": "a\\u0000"}'})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "the NUL character (\\u0000)" in response.json["error"]["message"]


def containment_sql(column) -> str:
    """The SQL the ORM expression the service uses compiles to, on PostgreSQL."""
    query = select(WorkflowInstance.id).where(type_coerce(column, JSONB).contains({"a": 1}))
    return str(query.compile(dialect=postgresql.dialect()))


def plan_of(column: str, wanted: dict) -> str:
    statement = text(
        f"EXPLAIN SELECT id FROM workflow_instances WHERE {column} @> :wanted"
    ).bindparams(bindparam("wanted", type_=JSONB))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(db.session.scalars(statement, {"wanted": wanted}))
    db.session.rollback()
    return plan


def test_context_containment_uses_the_gin_index_when_on_postgresql(lawyer, dialect):
    if dialect != "postgresql":
        pytest.skip("GIN indexes and @> are PostgreSQL's")
    assert "workflow_instances.context @> " in containment_sql(WorkflowInstance.context)
    plan = plan_of("context", {"client": "acme"})
    assert "ix_workflow_instances_context_gin" in plan, plan


def test_step_data_is_found_by_containment_through_its_gin_index_when_on_postgresql(
    demo, api_as, dialect
):
    if dialect != "postgresql":
        pytest.skip("GIN indexes and @> are PostgreSQL's")
    lawyer = api_as(demo.user(Role.LAWYER))
    [instance] = lawyer.get("/instances").json["items"]
    steps = lawyer.get(f"/instances/{instance['id']}").json["steps"]
    checklist = next(s for s in steps if s["actionType"] == "CHECKLIST")
    api_as(demo.user(Role.PARALEGAL)).post(
        f"/steps/{checklist['id']}/complete",
        json={"checkedItems": checklist["actionConfig"]["items"]},
    )
    wanted = {"conflict_check": {"checkedItems": ["Record result"]}}
    query = select(WorkflowInstance.id).where(
        type_coerce(WorkflowInstance.step_data, JSONB).contains(wanted)
    )
    assert db.session.scalars(query).all() == [instance["id"]]
    assert "ix_workflow_instances_step_data_gin" in plan_of("step_data", wanted)
