"""A token typed into a core.http header (not a secret) is shown as •••• wherever a config
is shown — the template, the instance, attempt inputs, drift, history, the export — and
the builder's inspector tells people to use a secret instead. Sending the mask back is
refused in plain words rather than stored over the token."""

import json

import pytest

from tests.integration.engine_support import by_key, publish, reload, run_worker, start, step
from tests.integration.standin_support import StandIn, stand_in
from webapp.engine.secret_refs import MASK

TYPED = "typed-live-token-9f8e7d"


@pytest.fixture
def private_allowed(app, monkeypatch):
    monkeypatch.setitem(app.config, "HTTP_ALLOW_PRIVATE", True)


def test_a_typed_token_reads_as_the_mask_on_every_surface(firm, private_allowed, login_as):
    script = StandIn(lambda request: (200, {}, {"ok": True}))
    with stand_in(script) as base:
        headers = {"Authorization": f"Bearer {TYPED}", "X-Api-Key": TYPED, "Accept": "json"}
        config = {"method": "POST", "url": f"{base}/x", "headers": headers}
        steps = [
            step("call", "core.http", config=config),
            step("gate", "APPROVAL_LAWYER", roleScope="LAWYER", config={}),
            step("later", "core.http", config=config),
        ]
        template_id = publish(firm.api, "Typed", steps)
        instance = start(firm.api, template_id, firm.matter.id)
        run_worker()
        later = by_key(instance, "later")
        changed = {"Authorization": f"Bearer {TYPED}-2", "Accept": "json"}
        edit = firm.api.patch(
            f"/instances/{instance['id']}/steps/{later['id']}",
            json={"actionConfig": {"method": "POST", "url": f"{base}/y", "headers": changed}},
        )
    assert script.requests[0]["headers"]["authorization"] == f"Bearer {TYPED}"  # sent as typed
    surfaces = {
        "template": firm.api.get(f"/templates/{template_id}"),
        "export": firm.api.get(f"/templates/{template_id}/export"),
        "instance": firm.api.get(f"/instances/{instance['id']}"),
        "drift": firm.api.get(f"/instances/{instance['id']}/drift"),
        "history": firm.api.get(f"/instances/{instance['id']}/history"),
    }
    web = login_as(firm.lawyer)
    runner = f"/matters/{firm.matter.id}/workflows/{instance['id']}"
    pages = {"drift page": web.get(f"{runner}/drift"), "history page": web.get(f"{runner}/history")}
    for name, response in {**surfaces, **pages}.items():
        assert response.status_code == 200, name
        assert TYPED not in response.get_data(as_text=True), name
    shown = by_key(surfaces["template"].json, "call")["actionConfig"]["headers"]
    assert shown == {"Authorization": MASK, "X-Api-Key": MASK, "Accept": "json"}
    attempt = by_key(reload(firm.api, instance["id"]), "call")["attempts"][0]
    assert attempt["inputs"]["headers"]["Authorization"] == MASK
    assert MASK in json.dumps(surfaces["drift"].json, ensure_ascii=False)
    assert edit.status_code == 200, edit.json


def test_sending_the_mask_back_is_refused_in_plain_words(firm):
    config = {"method": "POST", "url": "https://crm.example.com/x", "headers": {}}
    config["headers"]["Authorization"] = f"Bearer {TYPED}"
    template_id = publish(firm.api, "Typed", [step("call", "core.http", config=config)])
    shown = firm.api.get(f"/templates/{template_id}").json
    steps = [{k: v for k, v in s.items() if k not in ("id", "order")} for s in shown["steps"]]
    created = firm.api.post("/templates", json={"name": "Copy", "steps": steps})
    assert created.status_code == 422
    assert "Admin → Secrets" in json.dumps(created.json, ensure_ascii=False)
    assert firm.api.get("/templates").json["total"] == 1  # nothing was created


def test_the_builder_inspector_tells_people_to_use_a_secret(firm, login_as):
    config = {"method": "POST", "url": "https://crm.example.com/x"}
    body = {"name": "Draft", "steps": [step("call", "core.http", config=config)]}
    draft = firm.api.post("/templates", json=body).json
    step_id = draft["steps"][0]["id"]
    page = login_as(firm.lawyer).get(f"/workflows/templates/{draft['id']}?step={step_id}")
    assert page.status_code == 200
    assert "Write a credential as {{ secrets.NAME }}" in page.get_data(as_text=True)
