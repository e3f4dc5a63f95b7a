"""Turning step definitions into rows and rows back into definitions, for templates
and instances alike."""

from typing import Any

from webapp.engine.actions import get_handler
from webapp.engine.definition import StepDefinition, assign_keys
from webapp.engine.errors import DomainError, Unprocessable

STEP_FIELDS = (
    "key",
    "title",
    "action_type",
    "action_config",
    "role_scope",
    "required",
    "depends_on",
    "condition",
    "on_failure",
    "retry",
    "due_in",
)


def validated_steps(
    steps: list[StepDefinition], known_keys: frozenset[str] = frozenset(), check_refs: bool = True
) -> list[dict[str, Any]]:
    """Row values for each step, in order; every problem is reported at once.
    `known_keys` are the keys of steps already there (adding one step to an instance).
    A template draft may name steps that do not exist yet (`check_refs=False`):
    publishing checks the whole graph (services/validation.py)."""
    steps = assign_keys(steps, known_keys)
    problems: list[dict[str, Any]] = []
    rows = []
    keys = [s.key for s in steps] + sorted(known_keys)
    for index, step in enumerate(steps):
        duplicates = keys.count(step.key) > 1
        if duplicates:
            problems.append(
                {
                    "step": index,
                    "key": step.key,
                    "field": "key",
                    "message": f"duplicate key {step.key!r}",
                }
            )
        try:
            config = get_handler(step.action_type).validate_config(step.action_config)
        except DomainError as error:
            problems.extend(step_problems(index, step.key, "actionConfig", error))
            config = step.action_config
        refs = [*(step.depends_on or []), *([step.on_failure] if step.on_failure else [])]
        for ref in refs if check_refs else []:
            if ref not in keys:
                problems.append(
                    {
                        "step": index,
                        "key": step.key,
                        "field": "dependsOn",
                        "message": f"unknown step key {ref!r}",
                    }
                )
        rows.append(row_values(step, config))
    if problems:
        raise Unprocessable("Some steps are not valid.", problems)
    return rows


def step_problems(
    index: int | None, key: str | None, field: str, error: DomainError
) -> list[dict[str, Any]]:
    if isinstance(error.details, list):
        return [
            {
                "step": index,
                "key": key,
                "field": f"{field}.{d.get('field')}",
                "message": d.get("message"),
            }
            for d in error.details
        ]
    return [{"step": index, "key": key, "field": field, "message": error.message}]


def row_values(step: StepDefinition, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": step.key,
        "title": step.title,
        "action_type": step.action_type,
        "action_config": config,
        "role_scope": str(step.role_scope),
        "required": step.required,
        "depends_on": step.depends_on,
        "condition": step.condition,
        "on_failure": step.on_failure,
        "retry": step.retry.model_dump(by_alias=True) if step.retry else None,
        "due_in": step.due_in,
    }


def definition_of(row: Any) -> dict[str, Any]:
    """A step row (template or instance) as a camelCase definition."""
    return {
        "key": row.key,
        "title": row.title,
        "actionType": row.action_type,
        "actionConfig": row.action_config or {},
        "roleScope": row.role_scope,
        "required": row.required,
        "dependsOn": row.depends_on,
        "condition": row.condition,
        "onFailure": row.on_failure,
        "retry": row.retry,
        "dueIn": row.due_in,
    }
