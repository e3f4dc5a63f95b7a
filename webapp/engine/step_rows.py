"""Turning step definitions into rows and rows back into definitions, for templates
and instances alike."""

from typing import Any

from webapp.engine.actions import ActionHandler, get_handler
from webapp.engine.definition import StepDefinition, assign_keys
from webapp.engine.errors import DomainError, UnknownActionType, Unprocessable
from webapp.engine.roles import Role

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
    publishing checks the whole graph (engine/publishing.py)."""
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
            handler = get_handler(step.action_type)
            config = handler.validate_config(step.action_config)
        except DomainError as error:
            # An unknown type is a problem of actionType, not of its config.
            field = "actionType" if isinstance(error, UnknownActionType) else "actionConfig"
            problems.extend(step_problems(index, step.key, field, error))
            config = step.action_config
        else:
            step = fitted_role(step, handler, config)
            problems.extend(
                {"step": index, "key": step.key, **problem}
                for problem in role_problems(handler, str(step.role_scope), config)
            )
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
        # One refusal of who acts reads best as itself: "A client payment is made by…".
        alone = len(problems) == 1 and problems[0]["field"] == "roleScope"
        raise Unprocessable(
            problems[0]["message"] if alone else "Some steps are not valid.", problems
        )
    return rows


def fitted_role(step: StepDefinition, handler: ActionHandler, config: dict[str, Any]) -> Any:
    """A step that does not say who acts gets its action's role: an approval's
    approverRole when it has one, else the first role the action allows."""
    if "role_scope" in step.model_fields_set:
        return step
    wanted = config.get("approverRole") or (
        None if handler.allows_role(step.role_scope) else handler.roles[0]
    )
    return step.model_copy(update={"role_scope": Role(wanted)}) if wanted else step


def role_problems(
    handler: ActionHandler, role: str, config: dict[str, Any]
) -> list[dict[str, Any]]:
    """Who acts must be a role the action allows; an approval's approverRole, when it is
    still sent, must say the same as who acts."""
    reason = handler.role_problem(role)
    if reason:
        return [{"field": "roleScope", "message": reason}]
    approver = config.get("approverRole")
    if approver and approver != role:
        return [
            {
                "field": "actionConfig.approverRole",
                "message": (
                    f"Who approves is {role.title()} but approverRole says {approver.title()}: "
                    "leave approverRole out, or make it the same."
                ),
            }
        ]
    return []


def check_role(handler: ActionHandler, role: str, config: dict[str, Any] | None = None) -> None:
    problems = role_problems(handler, role, config or {})
    if problems:
        raise Unprocessable(problems[0]["message"], problems)


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
