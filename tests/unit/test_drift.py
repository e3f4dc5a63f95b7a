"""The pure comparison behind drift and the instance history."""

import pytest

from webapp.engine.drift import compare, relative_order_changed, step_changes


def step(key: str, **fields) -> dict:
    return {
        "key": key,
        "title": key.title(),
        "actionType": "CHECKLIST",
        "actionConfig": {"items": ["a"]},
        "roleScope": "PARALEGAL",
        "required": True,
        "dependsOn": None,
        "condition": None,
        "onFailure": None,
        "retry": None,
        "dueIn": None,
        **fields,
    }


BASE = [step("intake"), step("review"), step("sign")]
TITLE = {"title": "Onboarding"}


def test_compare_finds_no_drift_when_the_definitions_are_equal() -> None:
    result = compare(BASE, [dict(s) for s in BASE], TITLE, dict(TITLE))
    assert not result.is_drifted
    assert (result.steps_added, result.steps_removed, result.steps_modified) == ([], [], [])


def test_compare_lists_an_added_step_without_calling_it_a_reorder_when_one_is_inserted() -> None:
    result = compare(BASE, [BASE[0], step("conflicts"), BASE[1], BASE[2]], TITLE, TITLE)
    assert result.steps_added == ["conflicts"]
    assert not result.steps_reordered
    assert result.is_drifted


def test_compare_lists_a_removed_step_without_calling_it_a_reorder_when_one_is_dropped() -> None:
    result = compare(BASE, [BASE[0], BASE[2]], TITLE, TITLE)
    assert result.steps_removed == ["review"]
    assert not result.steps_reordered


def test_compare_reports_a_reorder_when_two_steps_swap() -> None:
    result = compare(BASE, [BASE[1], BASE[0], BASE[2]], TITLE, TITLE)
    assert result.steps_reordered
    assert result.order_before == ["intake", "review", "sign"]
    assert result.order_after == ["review", "intake", "sign"]
    assert (result.steps_added, result.steps_removed, result.steps_modified) == ([], [], [])


def test_compare_names_the_changed_fields_with_both_values_when_a_step_is_edited() -> None:
    edited = step("review", title="Partner review", roleScope="LAWYER")
    result = compare(BASE, [BASE[0], edited, BASE[2]], TITLE, TITLE)
    [change] = result.steps_modified
    assert change.key == "review"
    assert change.fields == ["title", "roleScope"]
    assert change.changes["roleScope"] == {"from": "PARALEGAL", "to": "LAWYER"}


def test_compare_ignores_runtime_state_when_only_it_differs() -> None:
    running = [{**s, "actionState": "COMPLETED", "actionData": {"x": 1}, "id": 9} for s in BASE]
    assert not compare(BASE, running, TITLE, TITLE).is_drifted


@pytest.mark.parametrize(
    ("before", "after"),
    [({"condition": ""}, {"condition": None}), ({"actionConfig": None}, {"actionConfig": {}})],
)
def test_step_changes_treats_empty_and_missing_alike_when_comparing(before, after) -> None:
    assert step_changes(step("a", **before), step("a", **after)) == {}


def test_compare_reports_the_title_when_the_metadata_changes() -> None:
    result = compare(BASE, BASE, TITLE, {"title": "Onboarding (Acme)"})
    assert result.metadata_changed
    assert result.metadata_changes == {"title": {"from": "Onboarding", "to": "Onboarding (Acme)"}}
    assert result.is_drifted


def test_compare_reports_every_kind_of_change_at_once_when_several_happen() -> None:
    current = [step("sign"), step("intake", required=False), step("archive")]
    result = compare(BASE, current, TITLE, TITLE)
    assert result.steps_added == ["archive"]
    assert result.steps_removed == ["review"]
    assert result.steps_reordered
    assert [c.key for c in result.steps_modified] == ["intake"]


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        (["a", "b", "c"], ["a", "b", "c"], False),
        (["a", "b", "c"], ["a", "x", "b", "c"], False),
        (["a", "b", "c"], ["a", "c"], False),
        (["a", "b", "c"], ["b", "a", "c"], True),
        (["a", "b", "c"], ["x", "c", "b"], True),
    ],
)
def test_relative_order_changes_only_when_common_steps_swap(before, after, changed) -> None:
    assert relative_order_changed(before, after) is changed
