"""Moving every running workflow of a version at once (issue 18): a dry run reports each
instance and changes nothing; a real run is worked off by the worker in batches with its
progress on the run; a second run changes nothing. The suite runs 30 instances in
batches of 10; `make bench` section (g) runs 500."""

from http import HTTPStatus
from typing import Any

import pytest

from tests.integration.engine_support import by_key, fresh, publish, reload, run_worker, start
from tests.integration.support import rows_of, snapshot
from tests.integration.test_instance_migration import ABC, approval, approve, new_version
from webapp.engine.roles import Role
from webapp.models import InstanceStep, WorkflowInstance
from webapp.services import migration, outbox
from webapp.worker import run_claimed

COUNT = 30


@pytest.fixture
def admin(firm, make_user, api_as) -> Any:
    from webapp.extensions import db
    from webapp.models import Organization

    return api_as(make_user(db.session.get(Organization, firm.matter.org_id), Role.ADMIN))


def _many(firm: Any, count: int) -> tuple[int, list[int], set[int]]:
    """`count` running instances of v1; every third has its first step done, so its
    second is READY, which the new version changes: those are blocked."""
    template_id = publish(firm.api, "Intake", ABC)
    ids, blocked = [], set()
    for n in range(count):
        instance_id = start(firm.api, template_id, firm.matter.id)["id"]
        ids.append(instance_id)
        if n % 3 == 0:
            approve(firm.api, instance_id, "a")
            blocked.add(instance_id)
    v2 = [approval("a"), approval("b", title="Approve again"), approval("c")]
    version = new_version(firm.api, template_id, v2)
    target = firm.api.get(f"/templates/{template_id}/versions").json["items"][0]
    assert target["version"] == version
    return target["id"], ids, blocked


def test_dry_run_reports_each_instance_and_changes_nothing_when_a_third_is_blocked(firm, admin):
    target_id, ids, blocked = _many(firm, COUNT)
    before = snapshot()
    report = admin.post(f"/templates/{target_id}/migrations", json={"fromVersion": 1})
    assert report.status_code == HTTPStatus.OK, report.json
    body = report.json
    assert (body["dryRun"], body["status"], body["total"]) == (True, "DRY_RUN", COUNT)
    outcomes = {item["instanceId"]: item["outcome"] for item in body["items"]}
    assert outcomes == {i: "BLOCKED" if i in blocked else "WOULD_MIGRATE" for i in ids}
    reasons = [item["reasons"] for item in body["items"] if item["outcome"] == "BLOCKED"]
    assert all(len(r) == 1 and "ready to be worked on" in r[0] for r in reasons)
    assert body["items"][0]["matterReference"] == firm.matter.reference
    assert snapshot() == before


def test_real_run_migrates_in_batches_shows_progress_and_a_second_run_changes_nothing(
    firm, admin, monkeypatch
):
    monkeypatch.setattr(migration, "BATCH_SIZE", 10)
    target_id, ids, blocked = _many(firm, COUNT)
    run_worker()  # the step notifications first: the next job claimed is the run's
    queued = admin.post(
        f"/templates/{target_id}/migrations", json={"fromVersion": 1, "dryRun": False}
    )
    assert queued.status_code == HTTPStatus.ACCEPTED, queued.json
    run_id = queued.json["id"]
    assert (queued.json["status"], queued.json["total"], queued.json["processed"]) == (
        "QUEUED",
        COUNT,
        0,
    )

    twice = admin.post(
        f"/templates/{target_id}/migrations", json={"fromVersion": 1, "dryRun": False}
    )
    assert twice.status_code == HTTPStatus.CONFLICT
    assert twice.json["error"]["details"] == {"runId": run_id}

    run_claimed(outbox.claim_jobs("one-batch", 1), "one-batch")  # the first batch only
    fresh()
    progress = admin.get(f"/templates/{target_id}/migrations/{run_id}").json
    assert (progress["status"], progress["processed"]) == ("RUNNING", 10)

    run_worker()
    done = admin.get(f"/templates/{target_id}/migrations/{run_id}").json
    assert done["status"] == "DONE"
    assert (done["migrated"], done["blocked"], done["failed"]) == (
        COUNT - len(blocked),
        len(blocked),
        0,
    )
    outcomes = {item["instanceId"]: item["outcome"] for item in done["items"]}
    assert outcomes == {i: "BLOCKED" if i in blocked else "MIGRATED" for i in ids}
    for instance_id in ids:
        instance = reload(firm.api, instance_id)
        assert instance["templateVersion"] == (1 if instance_id in blocked else 2)
        title = by_key(instance, "b")["title"]
        assert title == ("B" if instance_id in blocked else "Approve again")

    steps_before, instances_before = rows_of(InstanceStep), rows_of(WorkflowInstance)
    again = admin.post(
        f"/templates/{target_id}/migrations", json={"fromVersion": 1, "dryRun": False}
    )
    run_worker()
    second = admin.get(f"/templates/{target_id}/migrations/{again.json['id']}").json
    assert (second["status"], second["total"]) == ("DONE", len(blocked))
    assert (second["migrated"], second["blocked"]) == (0, len(blocked))
    assert rows_of(InstanceStep) == steps_before
    assert rows_of(WorkflowInstance) == instances_before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"fromVersion": 2}, HTTPStatus.CONFLICT),
        ({"fromVersion": 0}, HTTPStatus.UNPROCESSABLE_ENTITY),
        ({}, HTTPStatus.UNPROCESSABLE_ENTITY),
    ],
    ids=["not older", "not a version", "missing"],
)
def test_bulk_migration_is_refused_and_changes_nothing_when_the_body_does_not_fit(
    firm, admin, body, status
):
    target_id, _ids, _blocked = _many(firm, 1)
    before = snapshot()
    assert admin.post(f"/templates/{target_id}/migrations", json=body).status_code == status
    assert snapshot() == before


def test_bulk_migration_is_for_admins_when_a_lawyer_asks(firm):
    target_id, _ids, _blocked = _many(firm, 1)
    before = snapshot()
    response = firm.api.post(f"/templates/{target_id}/migrations", json={"fromVersion": 1})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot() == before
