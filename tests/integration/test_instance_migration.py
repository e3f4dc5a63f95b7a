"""Moving a running instance to a newer template version (issue 18): the table of cases
previews and migrates (or is refused) as specified, on both databases; a refusal or a
failure halfway changes nothing; the instance then pins the new version."""

from datetime import timedelta
from http import HTTPStatus
from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.engine_support import by_key, publish, reload, start, states, step
from tests.integration.support import snapshot
from webapp.extensions import db
from webapp.models import InstanceChange, MatterMember, Organization, User, WorkflowEvent
from webapp.models.base import utcnow
from webapp.services import instances, templates


def approval(key: str, **fields: Any) -> dict[str, Any]:
    return step(key, "APPROVAL_LAWYER", config={"message": f"{key}?"}, roleScope="LAWYER", **fields)


def new_version(
    api: Any, template_id: int, steps: list[dict[str, Any]], **publish_body: Any
) -> int:
    draft = api.patch(f"/templates/{template_id}", json={"steps": steps})
    assert draft.status_code == HTTPStatus.CREATED, draft.json
    published = api.post(f"/templates/{draft.json['id']}/publish", json=publish_body)
    assert published.status_code == HTTPStatus.OK, published.json
    return draft.json["version"]


def approve(api: Any, instance_id: int, key: str) -> None:
    target = by_key(reload(api, instance_id), key)
    done = api.post(f"/steps/{target['id']}/complete", json={"approved": True})
    assert done.status_code == HTTPStatus.OK, done.json


def claim(api: Any, instance_id: int, key: str) -> None:
    target = by_key(reload(api, instance_id), key)
    assert api.post(f"/steps/{target['id']}/claim").status_code == HTTPStatus.OK


def keys(instance: dict[str, Any]) -> list[str]:
    return [s["key"] for s in sorted(instance["steps"], key=lambda s: s["order"])]


def preview(api: Any, instance_id: int, version: int) -> dict[str, Any]:
    response = api.get(f"/instances/{instance_id}/migration?toVersion={version}")
    assert response.status_code == HTTPStatus.OK, response.json
    return response.json


def migrate(api: Any, instance_id: int, version: int) -> Any:
    return api.post(f"/instances/{instance_id}/migration", json={"toVersion": version})


ABC = [approval("a"), approval("b"), approval("c")]
CONDITIONAL = [approval("a"), approval("b"), approval("c", condition="has(context.fast)")]


def _own_step(api: Any, instance_id: int) -> None:
    added = api.post(f"/instances/{instance_id}/steps", json=approval("mine", title="Mine"))
    assert added.status_code == HTTPStatus.CREATED, added.json


def _skipped_new_step(api: Any, instance_id: int) -> None:
    """After the move, b's completion leaves c to its new condition, which is false."""
    approve(api, instance_id, "b")


# name, v1 steps, what happens before (done keys, claimed keys, own edit), v2 steps,
# allowed, kinds of change listed, order after, states after
CASES = [
    (
        "added step ahead",
        ABC,
        (["a"], [], None),
        [approval("a"), approval("b"), approval("x", title="New check"), approval("c")],
        True,
        {"added"},
        ["a", "b", "x", "c"],
        {"a": "COMPLETED", "b": "READY", "x": "PENDING", "c": "PENDING"},
    ),
    (
        "removed pending step",
        ABC,
        (["a"], [], None),
        [approval("a"), approval("b")],
        True,
        {"removed"},
        ["a", "b"],
        {"a": "COMPLETED", "b": "READY"},
    ),
    (
        "changed started step",
        ABC,
        (["a"], ["b"], None),
        [approval("a"), approval("b", title="Renamed"), approval("c")],
        False,
        {"changed"},
        ["a", "b", "c"],
        {"a": "COMPLETED", "b": "IN_PROGRESS", "c": "PENDING"},
    ),
    (
        "changed completed step",
        ABC,
        (["a"], [], None),
        [approval("a", title="Renamed"), approval("b"), approval("c")],
        False,
        {"changed"},
        ["a", "b", "c"],
        {"a": "COMPLETED", "b": "READY", "c": "PENDING"},
    ),
    (
        "reordered pending steps",
        [*ABC, approval("d")],
        (["a"], [], None),
        [approval("a"), approval("b"), approval("d"), approval("c")],
        True,
        {"reordered"},
        ["a", "b", "d", "c"],
        {"a": "COMPLETED", "b": "READY", "d": "PENDING", "c": "PENDING"},
    ),
    (
        "reordered done steps",
        ABC,
        (["a", "b"], [], None),
        [approval("b"), approval("a"), approval("c")],
        False,
        {"reordered"},
        ["a", "b", "c"],
        {"a": "COMPLETED", "b": "COMPLETED", "c": "READY"},
    ),
    (
        "instance-added step kept",
        [approval("a"), approval("b")],
        (["a"], [], _own_step),
        [approval("a"), approval("b"), approval("c")],
        True,
        {"added", "own_step_kept"},
        ["a", "b", "mine", "c"],
        {"a": "COMPLETED", "b": "READY", "mine": "PENDING", "c": "PENDING"},
    ),
    (
        "instance-added step whose key the new version takes",
        [approval("a"), approval("b")],
        (["a"], [], _own_step),
        [approval("a"), approval("b"), approval("mine", title="Theirs")],
        True,
        {"own_step_replaced"},
        ["a", "b", "mine"],
        {"a": "COMPLETED", "b": "READY", "mine": "PENDING"},
    ),
    (
        "a condition that now skips a step",
        ABC,
        (["a"], [], None),
        CONDITIONAL,
        True,
        {"changed"},
        ["a", "b", "c"],
        {"a": "COMPLETED", "b": "READY", "c": "PENDING"},
    ),
]


@pytest.mark.parametrize(
    ("name", "v1", "before", "v2", "allowed", "kinds", "order", "after"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_migration_case_previews_and_migrates_as_specified_when_the_template_changes(
    firm, name, v1, before, v2, allowed, kinds, order, after
):
    api = firm.api
    template_id = publish(api, "Intake", v1)
    instance_id = start(api, template_id, firm.matter.id)["id"]
    done, claimed, own_edit = before
    for key in done:
        approve(api, instance_id, key)
    for key in claimed:
        claim(api, instance_id, key)
    if own_edit is not None:
        own_edit(api, instance_id)
    version = new_version(api, template_id, v2)

    shown = preview(api, instance_id, version)
    assert shown["allowed"] is allowed
    assert kinds <= {change["kind"] for change in shown["changes"]}
    assert all(change["sentence"].endswith(".") for change in shown["changes"])
    assert (shown["fromVersion"], shown["toVersion"]) == (1, version)

    unchanged = snapshot()
    response = migrate(api, instance_id, version)
    if not allowed:
        assert response.status_code == HTTPStatus.CONFLICT, response.json
        assert shown["blockers"] and all(b["sentence"] for b in shown["blockers"])
        assert response.json["error"]["details"]["blockers"] == [
            b["sentence"] for b in shown["blockers"]
        ]
        assert snapshot() == unchanged
        assert reload(api, instance_id)["templateVersion"] == 1
    else:
        assert response.status_code == HTTPStatus.OK, response.json
        assert shown["blockers"] == []
        assert response.json["templateVersion"] == version
    instance = reload(api, instance_id)
    assert keys(instance) == order
    assert states(instance) == after


def test_migration_keeps_completed_work_and_outputs_when_allowed(firm):
    api = firm.api
    template_id = publish(api, "Intake", ABC)
    instance_id = start(api, template_id, firm.matter.id)["id"]
    approve(api, instance_id, "a")
    before = reload(api, instance_id)
    version = new_version(api, template_id, [*ABC, approval("d")])

    after = migrate(api, instance_id, version).json
    assert by_key(after, "a")["id"] == by_key(before, "a")["id"]
    assert by_key(after, "a")["completedAt"] == by_key(before, "a")["completedAt"]
    assert after["stepData"] == before["stepData"] and after["stepData"]["a"]["approved"] is True


def test_migration_writes_one_history_entry_and_one_audit_event_when_it_moves(firm):
    api = firm.api
    template_id = publish(api, "Intake", ABC)
    instance_id = start(api, template_id, firm.matter.id)["id"]
    version = new_version(api, template_id, [approval("a"), approval("b")])
    assert migrate(api, instance_id, version).status_code == HTTPStatus.OK

    history = api.get(f"/instances/{instance_id}/history").json["entries"]
    migrated = [e for e in history if e["changeType"] == "migrated"]
    assert len(migrated) == 1 and len(history) == 2
    assert migrated[0]["detail"]["fromVersion"] == 1
    assert migrated[0]["detail"]["toVersion"] == version
    events = api.get(f"/instances/{instance_id}/events").json["items"]
    [event] = [e for e in events if e["eventType"] == "instance.migrated"]
    assert [s["key"] for s in event["payload"]["before"]] == ["a", "b", "c"]
    assert [s["key"] for s in event["payload"]["after"]] == ["a", "b"]


def test_drift_is_measured_against_the_new_version_when_migrated(firm):
    api = firm.api
    template_id = publish(api, "Intake", [approval("a"), approval("b")])
    instance_id = start(api, template_id, firm.matter.id)["id"]
    _own_step(api, instance_id)
    version = new_version(api, template_id, [approval("a"), approval("b"), approval("c")])
    assert migrate(api, instance_id, version).status_code == HTTPStatus.OK

    drift = api.get(f"/instances/{instance_id}/drift").json
    assert drift["baseVersion"] == version
    assert drift["stepsAdded"] == ["mine"]
    assert drift["stepsRemoved"] == [] and drift["stepsModified"] == []


def test_condition_skips_the_changed_step_when_its_prerequisite_completes(firm):
    api = firm.api
    template_id = publish(api, "Intake", ABC)
    instance_id = start(api, template_id, firm.matter.id)["id"]
    approve(api, instance_id, "a")
    version = new_version(api, template_id, CONDITIONAL)
    assert migrate(api, instance_id, version).status_code == HTTPStatus.OK

    _skipped_new_step(api, instance_id)
    instance = reload(api, instance_id)
    assert states(instance) == {"a": "COMPLETED", "b": "COMPLETED", "c": "SKIPPED"}
    assert instance["status"] == "Completed"


def test_new_step_whose_prerequisites_are_done_becomes_ready_when_migrated(firm):
    api = firm.api
    template_id = publish(api, "Intake", [approval("a"), approval("b")])
    instance_id = start(api, template_id, firm.matter.id)["id"]
    approve(api, instance_id, "a")
    extra = [approval("x", dependsOn=["a"]), approval("y", dependsOn=["a"], condition="false")]
    version = new_version(api, template_id, [approval("a"), approval("b"), *extra])
    migrated = migrate(api, instance_id, version).json
    assert states(migrated) == {"a": "COMPLETED", "b": "READY", "x": "READY", "y": "SKIPPED"}


def test_migration_changes_nothing_when_it_fails_halfway(firm, monkeypatch):
    api = firm.api
    template_id = publish(api, "Intake", ABC)
    instance_id = start(api, template_id, firm.matter.id)["id"]
    approve(api, instance_id, "a")
    version = new_version(api, template_id, [*ABC[:2], approval("x"), approval("c")])
    before = snapshot()
    history_before = db.session.scalars(select(InstanceChange.id)).all()
    events_before = db.session.scalars(select(WorkflowEvent.id)).all()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the disk went away")

    # After the steps were rewritten, the history entry and the audit row appended.
    monkeypatch.setattr(instances, "advance", broken)
    lawyer = db.session.get(User, firm.lawyer.id)
    with pytest.raises(RuntimeError):
        instances.perform(lawyer, instance_id, instances.Migrate(version))
    monkeypatch.undo()

    assert snapshot() == before
    assert db.session.scalars(select(InstanceChange.id)).all() == history_before
    assert db.session.scalars(select(WorkflowEvent.id)).all() == events_before
    assert keys(reload(api, instance_id)) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("version", "status"),
    [(1, HTTPStatus.CONFLICT), (9, HTTPStatus.NOT_FOUND)],
    ids=["same version", "unknown version"],
)
def test_migration_is_refused_and_changes_nothing_when_the_version_does_not_fit(
    firm, version, status
):
    api = firm.api
    template_id = publish(api, "Intake", ABC)
    instance_id = start(api, template_id, firm.matter.id)["id"]
    before = snapshot()
    assert migrate(api, instance_id, version).status_code == status
    assert api.get(f"/instances/{instance_id}/migration?toVersion={version}").status_code == status
    assert snapshot() == before


def test_migration_is_refused_when_the_version_is_a_draft(firm):
    api = firm.api
    template_id = publish(api, "Intake", ABC)
    instance_id = start(api, template_id, firm.matter.id)["id"]
    draft = api.patch(f"/templates/{template_id}", json={"steps": ABC[:2]}).json
    response = migrate(api, instance_id, draft["version"])
    assert response.status_code == HTTPStatus.CONFLICT
    assert "published" in response.json["error"]["message"]


def test_preview_needs_a_to_version_when_asked_without_one(firm):
    api = firm.api
    instance_id = start(api, publish(api, "Intake", ABC), firm.matter.id)["id"]
    response = api.get(f"/instances/{instance_id}/migration")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "toVersion" in response.json["error"]["message"]


def test_only_the_owner_and_admins_migrate_when_another_lawyer_asks(firm, make_user, api_as):
    api = firm.api
    template_id = publish(api, "Intake", ABC)
    instance_id = start(api, template_id, firm.matter.id)["id"]
    version = new_version(api, template_id, ABC[:2])
    colleague = make_user(db.session.get(Organization, firm.matter.org_id), "LAWYER")
    db.session.add(MatterMember(matter_id=firm.matter.id, user_id=colleague.id, role="LAWYER"))
    db.session.commit()
    other = api_as(colleague)
    assert other.get(f"/instances/{instance_id}/migration?toVersion={version}").status_code == 200
    before = snapshot()
    assert migrate(other, instance_id, version).status_code == HTTPStatus.FORBIDDEN
    assert snapshot() == before


# ---- scheduled go-live -------------------------------------------------------------------


def test_new_workflows_start_from_the_version_in_effect_when_a_newer_one_goes_live_later(firm):
    api = firm.api
    template_id = publish(api, "Intake", ABC, key="intake")
    go_live = utcnow() + timedelta(days=1)
    version = new_version(api, template_id, ABC[:2], effectiveFrom=go_live.isoformat())
    v2 = api.get(f"/templates/{template_id}/versions").json["items"][0]
    assert v2["version"] == version and v2["effectiveFrom"] is not None

    today = api.post("/workflows", json={"workflowId": "intake", "matterId": firm.matter.id})
    assert today.status_code == HTTPStatus.CREATED and today.json["templateVersion"] == 1
    assert (
        api.post(
            f"/templates/{v2['id']}/instantiate", json={"matterId": firm.matter.id}
        ).status_code
        == HTTPStatus.CONFLICT
    )
    refused = migrate(api, today.json["id"], version)
    assert (
        refused.status_code == HTTPStatus.CONFLICT
        and "goes live" in refused.json["error"]["message"]
    )

    org_id = firm.matter.org_id
    assert templates.version_in_effect(org_id, "intake", utcnow()).version == 1
    assert templates.version_in_effect(org_id, "intake", go_live).version == version
    lawyer = db.session.get(User, firm.lawyer.id)
    later, _ = instances.instantiate(
        lawyer, "intake", firm.matter.id, now=go_live + timedelta(minutes=1)
    )
    assert later.template_version == version


def test_publish_refuses_an_effective_date_without_a_time_zone(firm):
    api = firm.api
    created = api.post("/templates", json={"name": "Intake", "steps": ABC}).json
    before = snapshot()
    response = api.post(
        f"/templates/{created['id']}/publish", json={"effectiveFrom": "2030-01-01T00:00:00"}
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert snapshot() == before


def test_a_client_never_reads_the_migrated_definitions_when_reading_the_audit_trail(
    make_org, make_user, make_matter, api_as
):
    from tests.integration.engine_support import make_firm

    firm = make_firm(make_org, make_user, make_matter, api_as, "CLIENT")
    template_id = publish(firm.api, "Intake", ABC)
    instance_id = start(firm.api, template_id, firm.matter.id)["id"]
    version = new_version(firm.api, template_id, ABC[:2])
    assert migrate(firm.api, instance_id, version).status_code == HTTPStatus.OK
    staff = firm.api.get(f"/instances/{instance_id}/events").json["items"]
    assert "instance.migrated" in {e["eventType"] for e in staff}
    client = api_as(firm.people["CLIENT"]).get(f"/instances/{instance_id}/events")
    assert client.status_code == HTTPStatus.OK
    assert "instance.migrated" not in {e["eventType"] for e in client.json["items"]}
