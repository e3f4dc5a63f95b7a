"""The action catalog: what every handler declares, its example checked against its own
config model and JSON Schema, the order it is offered in, and the action reference in
docs/actions.md kept equal to what the catalog writes."""

from pathlib import Path

import jsonschema_rs
import pytest

from webapp.engine.actions import all_handlers, get_handler, registry
from webapp.engine.actions.base import ActionConfig, ActionHandler, Category
from webapp.engine.actions.catalog import CATEGORY_ORDER, catalog, grouped
from webapp.engine.actions.reference import action_reference
from webapp.engine.errors import UnknownActionType

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "actions.md"
TYPES = [handler.type for handler in all_handlers()]


@pytest.mark.parametrize("action_type", TYPES)
def test_every_handler_declares_what_the_catalog_shows_when_registered(action_type) -> None:
    handler = get_handler(action_type)
    assert isinstance(handler.category, Category)
    assert handler.label.strip() and handler.description.strip().endswith(".")
    assert handler.example, "an example config"
    assert handler.automated == (handler.category != Category.HUMAN)


@pytest.mark.parametrize("action_type", TYPES)
def test_example_is_valid_for_its_own_config_and_json_schema_when_checked(action_type) -> None:
    handler = get_handler(action_type)
    handler.validate_config(handler.example)  # raises Unprocessable when it is not
    validator = jsonschema_rs.validator_for(handler.config_schema())
    problems = [error.message for error in validator.iter_errors(handler.example)]
    assert problems == []


@pytest.mark.parametrize("action_type", TYPES)
def test_config_schema_refuses_an_unknown_field_as_the_model_does_when_checked(
    action_type,
) -> None:
    handler = get_handler(action_type)
    bad = {**handler.example, "unexpected": 1}
    assert not jsonschema_rs.validator_for(handler.config_schema()).is_valid(bad)


def test_catalog_lists_every_type_by_category_people_first_when_asked() -> None:
    entries = catalog()
    assert sorted(e.type for e in entries) == sorted(TYPES)
    positions = [CATEGORY_ORDER.index(e.category) for e in entries]
    assert positions == sorted(positions)
    assert entries[0].category == Category.HUMAN
    assert [e.type for e in catalog(Category.CONTROL)] == ["core.delay", "core.subworkflow"]
    http = next(e for e in entries if e.type == "core.http")
    assert http.config_schema == get_handler("core.http").config_schema()
    assert http.roles == () and "LAWYER" in next(e for e in entries if e.type == "CHECKLIST").roles
    assert [c for c, _ in grouped()] == [c for c in CATEGORY_ORDER if catalog(c)]


class HalfDescribed(ActionHandler):
    type = "test.half"
    label = "Half described"
    Config = ActionConfig


def test_registry_refuses_a_handler_without_category_or_example_when_registering() -> None:
    with pytest.raises(TypeError) as caught:
        registry.register(HalfDescribed)
    assert str(caught.value) == "HalfDescribed must declare category, description, example."
    with pytest.raises(UnknownActionType):
        get_handler("test.half")


def test_action_reference_in_docs_is_what_the_catalog_writes_when_compared() -> None:
    # After changing a handler: flask --app webapp actions-reference
    assert REFERENCE.read_text(encoding="utf-8") == action_reference()


def test_action_reference_describes_every_type_with_its_fields_and_example() -> None:
    text = action_reference()
    for entry in catalog():
        section = text.split(f"### {entry.label} `{entry.type}`", 1)[1].split("\n### ", 1)[0]
        assert entry.description in section
        for name in entry.config_schema.get("properties", {}):
            assert f"| `{name}` |" in section
        assert "```json" in section
    assert "| `items` | list of string | yes |" in text
    assert "*Deprecated.* Who approves" in text
