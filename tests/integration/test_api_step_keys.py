"""Step keys written as people write slugs (`client-facts`, `review-a`): accepted through the
API, published and run; conditions and templates reach them as `steps["client-facts"]`."""

from http import HTTPStatus
from typing import Any

from tests.integration.support import step_by_key
from webapp.engine.roles import Role


def hyphenated_template() -> dict[str, Any]:
    return {
        "name": "Client intake",
        "steps": [
            {
                "key": "client-facts",
                "title": "Gather the client's facts",
                "actionType": "CHECKLIST",
                "actionConfig": {"items": ["Name", "Address"]},
                "roleScope": "PARALEGAL",
            },
            {
                "key": "review-a",
                "title": 'Review {{ steps["client-facts"].checkedItems | length }} facts',
                "actionType": "APPROVAL_LAWYER",
                "actionConfig": {
                    "message": 'Facts: {{ steps["client-facts"].checkedItems | join(", ") }}'
                },
                "roleScope": "LAWYER",
                "condition": 'size(steps["client-facts"].checkedItems) == 2',
            },
            {
                "key": "on-refusal",
                "title": "Tell the client",
                "actionType": "CHECKLIST",
                "actionConfig": {"items": ["Call"]},
                "roleScope": "PARALEGAL",
                "condition": "steps['review-a'].approved == false",
            },
        ],
    }


def test_template_with_hyphenated_keys_publishes_and_runs_when_conditions_use_brackets(
    demo, api_as
):
    lawyer = api_as(demo.user(Role.LAWYER))
    paralegal = api_as(demo.user(Role.PARALEGAL))
    created = lawyer.post("/templates", json=hyphenated_template())
    assert created.status_code == HTTPStatus.CREATED, created.json
    assert [s["key"] for s in created.json["steps"]] == ["client-facts", "review-a", "on-refusal"]
    published = lawyer.post(f"/templates/{created.json['id']}/publish")
    assert published.status_code == HTTPStatus.OK, published.json

    instance = lawyer.post(
        f"/templates/{created.json['id']}/instantiate", json={"matterId": demo.matter.id}
    ).json
    facts = step_by_key(instance, "client-facts")
    done = paralegal.post(
        f"/steps/{facts['id']}/complete", json={"checkedItems": ["Name", "Address"]}
    )
    assert done.status_code == HTTPStatus.OK, done.json
    assert done.json["stepData"]["client-facts"] == {"checkedItems": ["Name", "Address"]}
    review = step_by_key(done.json, "review-a")
    assert review["actionState"] == "READY"
    assert review["title"] == "Review 2 facts"
    assert review["actionConfig"]["message"] == "Facts: Name, Address"

    approved = lawyer.post(f"/steps/{review['id']}/complete", json={"approved": True})
    assert approved.status_code == HTTPStatus.OK, approved.json
    assert approved.json["stepData"]["review-a"]["approved"] is True
    assert step_by_key(approved.json, "on-refusal")["actionState"] == "SKIPPED"
    assert approved.json["status"] == "Completed"


def test_publish_is_refused_with_advice_when_a_condition_writes_a_hyphenated_key_after_a_dot(
    demo, api_as
):
    lawyer = api_as(demo.user(Role.LAWYER))
    body = hyphenated_template()
    body["steps"][1]["condition"] = "size(steps.client-facts.checkedItems) == 2"
    draft = lawyer.post("/templates", json=body).json
    refused = lawyer.post(f"/templates/{draft['id']}/publish")
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    [problem] = refused.json["error"]["details"]
    assert (problem["key"], problem["field"]) == ("review-a", "condition")
    assert 'steps["client-facts"]' in problem["message"]
    assert lawyer.get(f"/templates/{draft['id']}").json["status"] == "DRAFT"


def test_publish_is_refused_when_a_condition_or_template_reads_a_key_no_step_has(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    body = hyphenated_template()
    body["steps"][1]["condition"] = 'steps["client-fact"].approved'
    body["steps"][2]["actionConfig"] = {"items": ["Call {{ steps.reviewa.comment }}"]}
    draft = lawyer.post("/templates", json=body).json
    refused = lawyer.post(f"/templates/{draft['id']}/publish")
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    problems = [(p["key"], p["field"], p["message"]) for p in refused.json["error"]["details"]]
    assert problems == [
        ("review-a", "condition", "unknown step key 'client-fact'"),
        ("on-refusal", "actionConfig.items[0]", "unknown step key 'reviewa'"),
    ]


def test_step_key_is_refused_in_plain_words_when_it_is_not_a_slug(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    body = hyphenated_template()
    body["steps"][0]["key"] = "Client Facts"
    body["steps"][1]["title"] = ""
    refused = lawyer.post("/templates", json=body)
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert refused.json["error"]["details"] == [
        {
            "step": 0,
            "key": "Client Facts",
            "title": "Gather the client's facts",
            "field": "steps.0.key",
            "message": "Use lower-case letters, digits, hyphens and underscores, "
            "starting with a letter.",
        },
        {
            "step": 1,
            "key": "review-a",
            "title": "",
            "field": "steps.1.title",
            "message": "Enter a value.",
        },
    ]
