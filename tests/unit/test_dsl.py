"""The template document's versions and paths (engine/dsl.py): a version-1 document is
upgraded to version 2, an unknown version is refused, and every problem is located by
its JSON path."""

import pytest

from webapp.engine.dsl import SCHEMA_VERSION, json_path, located, upgrade
from webapp.engine.errors import Unprocessable

V1 = {"schemaVersion": 1, "name": "Hold", "steps": [{"title": "A", "actionType": "CHECKLIST"}]}


def test_version_one_document_is_upgraded_to_two_with_no_triggers_when_read() -> None:
    upgraded = upgrade(V1)
    assert upgraded == {**V1, "schemaVersion": 2, "triggers": []}
    assert V1["schemaVersion"] == 1  # the caller's document is left as it was
    assert SCHEMA_VERSION == 2


def test_current_document_is_read_as_it_is_when_already_version_two() -> None:
    document = {**V1, "schemaVersion": 2, "triggers": []}
    assert upgrade(document) == document


@pytest.mark.parametrize("version", [True, "2", 2.0, None])
def test_version_that_is_not_a_whole_number_is_left_for_the_schema_when_read(version) -> None:
    document = {**V1, "schemaVersion": version}
    assert upgrade(document) == document


@pytest.mark.parametrize("version", [0, 3, 9, -1])
def test_unknown_version_is_refused_naming_schema_version_when_read(version) -> None:
    with pytest.raises(Unprocessable) as caught:
        upgrade({**V1, "schemaVersion": version})
    assert caught.value.message == (
        f"schemaVersion {version} is not supported (this server reads 1 and 2)."
    )
    assert [d["path"] for d in caught.value.details] == ["schemaVersion"]


def test_version_one_document_with_triggers_is_refused_naming_triggers_when_read() -> None:
    with pytest.raises(Unprocessable) as caught:
        upgrade({**V1, "triggers": [{"kind": "webhook"}]})
    assert [d["path"] for d in caught.value.details] == ["triggers"]


@pytest.mark.parametrize(
    ("parts", "path"),
    [
        (("steps", 3, "actionConfig", "items"), "steps[3].actionConfig.items"),
        (("steps", 0, "actionConfig", "items", 1), "steps[0].actionConfig.items[1]"),
        (
            ("steps", 2, "actionConfig", "headers", "X-Key"),
            'steps[2].actionConfig.headers["X-Key"]',
        ),
        (("name",), "name"),
        ((), "$"),
        (("a b", 'q"uote'), '["a b"]["q\\"uote"]'),
    ],
)
def test_json_path_names_lists_by_position_and_odd_keys_quoted(parts, path) -> None:
    assert json_path(parts) == path


def test_problem_rows_of_a_step_are_located_under_its_position_when_located() -> None:
    rows = [
        {"step": 3, "key": "docs", "field": "actionConfig.items.0", "message": "Enter a value."},
        {"step": 1, "key": "b", "field": "actionType", "message": "Unknown action type"},
        {"field": "name", "message": "Enter a name."},
        {"field": "(root)", "message": "Not valid."},
    ]
    assert [r["path"] for r in located(rows)] == [
        "steps[3].actionConfig.items[0]",
        "steps[1].actionType",
        "name",
        "$",
    ]
    assert located(None) is None and located({"a": 1}) == {"a": 1}


@pytest.mark.parametrize("value", [[], {}, None, ""])
def test_version_one_document_keeps_an_empty_triggers_value_for_the_schema_to_judge(value):
    assert upgrade({**V1, "triggers": value})["triggers"] == value
