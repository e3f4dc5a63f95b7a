"""`GET /api/v1/matters/{id}/audit?format=json|csv`: a matter's whole trail with its hash
chain, streamed a page at a time; what it carries recomputes to the same hashes
verify-audit checks, and a row changed in the database shows in the export as the row
whose hash no longer holds."""

import csv
import io
import json
from datetime import datetime
from http import HTTPStatus
from typing import Any

import pytest
from sqlalchemy import select, text

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import WorkflowEvent
from webapp.persistence.audit_chain import HASHED_COLUMNS, check_chain, row_hash
from webapp.services import audit


def as_row(item: dict[str, Any]) -> dict[str, Any]:
    """An exported item back in the columns the hash covers."""
    row = {
        "id": item["id"],
        "prev_hash": item["prevHash"] or None,
        "hash": item["hash"],
    }
    for column in HASHED_COLUMNS:
        camel = column.split("_")[0] + "".join(p.title() for p in column.split("_")[1:])
        row[column] = item[camel]
    row["created_at"] = datetime.fromisoformat(item["createdAt"])
    return row


def from_csv(body: str) -> list[dict[str, Any]]:
    items = []
    for line in csv.DictReader(io.StringIO(body)):
        item: dict[str, Any] = {k: (v if v != "" else None) for k, v in line.items()}
        for key in ("id", "orgId", "matterId", "instanceId", "stepId", "templateId", "actorId"):
            item[key] = int(item[key]) if item[key] is not None else None
        item["payload"] = json.loads(item["payload"])
        items.append(item)
    return items


def stored_hashes(matter_id: int) -> list[tuple[int, str]]:
    db.session.commit()
    return [
        (row_id, hash_)
        for row_id, hash_ in db.session.execute(
            select(WorkflowEvent.id, WorkflowEvent.hash)
            .where(WorkflowEvent.matter_id == matter_id)
            .order_by(WorkflowEvent.id)
        ).all()
    ]


@pytest.fixture
def lawyer(demo, api_as):
    return api_as(demo.user(Role.LAWYER))


def test_json_export_carries_every_row_with_hashes_that_recompute_when_a_lawyer_asks(demo, lawyer):
    response = lawyer.get(f"/matters/{demo.matter.id}/audit")

    assert response.status_code == HTTPStatus.OK
    assert response.mimetype == "application/json"
    assert response.is_streamed
    assert (
        f'filename="matter-{demo.matter.id}-audit.json"' in response.headers["Content-Disposition"]
    )
    document = json.loads(response.get_data(as_text=True))
    assert document["matterId"] == demo.matter.id and document["reference"] == "DEMO-001"
    items = document["items"]
    assert document["total"] == len(items) > 3
    assert [(i["id"], i["hash"]) for i in items] == stored_hashes(demo.matter.id)
    assert items[0]["prevHash"] is None
    for item in items:
        assert row_hash(as_row(item), item["prevHash"]) == item["hash"]
    assert [problem for _row, problem in check_chain(map(as_row, items))] == [None] * len(items)


def test_csv_export_carries_the_same_rows_and_hashes_as_the_json_when_asked_for_csv(demo, lawyer):
    response = lawyer.get(f"/matters/{demo.matter.id}/audit?format=csv")

    assert response.status_code == HTTPStatus.OK
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.splitlines()[0].endswith("createdAt,prevHash,hash")
    items = from_csv(body)
    assert [(i["id"], i["hash"]) for i in items] == stored_hashes(demo.matter.id)
    assert [problem for _row, problem in check_chain(map(as_row, items))] == [None] * len(items)


def test_export_reads_the_trail_a_page_at_a_time_when_it_is_longer_than_a_page(
    demo, lawyer, monkeypatch
):
    monkeypatch.setattr(audit, "EXPORT_PAGE", 2)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM workflow_events" in statement and "LIMIT" in statement:
            statements.append(statement)

    from sqlalchemy import event

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        document = json.loads(lawyer.get(f"/matters/{demo.matter.id}/audit").get_data())
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    rows = stored_hashes(demo.matter.id)
    assert [(i["id"], i["hash"]) for i in document["items"]] == rows
    assert len(statements) == len(rows) // 2 + 1  # pages of two, then the short one


def test_export_shows_the_changed_row_as_broken_when_the_owner_rewrote_it(demo, lawyer):
    victim = stored_hashes(demo.matter.id)[1][0]
    with db.engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(
                text("ALTER TABLE workflow_events DISABLE TRIGGER workflow_events_append_only")
            )
        connection.execute(
            text("UPDATE workflow_events SET event_type = 'matter.renamed' WHERE id = :id"),
            {"id": victim},
        )
        if postgres:
            connection.execute(
                text("ALTER TABLE workflow_events ENABLE TRIGGER workflow_events_append_only")
            )

    db.session.commit()  # the request reads what is committed now
    items = json.loads(lawyer.get(f"/matters/{demo.matter.id}/audit").get_data())["items"]

    broken = [row["id"] for row, problem in check_chain(map(as_row, items)) if problem]
    assert broken == [victim]


@pytest.mark.parametrize(
    ("who", "status"), [(Role.CLIENT, HTTPStatus.FORBIDDEN), ("other firm", HTTPStatus.NOT_FOUND)]
)
def test_export_is_refused_when_asked_by_a_client_or_another_firm(
    demo, api_as, second_firm, who, status
):
    person = second_firm["lawyer"] if who == "other firm" else demo.user(who)
    response = api_as(person).get(f"/matters/{demo.matter.id}/audit?format=csv")
    assert response.status_code == status
    assert response.json["error"]["message"]


def test_export_refuses_an_unknown_format_with_400_in_plain_words(demo, lawyer):
    response = lawyer.get(f"/matters/{demo.matter.id}/audit?format=xml")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json["error"]["message"] == "format must be one of json or csv."


def test_matter_page_offers_the_audit_downloads_to_staff_and_not_to_clients(demo, login_as):
    url = f"/matters/{demo.matter.id}/workflows"
    page = login_as(demo.user(Role.LAWYER)).get(url).get_data(as_text=True)
    assert f"/api/v1/matters/{demo.matter.id}/audit?format=csv" in page
    assert f"/api/v1/matters/{demo.matter.id}/audit?format=json" in page
    client_page = login_as(demo.user(Role.CLIENT)).get(url)
    assert "/audit?format=csv" not in client_page.get_data(as_text=True)


def test_instance_events_carry_their_hashes_when_read_through_the_api(demo, lawyer):
    instance_id = db.session.scalar(
        select(WorkflowEvent.instance_id).where(WorkflowEvent.instance_id.is_not(None)).limit(1)
    )
    items = lawyer.get(f"/instances/{instance_id}/events").json["items"]
    stored = dict(stored_hashes(demo.matter.id))
    assert items and all(item["hash"] == stored[item["id"]] for item in items)
    assert all("prevHash" in item and "requestId" in item for item in items)
