"""Who acts follows the action: each action type declares its roles; the builder offers
only those, and the API, the instance editor and publishing refuse a mismatch in plain
words. An approval has one "Who approves" field. Friendly input is normalised."""

import re
from http import HTTPStatus
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select

from tests.integration.engine_support import step
from tests.integration.support import count
from webapp.engine.actions.catalog import CATEGORY_LABELS, catalog
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, TemplateStep, WorkflowInstance, WorkflowTemplate
from webapp.services.templates import create_template

PAYMENT_REFUSAL = "A client payment is made by the client: choose Client as who acts."


def _payment(**fields: Any) -> dict[str, Any]:
    config = fields.pop("config", {"amount": "500", "currency": "EUR"})
    return step("pay", "PAYMENT_CLIENT", config=config, **fields)


@pytest.fixture
def lawyer_web(demo, login_as) -> Any:
    return login_as(demo.user(Role.LAWYER))


@pytest.fixture
def draft(demo) -> WorkflowTemplate:
    checklist = StepDefinition(
        key="intake",
        title="Intake",
        action_type="CHECKLIST",
        action_config={"items": ["Call"]},
        role_scope=Role.PARALEGAL,
    )
    return create_template(demo.user(Role.LAWYER), "Roles", [checklist])


def _options(html: str, select_id: str) -> list[str]:
    block = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert block, select_id
    return re.findall(r'<option value="([^"]*)"', block.group(1))


# ---- the API ---------------------------------------------------------------------------------


def test_api_refuses_a_template_in_plain_words_when_a_lawyer_acts_on_a_client_payment(
    firm,
) -> None:
    before = count(WorkflowTemplate)
    response = firm.api.post(
        "/templates", json={"name": "Fees", "steps": [_payment(roleScope="LAWYER")]}
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json["error"]["message"] == PAYMENT_REFUSAL
    assert response.json["error"]["details"][0]["field"] == "roleScope"
    assert count(WorkflowTemplate) == before


def test_api_gives_the_action_its_role_when_who_acts_is_left_out(firm) -> None:
    response = firm.api.post("/templates", json={"name": "Fees", "steps": [_payment()]})
    assert response.status_code == HTTPStatus.CREATED, response.json
    assert response.json["steps"][0]["roleScope"] == "CLIENT"


@pytest.mark.parametrize(("role", "status"), [("ADMIN", 201), ("LAWYER", 201), ("CLIENT", 422)])
def test_api_accepts_only_lawyers_and_admins_when_an_approval_is_saved(firm, role, status) -> None:
    body = {"name": "Approve", "steps": [step("ok", "APPROVAL_LAWYER", roleScope=role)]}
    assert firm.api.post("/templates", json=body).status_code == status


def test_api_refuses_an_approval_when_approver_role_disagrees_with_who_approves(firm) -> None:
    approval = step("ok", "APPROVAL_LAWYER", roleScope="LAWYER", config={"approverRole": "ADMIN"})
    response = firm.api.post("/templates", json={"name": "Approve", "steps": [approval]})
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    detail = response.json["error"]["details"][0]
    assert detail["field"] == "actionConfig.approverRole"
    assert "Who approves is Lawyer" in detail["message"]


def test_api_takes_who_approves_from_approver_role_when_role_scope_is_left_out(firm) -> None:
    approval = step("ok", "APPROVAL_LAWYER", config={"approverRole": "ADMIN"})
    response = firm.api.post("/templates", json={"name": "Approve", "steps": [approval]})
    assert response.status_code == HTTPStatus.CREATED, response.json
    assert response.json["steps"][0]["roleScope"] == "ADMIN"


def test_publish_is_refused_in_plain_words_when_a_stored_step_has_the_wrong_role(
    demo, lawyer_web
) -> None:
    template = create_template(demo.user(Role.LAWYER), "Old fees", [])
    template.steps.append(
        TemplateStep(
            order=1,
            key="pay",
            title="Pay",
            action_type="PAYMENT_CLIENT",
            action_config={"amount": "5", "currency": "EUR"},
            role_scope="LAWYER",
            required=True,
        )
    )
    db.session.commit()
    response = lawyer_web.post(
        f"/workflows/templates/{template.id}/publish", data={"view": "builder"}, htmx=True
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert PAYMENT_REFUSAL in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(WorkflowTemplate, template.id).status == "DRAFT"


def test_instance_step_edits_refuse_a_role_the_action_does_not_allow(firm) -> None:
    created = firm.api.post(
        "/templates", json={"name": "Fees", "steps": [step("note"), _payment(dependsOn=[])]}
    ).json
    assert firm.api.post(f"/templates/{created['id']}/publish").status_code == 200
    instance = firm.api.post(
        f"/templates/{created['id']}/instantiate", json={"matterId": firm.matter.id}
    ).json
    pay = next(s for s in instance["steps"] if s["key"] == "pay")
    patched = firm.api.patch(
        f"/instances/{instance['id']}/steps/{pay['id']}", json={"roleScope": "PARALEGAL"}
    )
    assert patched.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "made by the client" in patched.json["error"]["message"]
    added = firm.api.post(
        f"/instances/{instance['id']}/steps",
        json=step("sign", "SIGNATURE_CLIENT", roleScope="LAWYER", config={"documentId": 1}),
    )
    assert added.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "signature is given by the client" in added.json["error"]["message"]
    db.session.expire_all()
    rows = db.session.scalars(
        select(InstanceStep).where(InstanceStep.instance_id == instance["id"])
    ).all()
    assert [(s.key, s.role_scope) for s in rows] == [("note", "LAWYER"), ("pay", "CLIENT")]


# ---- the builder -----------------------------------------------------------------------------


def test_builder_offers_only_the_actions_roles_when_who_acts_is_chosen(draft, lawyer_web) -> None:
    base = f"/workflows/templates/{draft.id}/add-form"
    payment = lawyer_web.get(f"{base}?action_type=PAYMENT_CLIENT", htmx=True).get_data(as_text=True)
    assert _options(payment, "add-role") == ["CLIENT"]
    approval = lawyer_web.get(f"{base}?action_type=APPROVAL_LAWYER", htmx=True).get_data(
        as_text=True
    )
    assert _options(approval, "add-role") == ["LAWYER", "ADMIN"]
    assert '<label for="add-role">Who approves</label>' in approval
    assert "approverRole" not in approval  # one field, not two
    checklist = lawyer_web.get(f"{base}?action_type=CHECKLIST", htmx=True).get_data(as_text=True)
    assert sorted(_options(checklist, "add-role")) == sorted(r.value for r in Role)


def test_builder_refuses_the_step_beside_the_form_when_who_acts_cannot_act(
    draft, lawyer_web
) -> None:
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps",
        data={
            "sections": ["basics", "type", "config"],
            "title": "Retainer",
            "action_type": "PAYMENT_CLIENT",
            "role_scope": "LAWYER",
            "config.amount": "500",
            "config.currency": "EUR",
        },
        htmx=True,
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert PAYMENT_REFUSAL in response.get_data(as_text=True)
    assert count(TemplateStep, TemplateStep.template_id == draft.id) == 1


def test_builder_moves_who_acts_to_the_new_actions_role_when_the_type_changes(
    draft, lawyer_web
) -> None:
    intake = draft.steps[0]
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/{intake.id}/settings",
        data={
            "sections": ["type", "config"],
            "action_type": "PAYMENT_CLIENT",
            "config.amount": "1.234,50",
            "config.currency": "eur",
        },
        htmx=True,
    )
    assert response.status_code == HTTPStatus.OK, response.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(TemplateStep, intake.id)
    assert saved.role_scope == "CLIENT"
    assert saved.action_config == {"amount": "1234.50", "currency": "EUR"}
    assert _options(response.get_data(as_text=True), f"step-{intake.id}-role") == ["CLIENT"]


def test_builder_keeps_who_acts_when_the_action_still_allows_it(draft, lawyer_web) -> None:
    intake = draft.steps[0]
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/{intake.id}/settings",
        data={"sections": ["type", "config"], "action_type": "CHECKLIST", "config.items": "A"},
        htmx=True,
    )
    assert response.status_code == HTTPStatus.OK
    db.session.expire_all()
    assert db.session.get(TemplateStep, intake.id).role_scope == "PARALEGAL"


def test_builder_accepts_friendly_amount_currency_and_due_date_when_a_step_is_added(
    draft, lawyer_web
) -> None:
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps",
        data={
            "sections": ["basics", "type", "config", "advanced"],
            "title": "Retainer",
            "action_type": "PAYMENT_CLIENT",
            "role_scope": "CLIENT",
            "config.amount": "500,00",
            "config.currency": "eur",
            "depends_mode": "previous",
            "due_in": "3 days",
        },
        htmx=True,
    )
    assert response.status_code == HTTPStatus.OK, response.get_data(as_text=True)
    added = db.session.scalar(
        select(TemplateStep).where(TemplateStep.template_id == draft.id, TemplateStep.order == 2)
    )
    assert added.action_config["amount"] == "500.00"
    assert added.action_config["currency"] == "EUR"
    assert added.due_in == "P3D"


def test_builder_explains_in_plain_words_when_the_due_date_is_not_a_duration(
    draft, lawyer_web
) -> None:
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps",
        data={
            "sections": ["basics", "type", "config", "advanced"],
            "title": "Call",
            "action_type": "CHECKLIST",
            "role_scope": "LAWYER",
            "config.items": "Call",
            "depends_mode": "previous",
            "due_in": "next week-ish",
        },
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "write it like 3 days, 2 weeks, 4 hours or P3D" in body
    assert count(TemplateStep, TemplateStep.template_id == draft.id) == 1


def test_api_normalises_friendly_input_when_a_template_and_a_delay_are_saved(firm) -> None:
    body = {
        "name": "Friendly",
        "steps": [
            _payment(config={"amount": "1 234,50", "currency": "usd"}, dueIn="2 weeks"),
            step("wait", "core.delay", config={"duration": "4 hours"}),
        ],
    }
    response = firm.api.post("/templates", json=body)
    assert response.status_code == HTTPStatus.CREATED, response.json
    pay, wait = response.json["steps"]
    assert pay["actionConfig"]["amount"] == "1234.50"
    assert pay["actionConfig"]["currency"] == "USD"
    assert pay["dueIn"] == "P14D"
    assert wait["actionConfig"]["duration"] == "PT4H"


def test_builder_groups_the_action_picker_by_catalog_category_when_shown(draft, lawyer_web) -> None:
    page = lawyer_web.get(f"/workflows/templates/{draft.id}").get_data(as_text=True)
    picker = re.search(r'<select id="add-type"[^>]*>(.*?)</select>', page, re.S).group(1)
    groups = dict(re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', picker, re.S))
    assert list(groups) == [
        "People",
        "Notifications",
        "Documents",
        "Integrations",
        "Flow control",
        "Data",
    ]
    for entry in catalog():
        group = groups[CATEGORY_LABELS[entry.category]]
        assert f'value="{entry.type}" title="{escape(entry.description)}"' in group
    assert 'value="core.http"' not in groups["People"]
    assert 'value="CHECKLIST"' not in groups["Integrations"]
    hint = re.search(r'<p class="hint" id="add-type-hint">([^<]*)</p>', page).group(1)
    assert hint.startswith("Tick every item to complete the step.")  # the chosen type's


def test_instance_editor_offers_only_the_actions_roles(demo, login_as) -> None:
    instance = db.session.scalar(select(WorkflowInstance))
    web = login_as(demo.user(Role.LAWYER))
    page = web.get(f"/matters/{demo.matter.id}/workflows/{instance.id}/edit").get_data(as_text=True)
    for row in instance.steps:
        if row.action_type == "APPROVAL_LAWYER":
            assert _options(page, f"step-{row.id}-role") == ["LAWYER", "ADMIN"]
        if row.action_type.endswith("_CLIENT"):
            assert _options(page, f"step-{row.id}-role") == ["CLIENT"]
