"""The step graph and readiness, on plain values: no app, no database."""

from dataclasses import dataclass

import pytest

from webapp.engine.graph import Graph, find_problems
from webapp.engine.progress import Move, Progress, Tally, current_order, derived_status, status_of
from webapp.engine.states import InstanceStatus


@dataclass
class Step:
    key: str
    order: int
    depends_on: list[str] | None = None
    on_failure: str | None = None
    action_state: str = "PENDING"
    action_type: str = "CHECKLIST"
    required: bool = True


def chain(*specs: tuple) -> list[Step]:
    return [Step(key, i + 1, *rest) for i, (key, *rest) in enumerate(specs)]


def moves(steps: list[Step]) -> dict[str, Move]:
    return {d.step.key: d.move for d in Progress(steps).next_moves()}


def test_null_depends_on_means_previous_step_when_resolving_prerequisites():
    steps = chain(("a",), ("b",), ("c", []), ("d", ["a", "c"]))
    graph = Graph(steps)
    assert graph.prerequisites == {"a": [], "b": ["a"], "c": [], "d": ["a", "c"]}


def test_join_waits_for_every_branch_when_fanning_in():
    a, b, c, d = chain(("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"]))
    assert moves([a, b, c, d]) == {"a": Move.ACTIVATE}
    a.action_state = "COMPLETED"
    assert moves([a, b, c, d]) == {"b": Move.ACTIVATE, "c": Move.ACTIVATE}
    b.action_state, c.action_state = "COMPLETED", "IN_PROGRESS"
    assert moves([a, b, c, d]) == {}
    c.action_state = "COMPLETED"
    assert moves([a, b, c, d]) == {"d": Move.ACTIVATE}


def test_skipped_branch_counts_as_done_when_joining():
    a, b, c, d = chain(("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"]))
    a.action_state, b.action_state, c.action_state = "COMPLETED", "SKIPPED", "COMPLETED"
    assert moves([a, b, c, d]) == {"d": Move.ACTIVATE}


def test_handler_is_routed_to_when_its_source_fails():
    x, h, d = chain(("x", None, "h"), ("h",), ("d", ["x"]))
    x.action_state = "FAILED"
    assert moves([x, h, d]) == {"h": Move.ROUTE}


def test_dependents_of_a_routed_failure_wait_for_the_handler_when_it_runs():
    x, h, d = chain(("x", None, "h"), ("h",), ("d", ["x"]))
    x.action_state, h.action_state = "FAILED", "IN_PROGRESS"
    assert moves([x, h, d]) == {}
    h.action_state = "COMPLETED"
    assert moves([x, h, d]) == {"d": Move.ACTIVATE}


def test_handler_is_not_needed_when_its_source_completes():
    x, h, d = chain(("x", None, "h"), ("h",), ("d", ["x"]))
    x.action_state = "COMPLETED"
    assert moves([x, h, d]) == {"h": Move.NOT_NEEDED, "d": Move.ACTIVATE}


def test_handler_waits_when_one_of_its_sources_is_still_open():
    x, y, h = chain(("x", [], "h"), ("y", [], "h"), ("h",))
    x.action_state, y.action_state = "COMPLETED", "IN_PROGRESS"
    assert moves([x, y, h]) == {}


def test_routed_failure_does_not_fail_the_instance_when_a_handler_exists():
    x, h = chain(("x", None, "h"), ("h",))
    x.action_state, h.action_state = "FAILED", "READY"
    assert derived_status([x, h], frozenset()) == InstanceStatus.WAITING_FOR_INPUT
    h.action_state = "FAILED"
    assert derived_status([x, h], frozenset()) == InstanceStatus.FAILED


def test_problems_list_unknown_key_cycle_and_unreachable_step_when_all_occur():
    steps = chain(("a", ["ghost"]), ("b", ["c"]), ("c", ["b"]), ("d", ["c"]))
    problems = [(p.key, p.field, p.message) for p in find_problems(steps)]
    assert ("a", "dependsOn", "unknown step key 'ghost'") in problems
    assert ("b", "dependsOn", "step 'b' is part of a dependency cycle") in problems
    assert ("c", "dependsOn", "step 'c' is part of a dependency cycle") in problems
    assert any(key == "d" and "can never start" in message for key, _, message in problems)
    assert len(problems) == 4


def test_route_into_own_prerequisite_is_a_cycle_when_the_handler_feeds_its_source():
    steps = chain(("h", []), ("x", ["h"], "h"))
    problems = {(p.key, p.message) for p in find_problems(steps)}
    assert problems == {
        ("h", "step 'h' is part of a dependency cycle"),
        ("x", "step 'x' is part of a dependency cycle"),
    }


def test_handler_with_unrelated_prerequisite_is_reported_when_publishing():
    steps = chain(("a", []), ("x", [], "h"), ("h", ["a"]))
    problems = [(p.key, p.field) for p in find_problems(steps)]
    assert problems == [("h", "dependsOn")]


def test_self_reference_is_reported_when_a_step_depends_on_itself():
    problems = [p.message for p in find_problems(chain(("a", ["a"])))]
    assert problems == ["a step cannot depend on itself"]


def test_unknown_failure_route_is_reported_when_the_handler_is_missing():
    problems = [(p.field, p.message) for p in find_problems(chain(("a", [], "nope")))]
    assert problems == [("onFailure", "unknown step key 'nope'")]


def test_valid_graph_has_no_problems_when_branches_join():
    steps = chain(("a", []), ("b", ["a"]), ("c", ["a"], "h"), ("h",), ("d", ["b", "c"]))
    assert find_problems(steps) == []


@pytest.mark.parametrize("size", [5, 500])
def test_readiness_is_computed_in_one_pass_when_the_instance_is_long(size):
    steps = [Step(f"s{i}", i + 1, action_state="COMPLETED") for i in range(size)]
    steps[-1].action_state = "PENDING"
    assert moves(steps) == {f"s{size - 1}": Move.ACTIVATE}


def test_reads_names_the_dependents_their_prerequisites_and_failure_handlers_when_asked():
    steps = chain(("a", [], "fix"), ("b", ["a"]), ("c", ["a", "x"]), ("x", []), ("fix",), ("z",))
    progress = Progress(steps)
    assert progress.reads(["a"]) == {"b", "c", "a", "x", "fix"}
    assert progress.reads(["z"]) == set()


def test_next_moves_reads_states_only_through_step_of_when_given_a_bare_graph():
    steps = chain(("a", []), ("b", ["a"]), ("c", ["b"]))
    graph = Graph(steps)
    asked = []

    def step_of(key):
        asked.append(key)
        return graph.by_key[key]

    steps[0].action_state = "COMPLETED"
    decisions = Progress(graph=graph, step_of=step_of).next_moves(after=["a"])
    assert [(d.step.key, d.move) for d in decisions] == [("b", Move.ACTIVATE)]
    assert "c" not in asked


def test_status_and_current_step_come_from_counted_groups_when_steps_are_not_loaded():
    done = Tally("COMPLETED", "CHECKLIST", True, None, 250, 1, 250)
    waiting = Tally("PENDING", "CHECKLIST", True, None, 248, 252, 500)
    approval = Tally("READY", "APPROVAL_LAWYER", True, None, 1, 251, 251)
    skipped = Tally("SKIPPED", "core.echo", False, None, 1, 501, 501)
    assert status_of([done, waiting, approval, skipped], set(), frozenset({"core.echo"})) == (
        InstanceStatus.WAITING_FOR_APPROVAL
    )
    assert current_order([done, waiting, approval, skipped]) == 251
    assert current_order([done, skipped]) == 501
    assert status_of([done, skipped], set(), frozenset()) == InstanceStatus.COMPLETED
