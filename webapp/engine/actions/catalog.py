"""The action catalog: every registered action type described for people and programs —
the API's `GET /actions`, the builder's action picker and the action reference in
docs/actions.md all read it, so a new handler appears in each by registering."""

from dataclasses import dataclass
from typing import Any

from webapp.engine.actions.base import ActionHandler, Category
from webapp.engine.actions.registry import all_handlers

# How each category is named where people choose an action, in the order shown.
CATEGORY_LABELS: dict[Category, str] = {
    Category.HUMAN: "People",
    Category.NOTIFICATION: "Notifications",
    Category.DOCUMENT: "Documents",
    Category.INTEGRATION: "Integrations",
    Category.CONTROL: "Flow control",
    Category.DATA: "Data",
}
CATEGORY_ORDER = tuple(CATEGORY_LABELS)


@dataclass(frozen=True)
class CatalogEntry:
    type: str
    category: Category
    label: str
    description: str
    automated: bool
    config_schema: dict[str, Any]
    example: dict[str, Any]
    roles: tuple[str, ...]  # who may act on it; none for automations

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category]


def entry_of(handler: ActionHandler) -> CatalogEntry:
    return CatalogEntry(
        type=handler.type,
        category=handler.category,
        label=handler.label,
        description=handler.description,
        automated=handler.automated,
        config_schema=handler.config_schema(),
        example=dict(handler.example),
        roles=tuple(str(role) for role in handler.roles),
    )


def ordered_handlers(category: Category | None = None) -> list[ActionHandler]:
    """Every handler (or one category's), by category and then by label: the order the
    catalog lists them and the pickers offer them in."""
    handlers = [h for h in all_handlers() if category is None or h.category == category]
    return sorted(handlers, key=lambda h: (CATEGORY_ORDER.index(h.category), h.label.lower()))


def catalog(category: Category | None = None) -> list[CatalogEntry]:
    return [entry_of(h) for h in ordered_handlers(category)]


def grouped() -> list[tuple[Category, list[CatalogEntry]]]:
    """The catalog by category, in the order shown, leaving out categories no type has."""
    entries = catalog()
    groups = [(c, [e for e in entries if e.category == c]) for c in CATEGORY_ORDER]
    return [(c, members) for c, members in groups if members]
