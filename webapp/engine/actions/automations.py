"""The automated action types, run by the worker."""

from webapp.engine.actions import delay, echo, http, mail, render, slack, subworkflow

__all__ = ["delay", "echo", "http", "mail", "render", "slack", "subworkflow"]
