from webapp.engine.actions.base import ActionHandler
from webapp.engine.errors import UnknownActionType

_HANDLERS: dict[str, ActionHandler] = {}

# What every handler declares for the catalog; a handler missing one is refused at
# start-up rather than shown half-described.
DECLARED = ("type", "category", "label", "description", "example")


def register(cls: type[ActionHandler]) -> type[ActionHandler]:
    missing = [name for name in DECLARED if not getattr(cls, name, None)]
    if missing:
        raise TypeError(f"{cls.__name__} must declare {', '.join(missing)}.")
    _HANDLERS[cls.type] = cls()
    return cls


def get_handler(action_type: str) -> ActionHandler:
    try:
        return _HANDLERS[action_type]
    except KeyError:
        known = ", ".join(sorted(_HANDLERS))
        raise UnknownActionType(
            f"Unknown action type {action_type!r}. Known types: {known}.",
            {"actionType": action_type},
        ) from None


def all_handlers() -> list[ActionHandler]:
    return [_HANDLERS[key] for key in sorted(_HANDLERS)]


def human_types() -> list[str]:
    return [h.type for h in all_handlers() if not h.automated]


def automated_types() -> frozenset[str]:
    return frozenset(h.type for h in _HANDLERS.values() if h.automated)
