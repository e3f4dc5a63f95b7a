"""The buttons a page offers and the guard of the step door come from one table: for
every role, step state and kind of step, every act the runner offers is accepted by
`perform`, and every act `perform` accepts is offered (a hypothesis property, run on
real rows through the real door)."""

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from tests.integration.engine_support import fresh, publish, start
from tests.integration.engine_support import step as step_body
from webapp.engine.errors import DomainError
from webapp.engine.permissions import OFFERED, Act
from webapp.engine.roles import Role
from webapp.engine.states import InstanceStatus, StepState
from webapp.extensions import db
from webapp.models import DocumentSource, InstanceStep, WorkflowInstance
from webapp.services import steps
from webapp.services.documents import file_document
from webapp.web.reads import runner as reads

PDF = steps.IncomingFile("letter.pdf", "application/pdf", b"%PDF-1.4\n")
KINDS = {
    "checklist_lawyer": step_body(
        "checklist_lawyer", "CHECKLIST", config={"items": ["a", "b"]}, roleScope=Role.LAWYER
    ),
    "checklist_paralegal": step_body(
        "checklist_paralegal", "CHECKLIST", config={"items": ["a"]}, roleScope=Role.PARALEGAL
    ),
    "checklist_admin": step_body(
        "checklist_admin", "CHECKLIST", config={"items": ["a"]}, roleScope=Role.ADMIN
    ),
    "approval": step_body("approval", "APPROVAL_LAWYER", config={}, roleScope=Role.LAWYER),
    "upload": step_body(
        "upload", "REQUEST_DOC_CLIENT", config={"requestText": "Your ID"}, roleScope=Role.CLIENT
    ),
    "signature": step_body(
        "signature", "SIGNATURE_CLIENT", config={"documentId": 1}, roleScope=Role.CLIENT
    ),
    "payment": step_body(
        "payment",
        "PAYMENT_CLIENT",
        config={"amount": "100.00", "currency": "EUR"},
        roleScope=Role.CLIENT,
    ),
    "echo": step_body("echo", "core.echo", roleScope=Role.ADMIN),
}
PEOPLE = ("admin", "owner", "lawyer", "paralegal", "client", "outsider")
# Drawn mostly where something can happen: open steps of a running workflow.
STATUSES = (
    InstanceStatus.RUNNING,
    InstanceStatus.WAITING_FOR_INPUT,
    InstanceStatus.RUNNING,
    InstanceStatus.PAUSED,
    InstanceStatus.CANCELLED,
)
OPEN = (StepState.READY, StepState.IN_PROGRESS, StepState.BLOCKED)
STATES = (*OPEN, *OPEN, *OPEN, *StepState)


@pytest.fixture
def world(make_org, make_user, make_matter, api_as) -> dict[str, Any]:
    org = make_org("Agreement Firm")
    people = {
        "admin": make_user(org, Role.ADMIN),
        "owner": make_user(org, Role.LAWYER),
        "lawyer": make_user(org, Role.LAWYER),
        "paralegal": make_user(org, Role.PARALEGAL),
        "client": make_user(org, Role.CLIENT),
        "outsider": make_user(org, Role.LAWYER),
    }
    matter = make_matter(people["owner"], people["lawyer"], people["paralegal"], people["client"])
    # The signature signs a real document of the matter: starting it looks the document up.
    letter = file_document(
        org_id=org.id,
        matter_id=matter.id,
        name="letter.pdf",
        data=b"%PDF-1.4\n",
        content_type="application/pdf",
        source=DocumentSource.UPLOAD,
    )
    db.session.commit()
    configs = {kind: dict(definition["actionConfig"]) for kind, definition in KINDS.items()}
    configs["signature"] = {"documentId": letter.id}
    api = api_as(people["owner"])
    body = [
        {**definition, "actionConfig": configs[kind], "required": True}
        for kind, definition in KINDS.items()
    ]
    instance = start(api, publish(api, "Every kind", body), matter.id)
    ids = {s["key"]: s["id"] for s in instance["steps"]}
    return {
        "people": people,
        "matter": matter,
        "instance_id": instance["id"],
        "ids": ids,
        "configs": configs,
    }


situations = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(sorted(KINDS)),
        "state": st.sampled_from(STATES),
        "status": st.sampled_from(STATUSES),
        "required": st.booleans(),
        "assigned": st.sampled_from((None, None, None, *PEOPLE[:5])),
        "claimed": st.sampled_from((None, None, None, *PEOPLE[:5])),
        "approver_role": st.sampled_from((None, Role.ADMIN, Role.LAWYER)),
        "actor": st.sampled_from((*PEOPLE, "owner", "client", "client", "paralegal")),
    }
)


def arrange(world: dict[str, Any], situation: dict[str, Any]) -> int:
    """Put the step and its instance in the drawn situation, directly in the rows."""
    people, step_id = world["people"], world["ids"][situation["kind"]]
    config = dict(world["configs"][situation["kind"]])
    if situation["kind"] == "approval" and situation["approver_role"]:
        config["approverRole"] = situation["approver_role"]
    who = {name: (people[name].id if name else None) for name in (None, *PEOPLE)}
    db.session.execute(
        update(InstanceStep)
        .where(InstanceStep.id == step_id)
        .values(
            action_state=situation["state"],
            required=situation["required"],
            assigned_to_id=who[situation["assigned"]],
            claimed_by_id=who[situation["claimed"]],
            action_config=config,
            action_data={},
            external_ref=f"sbx_ref_{step_id}",
        )
    )
    db.session.execute(
        update(WorkflowInstance)
        .where(WorkflowInstance.id == world["instance_id"])
        .values(status=situation["status"])
    )
    fresh()
    return step_id


def offered(world: dict[str, Any], actor: Any, step_id: int) -> set[str]:
    """What the runner page shows this person on this step."""
    try:
        view = reads.runner_view(
            actor, world["matter"].id, world["instance_id"], expanded=reads.ALL_STATES
        )
    except DomainError:
        return set()
    cards = [card for group in view.groups for card in group.cards]
    return next((set(card.events) for card in cards if card.step.id == step_id), set())


def command_for(act: Act, kind: str) -> steps.Command:
    items = KINDS[kind]["actionConfig"].get("items", [])
    payload = {"checkedItems": items} if items else {"approved": True}
    return {
        Act.CLAIM: steps.Claim(),
        Act.START: steps.Start(),
        Act.COMPLETE: steps.Complete(payload),
        Act.TICK: steps.Tick(items[0] if items else "a", True),
        Act.UPLOAD: steps.Upload([PDF]),
        Act.ADD_FILE: steps.AddFile([PDF]),
        Act.FAIL: steps.Fail("The court is closed."),
        Act.BLOCK: steps.Block("Waiting on the registry."),
        Act.UNBLOCK: steps.Unblock(),
        Act.SKIP: steps.Skip("Not needed."),
        Act.ASSIGN: steps.Assign(None),
    }[act]


def accepted(world: dict[str, Any], situation: dict[str, Any], actor: Any) -> set[str]:
    acts = set()
    for act in OFFERED:
        step_id = arrange(world, situation)
        try:
            steps.perform(actor, step_id, command_for(act, situation["kind"]))
        except DomainError:
            fresh()
            continue
        acts.add(act.value)
    return acts


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(situation=situations)
def test_the_page_offers_exactly_what_the_door_accepts_for_every_role_state_and_kind(
    world, situation
):
    actor = world["people"][situation["actor"]]
    step_id = arrange(world, situation)
    shown = offered(world, actor, step_id)

    assert shown == accepted(world, situation, actor), situation


def test_a_ready_approval_narrowed_to_admins_is_offered_to_and_accepted_from_admins_only(world):
    situation = {
        "kind": "approval",
        "state": StepState.READY,
        "status": InstanceStatus.RUNNING,
        "required": True,
        "assigned": None,
        "claimed": None,
        "approver_role": Role.ADMIN,
    }
    admin, owner = world["people"]["admin"], world["people"]["owner"]
    step_id = arrange(world, situation)

    assert "complete" in offered(world, admin, step_id)
    assert "complete" not in offered(world, owner, step_id)
    with pytest.raises(DomainError, match="administrator"):
        steps.perform(owner, step_id, steps.Complete({"approved": True}))
    step_id = arrange(world, situation)
    steps.perform(admin, step_id, steps.Complete({"approved": True}))
    assert db.session.get(InstanceStep, step_id).action_state == StepState.COMPLETED
