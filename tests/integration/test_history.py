"""Every edit of an instance writes exactly one history entry (who, what, in detail) and
shows as the matching drift from its template; undoing the edits brings it back in sync.
PUT /definition writes the entries its diff implies, under the single-step edits' rules."""

from http import HTTPStatus

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.integration.support import (
    snapshot,
    step_by_key,
    three_step_template,
)
from webapp.engine.roles import Role
from webapp.extensions import db

IN_SYNC = {
    "stepsAdded": [],
    "stepsRemoved": [],
    "stepsReordered": False,
    "stepsModified": [],
    "metadataChanged": False,
    "metadataChanges": {},
    "isDrifted": False,
}
ARCHIVE_STEP = {
    "key": "archive",
    "title": "Archive the file",
    "actionType": "CHECKLIST",
    "actionConfig": {"items": ["Box it"]},
    "roleScope": "PARALEGAL",
}


class Instance:
    """One running instance of the three-step template, edited through the API."""

    def __init__(self, demo, api_as) -> None:
        self.lawyer = api_as(demo.user(Role.LAWYER))
        self.lawyer_id = demo.user(Role.LAWYER).id
        draft = self.lawyer.post("/templates", json=three_step_template()).json
        self.template = self.lawyer.post(f"/templates/{draft['id']}/publish").json
        self.data = self.lawyer.post(
            f"/templates/{self.template['id']}/instantiate",
            json={"matterId": demo.matter.id, "title": "Intake for Acme"},
        ).json
        self.id = self.data["id"]

    def url(self, suffix: str = "") -> str:
        return f"/instances/{self.id}{suffix}"

    def get(self) -> dict:
        return self.lawyer.get(self.url()).json

    def step(self, key: str) -> dict:
        return step_by_key(self.get(), key)

    def history(self) -> list[dict]:
        response = self.lawyer.get(self.url("/history"))
        assert response.status_code == HTTPStatus.OK
        return response.json["entries"]

    def drift(self) -> dict:
        response = self.lawyer.get(self.url("/drift"))
        assert response.status_code == HTTPStatus.OK, response.json
        body = response.json
        assert (body["baseWorkflowId"], body["baseVersion"]) == (self.template["id"], 1)
        return {k: v for k, v in body.items() if not k.startswith("base")}

    def edit(self, method: str, suffix: str, body: dict | None = None) -> dict:
        response = self.lawyer.request(method, self.url(suffix), json=body)
        assert response.status_code in (HTTPStatus.OK, HTTPStatus.CREATED), response.json
        return response.json

    def one_new_entry(self, before: list[dict]) -> dict:
        after = self.history()
        assert after[: len(before)] == before, "history entries never change"
        [entry] = after[len(before) :]
        assert (entry["actorId"], entry["actorName"]) == (self.lawyer_id, "Lee Lawyer")
        return entry


@pytest.fixture
def instance(demo, api_as) -> Instance:
    return Instance(demo, api_as)


def test_new_instance_has_a_created_entry_and_no_drift_when_just_instantiated(instance):
    [entry] = instance.history()
    assert entry["changeType"] == "created"
    assert entry["detail"] == {
        "templateKey": "engagement_intake",
        "templateVersion": 1,
        "title": "Intake for Acme",
    }
    assert instance.drift() == IN_SYNC
    response = instance.lawyer.get(instance.url("/drift")).json
    assert response["baseKey"] == "engagement_intake"


def test_adding_a_step_writes_one_step_added_entry_and_drifts_until_removed(instance):
    history = instance.history()
    instance.edit("POST", "/steps", {**ARCHIVE_STEP, "order": 2})
    entry = instance.one_new_entry(history)
    added = instance.step("archive")
    assert entry["changeType"] == "step_added"
    assert entry["detail"] == {
        "stepId": added["id"],
        "key": "archive",
        "order": 2,
        "title": "Archive the file",
    }
    assert instance.drift() == {**IN_SYNC, "stepsAdded": ["archive"], "isDrifted": True}

    history = instance.history()
    instance.edit("DELETE", f"/steps/{added['id']}")
    assert instance.one_new_entry(history)["changeType"] == "step_removed"
    assert instance.drift() == IN_SYNC


def test_removing_a_step_writes_one_step_removed_entry_and_drifts_until_re_added(instance):
    identity = instance.step("identity")
    history = instance.history()
    instance.edit("DELETE", f"/steps/{identity['id']}")
    entry = instance.one_new_entry(history)
    assert entry["changeType"] == "step_removed"
    assert entry["detail"] == {
        "stepId": identity["id"],
        "key": "identity",
        "title": "Upload identity document",
    }
    assert instance.drift() == {**IN_SYNC, "stepsRemoved": ["identity"], "isDrifted": True}

    original = three_step_template()["steps"][2]
    history = instance.history()
    instance.edit("POST", "/steps", {**original, "order": 3})
    assert instance.one_new_entry(history)["changeType"] == "step_added"
    assert instance.drift() == IN_SYNC


def test_reordering_writes_one_step_reordered_entry_and_drifts_until_put_back(instance):
    steps = instance.get()["steps"]
    ids = [s["id"] for s in steps]
    history = instance.history()
    instance.edit("POST", "/steps/reorder", {"stepIds": [ids[0], ids[2], ids[1]]})
    entry = instance.one_new_entry(history)
    assert entry["changeType"] == "step_reordered"
    assert entry["detail"] == {
        "from": ["conflicts", "approval", "identity"],
        "to": ["conflicts", "identity", "approval"],
    }
    assert instance.drift() == {**IN_SYNC, "stepsReordered": True, "isDrifted": True}

    history = instance.history()
    instance.edit("POST", "/steps/reorder", {"stepIds": ids})
    assert instance.one_new_entry(history)["changeType"] == "step_reordered"
    assert instance.drift() == IN_SYNC


def test_editing_a_step_writes_one_step_modified_entry_and_drifts_until_reverted(instance):
    approval = instance.step("approval")
    history = instance.history()
    instance.edit(
        "PATCH", f"/steps/{approval['id']}", {"title": "Partner approval", "required": False}
    )
    entry = instance.one_new_entry(history)
    assert entry["changeType"] == "step_modified"
    assert entry["detail"] == {
        "stepId": approval["id"],
        "key": "approval",
        "changes": {
            "title": {"from": "Approve engagement", "to": "Partner approval"},
            "required": {"from": True, "to": False},
        },
    }
    drift = instance.drift()
    assert drift["stepsModified"] == [
        {
            "key": "approval",
            "fields": ["title", "required"],
            "changes": entry["detail"]["changes"],
        }
    ]
    assert drift == {**IN_SYNC, "stepsModified": drift["stepsModified"], "isDrifted": True}

    history = instance.history()
    instance.edit(
        "PATCH", f"/steps/{approval['id']}", {"title": "Approve engagement", "required": True}
    )
    assert instance.one_new_entry(history)["changeType"] == "step_modified"
    assert instance.drift() == IN_SYNC


def test_renaming_writes_one_metadata_changed_entry_and_drifts_until_renamed_back(instance):
    history = instance.history()
    instance.edit("PATCH", "", {"title": "Intake for Acme Corp"})
    entry = instance.one_new_entry(history)
    assert entry["changeType"] == "metadata_changed"
    assert entry["detail"] == {"title": {"from": "Intake for Acme", "to": "Intake for Acme Corp"}}
    drift = instance.drift()
    assert (drift["metadataChanged"], drift["isDrifted"]) == (True, True)
    assert drift["metadataChanges"] == entry["detail"]

    instance.edit("PATCH", "", {"title": "Intake for Acme"})
    assert instance.drift() == IN_SYNC
    assert [e["changeType"] for e in instance.history()] == [
        "created",
        "metadata_changed",
        "metadata_changed",
    ]


def test_edit_that_changes_nothing_writes_no_entry_when_sent(instance):
    approval = instance.step("approval")
    history = instance.history()
    instance.edit("PATCH", f"/steps/{approval['id']}", {"title": "Approve engagement"})
    instance.edit("PATCH", "", {"title": "Intake for Acme"})
    assert instance.history() == history


# ---- PUT /definition ---------------------------------------------------------------------


def definition_steps(instance: Instance) -> list[dict]:
    response = instance.lawyer.get(instance.url("/definition"))
    assert response.status_code == HTTPStatus.OK
    assert response.json["title"] == instance.get()["title"]
    return response.json["steps"]


def test_put_definition_with_two_steps_swapped_and_one_added_writes_exactly_those_entries(
    instance,
):
    conflicts, approval, identity = definition_steps(instance)
    history = instance.history()

    updated = instance.edit(
        "PUT", "/definition", {"steps": [conflicts, identity, approval, ARCHIVE_STEP]}
    )

    assert [s["key"] for s in updated["steps"]] == ["conflicts", "identity", "approval", "archive"]
    assert [s["order"] for s in updated["steps"]] == [1, 2, 3, 4]
    new = instance.history()[len(history) :]
    assert sorted(e["changeType"] for e in new) == ["step_added", "step_reordered"]
    by_type = {e["changeType"]: e for e in new}
    assert by_type["step_reordered"]["detail"] == {
        "from": ["conflicts", "approval", "identity"],
        "to": ["conflicts", "identity", "approval", "archive"],
    }
    archive = step_by_key(updated, "archive")
    assert by_type["step_added"]["detail"] == {
        "stepId": archive["id"],
        "key": "archive",
        "order": 4,
        "title": "Archive the file",
    }
    assert all(e["actorId"] == instance.lawyer_id for e in new)
    drift = instance.drift()
    assert drift == {
        **IN_SYNC,
        "stepsAdded": ["archive"],
        "stepsReordered": True,
        "isDrifted": True,
    }
    assert step_by_key(updated, "identity")["id"] == identity["id"], "kept steps keep their rows"


def test_put_definition_matches_steps_by_key_when_ids_are_left_out(instance):
    steps = [{k: v for k, v in s.items() if k != "id"} for s in definition_steps(instance)]
    steps[1]["title"] = "Partner approval"
    history = instance.history()
    instance.edit("PUT", "/definition", {"title": "Renamed intake", "steps": steps[:2]})
    new = instance.history()[len(history) :]
    assert [e["changeType"] for e in new] == ["metadata_changed", "step_removed", "step_modified"]
    assert new[2]["detail"]["changes"] == {
        "title": {"from": "Approve engagement", "to": "Partner approval"}
    }
    drift = instance.drift()
    assert drift["stepsRemoved"] == ["identity"]
    assert [m["key"] for m in drift["stepsModified"]] == ["approval"]
    assert drift["metadataChanged"]


def test_put_definition_of_the_current_definition_writes_nothing_when_sent_back(instance):
    before = snapshot()
    response = instance.lawyer.put(
        instance.url("/definition"), json={"steps": definition_steps(instance)}
    )
    assert response.status_code == HTTPStatus.OK
    assert snapshot() == before


def test_put_definition_can_revert_every_edit_in_one_call_when_given_the_template(instance):
    conflicts, _, identity = definition_steps(instance)
    instance.edit("PUT", "/definition", {"title": "Other", "steps": [identity, conflicts]})
    assert instance.drift()["isDrifted"]
    template_steps = three_step_template()["steps"]
    instance.edit("PUT", "/definition", {"title": "Intake for Acme", "steps": template_steps})
    assert instance.drift() == IN_SYNC


def complete_conflicts(instance: Instance, api_as, demo) -> None:
    checklist = instance.step("conflicts")
    api_as(demo.user(Role.PARALEGAL)).post(
        f"/steps/{checklist['id']}/complete",
        json={"checkedItems": checklist["actionConfig"]["items"]},
    )


def test_put_definition_is_refused_with_409_when_it_edits_a_finished_step(instance, api_as, demo):
    complete_conflicts(instance, api_as, demo)
    steps = definition_steps(instance)
    steps[0]["title"] = "Rewritten history"
    before = snapshot()
    response = instance.lawyer.put(instance.url("/definition"), json={"steps": steps})
    assert response.status_code == HTTPStatus.CONFLICT
    assert "a finished step cannot be edited" in response.json["error"]["message"]
    assert snapshot() == before


def test_put_definition_is_refused_with_409_when_it_removes_a_started_step(instance, api_as, demo):
    checklist = instance.step("conflicts")
    api_as(demo.user(Role.PARALEGAL)).post(f"/steps/{checklist['id']}/claim")
    steps = definition_steps(instance)
    before = snapshot()
    response = instance.lawyer.put(instance.url("/definition"), json={"steps": steps[1:]})
    assert response.status_code == HTTPStatus.CONFLICT
    assert "IN_PROGRESS and cannot be removed" in response.json["error"]["message"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ("action_type", HTTPStatus.BAD_REQUEST, "cannot change its action type"),
        ("unknown_id", HTTPStatus.NOT_FOUND, "is not part of this workflow"),
        ("key_of_id", HTTPStatus.BAD_REQUEST, "a step's key cannot change"),
        ("duplicate_key", HTTPStatus.UNPROCESSABLE_ENTITY, "Some steps are not valid"),
        ("bad_config", HTTPStatus.UNPROCESSABLE_ENTITY, "Some steps are not valid"),
        ("unknown_dependency", HTTPStatus.UNPROCESSABLE_ENTITY, "Some steps are not valid"),
        ("no_steps", HTTPStatus.UNPROCESSABLE_ENTITY, "request body is not valid"),
    ],
)
def test_put_definition_is_refused_and_changes_nothing_when_the_definition_is_bad(
    instance, change, status, message
):
    steps = definition_steps(instance)
    if change == "action_type":
        steps[2] |= {"actionType": "CHECKLIST", "actionConfig": {"items": ["x"]}}
    elif change == "unknown_id":
        steps[2]["id"] = 999_999
    elif change == "key_of_id":
        steps[2]["key"] = "passport"
    elif change == "duplicate_key":
        steps.append({**ARCHIVE_STEP, "key": "approval"})
    elif change == "bad_config":
        steps[0]["actionConfig"] = {"items": []}
    elif change == "unknown_dependency":
        steps[1]["dependsOn"] = ["nowhere"]
    elif change == "no_steps":
        steps = []
    before = snapshot()
    response = instance.lawyer.put(instance.url("/definition"), json={"steps": steps})
    assert response.status_code == status, response.json
    assert message in response.json["error"]["message"]
    assert snapshot() == before


def test_put_definition_is_refused_with_403_when_sent_by_someone_who_may_not_edit(
    instance, api_as, demo
):
    before = snapshot()
    response = api_as(demo.user(Role.PARALEGAL)).put(
        instance.url("/definition"), json={"steps": [ARCHIVE_STEP]}
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot() == before


def test_put_definition_is_refused_with_409_when_the_workflow_is_cancelled(instance):
    instance.edit("PATCH", "", {"status": "Cancelled"})
    before = snapshot()
    response = instance.lawyer.put(instance.url("/definition"), json={"steps": [ARCHIVE_STEP]})
    assert response.status_code == HTTPStatus.CONFLICT
    assert snapshot() == before


# ---- reading the history -----------------------------------------------------------------


def test_history_pages_oldest_first_with_a_total_when_limit_and_offset_are_given(instance):
    for title in ("One", "Two", "Three"):
        instance.edit("PATCH", "", {"title": title})
    everything = instance.history()
    assert [e["changeType"] for e in everything] == ["created"] + ["metadata_changed"] * 3
    assert [e["id"] for e in everything] == sorted(e["id"] for e in everything)

    page = instance.lawyer.get(instance.url("/history"), query_string={"limit": 2, "offset": 1})
    assert page.json["total"] == 4
    assert page.json["entries"] == everything[1:3]
    entry = page.json["entries"][0]
    assert set(entry) == {"id", "changeType", "detail", "actorId", "actorName", "createdAt"}
    bad = instance.lawyer.get(instance.url("/history"), query_string={"limit": 0})
    assert bad.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize("suffix", ["/history", "/drift", "/definition"])
def test_client_is_refused_the_definition_history_and_drift_when_asking(
    instance, api_as, demo, suffix
):
    response = api_as(demo.user(Role.CLIENT)).get(instance.url(suffix))
    assert response.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_history_offers_no_way_to_change_an_entry_when_asked_through_the_api(instance, method):
    before = snapshot()
    response = instance.lawyer.request(method, instance.url("/history"), json={})
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert snapshot() == before


@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
@pytest.mark.parametrize(
    ("table", "column"), [("instance_changes", "change_type"), ("workflow_events", "event_type")]
)
def test_database_refuses_to_rewrite_the_audit_tables_when_on_postgresql(
    instance, dialect, statement, table, column
):
    if dialect != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's; SQLite relies on the code")
    before = snapshot()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement.format(t=table, c=column)))
    db.session.rollback()
    assert snapshot() == before
