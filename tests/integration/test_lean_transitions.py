"""A person's transition loads only the steps around the one that moved, and still
follows the instance's graph as it is now, after any edit."""

from http import HTTPStatus

from sqlalchemy import event

from tests.integration.engine_support import by_key, fresh, publish, start, states
from tests.integration.engine_support import step as step_body
from webapp.models import InstanceStep
from webapp.services import steps


def checklist(key, **fields):
    return step_body(key, "CHECKLIST", config={"items": ["done"]}, **fields)


def complete(firm, step_id):
    changed = steps.perform(firm.lawyer, step_id, steps.Complete({"checkedItems": ["done"]}))
    instance_id = changed.instance_id
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
        steps.perform(
            firm.lawyer, by_key(instance, "s002")["id"], steps.Complete({"checkedItems": ["done"]})
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


def snapshot(firm, instance_id):
    fresh()
    body = firm.api.get(f"/instances/{instance_id}").json
    titles = {s["key"]: s["title"] for s in body["steps"]}
    return body["status"], body["currentStep"], states(body), body["stepData"], titles


def test_the_lean_path_and_the_full_one_agree_after_every_move_in_a_mixed_graph(firm):
    template = publish(
        firm.api,
        "Mixed",
        [
            checklist("a", dependsOn=[]),
            checklist("b", dependsOn=["a"]),
            checklist("c", dependsOn=["a"], required=False),
            checklist("d", dependsOn=["b", "c"]),
            checklist("x", dependsOn=[], onFailure="fix"),
            checklist("fix", dependsOn=[]),
            step_body("approve", "APPROVAL_LAWYER", config={}, dependsOn=["d", "x"]),
            checklist(
                "after",
                title="Letter for {{ matter.reference }}: {{ steps.approve.comment }}",
                dependsOn=["approve"],
                condition="steps.approve.approved == true",
                required=False,
            ),
            checklist("declined", dependsOn=["approve"], condition="!steps.approve.approved"),
        ],
    )
    lean, full = (start(firm.api, template, firm.matter.id) for _ in range(2))
    moves = [
        ("a", steps.Complete({"checkedItems": ["done"]})),
        ("c", steps.Skip()),
        ("x", steps.Fail("The registry was closed.")),
        ("b", steps.Complete({"checkedItems": ["done"]})),
        ("fix", steps.Complete({"checkedItems": ["done"]})),
        ("d", steps.Complete({"checkedItems": ["done"]})),
        ("approve", steps.Complete({"approved": True, "comment": "engaged"})),
    ]
    seen = []
    for key, command in moves:
        for instance, with_steps in ((lean, False), (full, True)):
            steps.perform(firm.lawyer, by_key(instance, key)["id"], command, with_steps=with_steps)
        assert snapshot(firm, lean["id"]) == snapshot(firm, full["id"]), f"after {key}"
        seen.append(snapshot(firm, lean["id"])[:2])

    assert seen[1] == ("WaitingForInput", 2)  # b is the first step not done
    assert seen[-1] == ("Completed", 5)  # x failed (routed to fix): the first step not done
    *_, final, outputs, titles = snapshot(firm, lean["id"])
    assert (final["after"], final["declined"]) == ("READY", "SKIPPED")
    assert titles["after"] == f"Letter for {firm.matter.reference}: engaged"
    assert outputs["x"] == {"error": "The registry was closed."}
    assert outputs["approve"]["approved"] is True
    assert set(outputs) == {"a", "b", "x", "fix", "d", "approve"}
