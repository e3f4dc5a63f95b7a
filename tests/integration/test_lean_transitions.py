"""A person's transition loads only the steps around the one that moved, and still
follows the instance's graph as it is now, after any edit."""

from http import HTTPStatus

import pytest
from sqlalchemy import event

from tests.integration.engine_support import by_key, fresh, make_firm, publish, start, states
from tests.integration.engine_support import step as step_body
from webapp.models import InstanceStep
from webapp.services import steps


@pytest.fixture
def firm(make_org, make_user, make_matter, api_as):
    return make_firm(make_org, make_user, make_matter, api_as)


def checklist(key, **fields):
    return step_body(key, "CHECKLIST", config={"items": ["done"]}, **fields)


def complete(firm, step_id):
    instance = steps.transition(firm.lawyer, step_id, "complete", {"checkedItems": ["done"]})
    instance_id = instance.id
    fresh()
    return firm.api.get(f"/instances/{instance_id}").json


class LoadedSteps:
    """Counts the step rows the ORM builds into objects."""

    def __init__(self):
        self.keys = []

    def __enter__(self):
        event.listen(InstanceStep, "load", self.record)
        return self

    def __exit__(self, *exc):
        event.remove(InstanceStep, "load", self.record)

    def record(self, target, _context):
        self.keys.append(target.key)


def test_completing_a_step_of_a_long_chain_loads_the_step_and_its_successor_only(firm):
    keys = [f"s{n:03}" for n in range(1, 121)]
    instance = start(
        firm.api, publish(firm.api, "Long", [checklist(k) for k in keys]), firm.matter.id
    )
    instance = complete(firm, by_key(instance, "s001")["id"])  # the first call builds the graph
    fresh()

    with LoadedSteps() as loaded:
        steps.transition(
            firm.lawyer, by_key(instance, "s002")["id"], "complete", {"checkedItems": ["done"]}
        )

    assert sorted(loaded.keys) == ["s002", "s003"]
    fresh()
    after = firm.api.get(f"/instances/{instance['id']}").json
    assert [after["currentStep"], after["status"]] == [3, "WaitingForInput"]
    assert states(after)["s003"] == "READY"
    assert list(states(after).values()).count("COMPLETED") == 2


def test_a_step_added_after_the_graph_was_read_becomes_ready_with_its_prerequisite(firm):
    template = publish(firm.api, "Edited", [checklist("a"), checklist("b"), checklist("c")])
    instance = start(firm.api, template, firm.matter.id)
    instance = complete(firm, by_key(instance, "a")["id"])  # the graph of a -> b -> c is kept
    definition = firm.api.get(f"/instances/{instance['id']}/definition").json["steps"]
    added = checklist("d", dependsOn=["b"], roleScope="LAWYER")
    response = firm.api.put(
        f"/instances/{instance['id']}/definition", json={"steps": [*definition, added]}
    )
    assert response.status_code == HTTPStatus.OK, response.json

    instance = complete(firm, by_key(instance, "b")["id"])

    assert states(instance) == {"a": "COMPLETED", "b": "COMPLETED", "c": "READY", "d": "READY"}


def test_the_instance_completes_when_its_last_step_does_in_a_fan_in(firm):
    template = publish(
        firm.api,
        "Join",
        [
            checklist("a", dependsOn=[]),
            checklist("b", dependsOn=[]),
            checklist("join", dependsOn=["a", "b"]),
            checklist("optional", dependsOn=[], required=False),
        ],
    )
    instance = start(firm.api, template, firm.matter.id)
    instance = complete(firm, by_key(instance, "a")["id"])
    assert states(instance)["join"] == "PENDING"
    instance = complete(firm, by_key(instance, "b")["id"])
    assert states(instance)["join"] == "READY"
    instance = complete(firm, by_key(instance, "join")["id"])

    assert instance["status"] == "Completed"
    assert states(instance)["optional"] == "READY"
    assert instance["currentStep"] == 4
