"""Action types. Importing this package registers every handler."""

from webapp.engine.actions import automations, human  # noqa: F401  (registers handlers)
from webapp.engine.actions.base import ActionContext, ActionHandler, Outcome
from webapp.engine.actions.registry import all_handlers, automated_types, get_handler, register

__all__ = [
    "ActionContext",
    "ActionHandler",
    "Outcome",
    "all_handlers",
    "automated_types",
    "get_handler",
    "register",
]
