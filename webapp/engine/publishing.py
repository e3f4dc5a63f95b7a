"""Checks a template must pass before it is published. Every problem is listed at once,
each as {"step": 0-based index or null, "key", "field", "message"}: the builder shows
them beside the steps."""

import re
from collections.abc import Sequence
from typing import Any, Protocol

from webapp.engine import expressions, templating
from webapp.engine.actions import get_handler
from webapp.engine.definition import STEP_KEY_PATTERN
from webapp.engine.errors import DomainError, Unprocessable
from webapp.engine.expressions import check_expression
from webapp.engine.graph import find_problems
from webapp.engine.step_rows import role_problems, step_problems
from webapp.engine.templating import check_template, is_template, template_strings

Problem = dict[str, Any]


class TemplateStep(Protocol):
    """What publishing reads of a template's step (a row, or any record like it)."""

    @property
    def key(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def order(self) -> int: ...
    @property
    def action_type(self) -> str: ...
    @property
    def action_config(self) -> dict[str, Any] | None: ...
    @property
    def role_scope(self) -> str: ...
    @property
    def condition(self) -> str | None: ...
    @property
    def depends_on(self) -> list[str] | None: ...
    @property
    def on_failure(self) -> str | None: ...


_LOOKS_LIKE_A_KEY = re.compile(STEP_KEY_PATTERN)


def check_publishable(template_steps: Sequence[TemplateStep]) -> None:
    steps = sorted(template_steps, key=lambda s: s.order)
    if not steps:
        raise Unprocessable(
            "A template needs at least one step before it can be published.",
            [{"step": None, "key": None, "field": "steps", "message": "no steps"}],
        )
    problems = publish_problems(steps)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise Unprocessable(f"The template cannot be published: {count} to fix.", problems)


def publish_problems(steps: list[TemplateStep]) -> list[Problem]:
    problems: list[Problem] = []
    keys = {step.key for step in steps}
    for index, step in enumerate(steps):
        problems += _config_problems(index, step)
        problems += _expression_problems(index, step)
        problems += _template_problems(index, step)
        problems += _reference_problems(index, step, keys)
    problems += [
        {"step": p.index, "key": p.key, "field": p.field, "message": p.message}
        for p in find_problems(steps)
    ]
    return sorted(problems, key=lambda p: -1 if p["step"] is None else p["step"])


def _config_problems(index: int, step: TemplateStep) -> list[Problem]:
    try:
        handler = get_handler(step.action_type)
        config = handler.validate_config(step.action_config)
    except DomainError as error:
        field = "actionType" if error.code == "unknown_action_type" else "actionConfig"
        return step_problems(index, step.key, field, error)
    return [
        {"step": index, "key": step.key, **problem}
        for problem in role_problems(handler, step.role_scope, config)
    ]


def _expression_problems(index: int, step: TemplateStep) -> list[Problem]:
    if not step.condition:
        return []
    reason = check_expression(step.condition)
    if reason is None:
        return []
    return [{"step": index, "key": step.key, "field": "condition", "message": reason}]


def _template_problems(index: int, step: TemplateStep) -> list[Problem]:
    problems = []
    for field, text in _templates_of(step):
        reason = check_template(text)
        if reason is not None:
            problems.append({"step": index, "key": step.key, "field": field, "message": reason})
    return problems


def _templates_of(step: TemplateStep) -> list[tuple[str, str]]:
    texts = [("title", step.title)] if is_template(step.title) else []
    return texts + [
        (f"actionConfig.{path}", text) for path, text in template_strings(step.action_config)
    ]


def _reference_problems(index: int, step: TemplateStep, keys: set[str]) -> list[Problem]:
    """Step keys that a valid condition or template reads (`steps.review_a`,
    `steps["client-facts"]`) and that no step of the template has."""
    read: list[tuple[str, set[str]]] = []
    if step.condition and check_expression(step.condition) is None:
        read.append(("condition", expressions.step_references(step.condition)))
    for field, text in _templates_of(step):
        if check_template(text) is None:
            read.append((field, templating.step_references(text)))
    return [
        {"step": index, "key": step.key, "field": field, "message": f"unknown step key {ref!r}"}
        for field, refs in read
        for ref in sorted(refs - keys)
        if _LOOKS_LIKE_A_KEY.match(ref)  # `steps.__class__` is left to the sandbox's refusal
    ]
