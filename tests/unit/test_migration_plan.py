"""engine.migration.plan: which definition a running instance gets on a new version, what
it says changes and what it says blocks, from plain definitions and step states."""

from typing import Any

import pytest

from webapp.engine.migration import CurrentStep, plan, prerequisites


def approval(key: str, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "title": fields.pop("title", key.upper()),
        "actionType": "APPROVAL_LAWYER",
        "actionConfig": {"message": "ok?"},
        "roleScope": "LAWYER",
        "required": True,
        "dependsOn": fields.pop("dependsOn", None),
        "condition": fields.pop("condition", None),
        "onFailure": None,
        "retry": None,
        "dueIn": None,
    }


def current(states: dict[str, str], **edited: dict[str, Any]) -> list[CurrentStep]:
    return [CurrentStep(edited.get(key) or approval(key), state) for key, state in states.items()]


ABC = [approval("a"), approval("b"), approval("c")]
DONE_A = {"a": "COMPLETED", "b": "READY", "c": "PENDING"}


@pytest.mark.parametrize(
    ("name", "new", "states", "allowed", "kinds", "order"),
    [
        ("added ahead", [*ABC, approval("d")], DONE_A, True, ["added"], "abcd"),
        ("removed pending", ABC[:2], DONE_A, True, ["removed"], "ab"),
        ("removed done", ABC[1:], DONE_A, False, ["removed"], "bc"),
        (
            "changed ready",
            [ABC[0], approval("b", title="New"), ABC[2]],
            DONE_A,
            False,
            ["changed"],
            "abc",
        ),
        (
            "reordered pending",
            [ABC[0], ABC[1], approval("d"), ABC[2]],
            DONE_A,
            True,
            ["added"],
            "abdc",
        ),
        ("moved done", [ABC[1], ABC[0], ABC[2]], DONE_A, False, ["reordered"], "bac"),
        (
            "inserted before ready",
            [ABC[0], approval("x"), *ABC[1:]],
            DONE_A,
            False,
            ["added"],
            "axbc",
        ),
        (
            "unknown prerequisite",
            [*ABC[:2], approval("c", dependsOn=["zz"])],
            DONE_A,
            False,
            ["changed"],
            "abc",
        ),
    ],
)
def test_plan_matches_steps_by_key_and_blocks_only_reached_steps_when_versions_differ(
    name, new, states, allowed, kinds, order
):
    result = plan(ABC, new, current(states))
    assert result.allowed is allowed, [b.sentence for b in result.blockers]
    assert set(kinds) <= {c.kind for c in result.changes}
    assert "".join(d["key"] for d in result.result) == order
    assert all(b.sentence.endswith(".") for b in result.blockers)


def test_plan_keeps_an_own_edit_the_new_version_leaves_alone_and_replaces_one_it_changes():
    mine = {"b": approval("b", title="Mine B"), "c": approval("c", title="Mine C")}
    new = [ABC[0], ABC[1], approval("c", title="Theirs C")]
    result = plan(ABC, new, current({"a": "COMPLETED", "b": "PENDING", "c": "PENDING"}, **mine))
    titles = {d["key"]: d["title"] for d in result.result}
    assert titles == {"a": "A", "b": "Mine B", "c": "Theirs C"}
    assert {c.kind for c in result.changes} == {"edit_kept", "edit_overwritten"}
    assert result.changed_keys == ["c"]


def test_plan_keeps_the_instances_own_step_after_the_step_it_followed():
    states = {"a": "COMPLETED", "mine": "PENDING", "b": "READY", "c": "PENDING"}
    result = plan(ABC, [*ABC, approval("d")], current(states))
    assert [d["key"] for d in result.result] == ["a", "mine", "b", "c", "d"]
    assert "own_step_kept" in {c.kind for c in result.changes}


def test_prerequisites_read_null_as_the_previous_step():
    steps = [
        approval("a"),
        approval("b"),
        approval("c", dependsOn=["a"]),
        approval("d", dependsOn=[]),
    ]
    assert prerequisites(steps) == {"a": [], "b": ["a"], "c": ["a"], "d": []}
