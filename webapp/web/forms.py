"""Form fields generated from an action type's config JSON Schema, and the step form
parsed back into the API's camelCase step shape. A new action type brings its pydantic
Config; the builder and the instance editor render and read it with no change here."""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from webapp.engine.actions import ActionHandler, get_handler
from webapp.engine.errors import Invalid, Unprocessable
from webapp.engine.roles import Role

LONG_TEXT = 200  # strings allowed to be longer than this get a textarea


@dataclass
class ConfigField:
    name: str
    label: str
    kind: str  # text, textarea, number, integer, boolean, choice, lines, json
    required: bool
    help: str = ""
    choices: list[str] = field(default_factory=list)
    value: Any = ""
    pattern: str | None = None
    max_length: int | None = None

    @property
    def input_name(self) -> str:
        return f"config.{self.name}"

    @property
    def error_key(self) -> str:
        return f"actionConfig.{self.name}"


def humanize(name: str) -> str:
    """`requestText` -> "Request text", `documentId` -> "Document ID"."""
    words, current = [], ""
    for char in name:
        if char.isupper() and current:
            words.append(current)
            current = char.lower()
        else:
            current += char
    words.append(current)
    words = ["ID" if w == "id" else "URL" if w == "url" else w for w in words]
    text = " ".join(words).replace("_", " ")
    return text[:1].upper() + text[1:]


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The node with references followed, and whether null is allowed."""
    if "$ref" in node:
        target = root.get("$defs", {}).get(node["$ref"].rsplit("/", 1)[-1], {})
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, root)
    if len(node.get("allOf", [])) == 1:
        merged = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
        return _resolve(merged, root)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        nullable = len(options) < len(node["anyOf"])
        # A Decimal is "number or string": offer the number.
        best = next(
            (o for o in options if o.get("type") != "string"), options[0] if options else {}
        )
        resolved, inner_nullable = _resolve(best, root)
        extras = {k: v for k, v in node.items() if k != "anyOf"}
        return {**resolved, **extras}, nullable or inner_nullable
    return node, False


def _kind(node: dict[str, Any], root: dict[str, Any]) -> str:
    kind = node.get("type")
    if "enum" in node:
        return "choice"
    if kind in ("boolean", "integer", "number"):
        return kind
    if kind == "string":
        return "textarea" if (node.get("maxLength") or 0) > LONG_TEXT else "text"
    if kind == "array":
        items, _ = _resolve(node.get("items", {}), root)
        return "lines" if items.get("type") == "string" and "enum" not in items else "json"
    return "json"  # objects and anything richer: edited as JSON


def _display(kind: str, value: Any) -> Any:
    if kind == "boolean":
        return bool(value)
    if value is None:
        return ""
    if kind == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if kind == "json":
        return value if isinstance(value, str) else json.dumps(value, indent=2)
    return str(value)


def config_fields(
    action_type: str, config: dict[str, Any] | None = None, raw: dict[str, Any] | None = None
) -> list[ConfigField]:
    """The inspector's fields for one action type. `raw` (what was just submitted) wins
    over `config` (what is saved), so a rejected form comes back as it was typed."""
    schema = get_handler(action_type).config_schema()
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        if prop.get("deprecated"):
            continue  # kept for API clients; the form sets what replaced it
        node, nullable = _resolve(prop, schema)
        kind = _kind(node, schema)
        if raw is not None and (name in raw or kind == "boolean"):
            value = raw.get(name, False) if kind == "boolean" else raw[name]
        elif config and name in config:
            value = _display(kind, config[name])
        else:
            value = _display(kind, node.get("default"))
        fields.append(
            ConfigField(
                name=name,
                label=humanize(name),
                kind=kind,
                required=name in required and not nullable,
                help=node.get("description", ""),
                choices=[str(c) for c in node.get("enum", [])],
                value=value,
                pattern=node.get("pattern"),
                max_length=node.get("maxLength"),
            )
        )
    return fields


def _config_value(item: ConfigField, text: str) -> Any:
    if item.kind == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if item.kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise Unprocessable(
                "Some settings are not valid.",
                [{"field": item.error_key, "message": f"Enter valid JSON ({error.msg})."}],
            ) from None
    return text  # numbers stay text: the handler's pydantic model converts and checks them


def parse_config(action_type: str, form: MultiDict) -> dict[str, Any]:
    """Submitted config fields as a config dict; empty optional fields fall back to defaults."""
    config: dict[str, Any] = {}
    for item in config_fields(action_type):
        if item.kind == "boolean":
            config[item.name] = item.input_name in form
            continue
        text = (form.get(item.input_name) or "").strip()
        if text:
            config[item.name] = _config_value(item, text)
    return config


def raw_config(action_type: str, form: MultiDict) -> dict[str, Any] | None:
    """The config fields as typed, when the form showed this type's fields (hidden
    `config_type`); after switching type the new type starts from its defaults."""
    if form.get("config_type") != action_type:
        return None
    raw: dict[str, Any] = {}
    for item in config_fields(action_type):
        raw[item.name] = (
            item.input_name in form if item.kind == "boolean" else form.get(item.input_name, "")
        )
    return raw


# ---- the step form ---------------------------------------------------------------------


# Past this many other steps, a step's prerequisites and failure route are typed as keys:
# a checkbox and an option per step would outweigh the rest of the page.
LONG_STEP_LIST = 40


def depends_on_keys(form: MultiDict) -> list[str]:
    """The ticked prerequisites, or the keys typed into one field, commas between them."""
    return [
        key for value in form.getlist("depends_on") for key in re.split(r"[\s,]+", value) if key
    ]


def _depends_on(form: MultiDict) -> list[str] | None:
    mode = form.get("depends_mode", "previous")
    if mode == "none":
        return []
    if mode == "steps":
        return depends_on_keys(form)
    return None  # after the previous step, the engine's default


def _retry(form: MultiDict) -> dict[str, Any] | None:
    if "retry_enabled" not in form:
        return None
    values = {
        "maxAttempts": form.get("retry_max_attempts", "").strip(),
        "backoffSeconds": form.get("retry_backoff_seconds", "").strip(),
        "backoffFactor": form.get("retry_backoff_factor", "").strip(),
    }
    return {k: v for k, v in values.items() if v}


def step_body(
    form: MultiDict, action_type: str | None = None, retry: bool = True
) -> dict[str, Any]:
    """The sections a form carries (hidden `sections` values) as camelCase step fields.
    A checkbox sends nothing when cleared, so each section says it is present."""
    sections = set(form.getlist("sections"))
    body: dict[str, Any] = {}
    if "basics" in sections:
        body["title"] = form.get("title", "")
        body["roleScope"] = form.get("role_scope", "")
        body["required"] = "required" in form
    if "type" in sections:
        body["actionType"] = form.get("action_type", "")
    chosen = body.get("actionType") or action_type
    if "config" in sections and chosen:
        body["actionConfig"] = parse_config(chosen, form)
    if "advanced" in sections:
        body["dependsOn"] = _depends_on(form)
        body["condition"] = form.get("condition", "").strip() or None
        body["onFailure"] = form.get("on_failure") or None
        body["dueIn"] = form.get("due_in", "").strip() or None
        if retry:
            body["retry"] = _retry(form)
    return body


SNAKE = {
    "title": "title",
    "actionConfig": "action_config",
    "roleScope": "role_scope",
    "required": "required",
    "dependsOn": "depends_on",
    "condition": "condition",
    "onFailure": "on_failure",
    "dueIn": "due_in",
}


def instance_changes(body: dict[str, Any]) -> dict[str, Any]:
    """The instance editor's fields in the snake_case form `instances.step_changes` takes."""
    return {SNAKE[k]: v for k, v in body.items() if k in SNAKE}


# ---- errors beside fields --------------------------------------------------------------


def _field_key(path: str) -> str:
    parts = [p for p in str(path).split(".") if p]
    if not parts:
        return "form"
    if parts[0] in ("actionConfig", "retry") and len(parts) > 1:
        return f"{parts[0]}.{parts[1]}"
    return parts[0]


def _message(text: Any) -> str:
    text = str(text or "Not valid.")
    text = text.removeprefix("Value error, ")
    if text == "Field required":
        return "This is required."
    return text[:1].upper() + text[1:]


def field_errors(details: Any, step: int | None = None) -> dict[str, list[str]]:
    """Domain error details ({step?, field, message} rows) by form field. With `step`,
    rows about other steps are left out."""
    errors: dict[str, list[str]] = {}
    if not isinstance(details, list):
        return errors
    for row in details:
        if not isinstance(row, dict):
            continue
        if step is not None and row.get("step") not in (None, step):
            continue
        errors.setdefault(_field_key(row.get("field", "")), []).append(_message(row.get("message")))
    return errors


def problems_by_step(details: Any, steps: list[Any]) -> tuple[dict[int, list[str]], list[str]]:
    """Publishing problems next to the step they concern (by key, else by position), and
    the ones about the template as a whole."""
    by_key = {s.key: s.id for s in steps}
    by_step: dict[int, list[str]] = {}
    general: list[str] = []
    for row in details if isinstance(details, list) else []:
        if not isinstance(row, dict):
            continue
        step_id = by_key.get(row.get("key"))
        index = row.get("step")
        if step_id is None and isinstance(index, int) and 0 <= index < len(steps):
            step_id = steps[index].id
        text = _message(row.get("message"))
        if row.get("field") and row.get("field") not in ("steps", "key"):
            text = f"{humanize(_field_key(row['field']).split('.')[-1])}: {text}"
        if step_id is None:
            general.append(text)
        else:
            by_step.setdefault(step_id, []).append(text)
    return by_step, general


# ---- what a step form shows ------------------------------------------------------------


def step_values(step: Any) -> dict[str, Any]:
    """A saved step (template or instance) as the step form's values."""
    depends = step.depends_on
    retry = step.retry or {}
    return {
        "title": step.title,
        "role_scope": step.role_scope,
        "required": step.required,
        "action_type": step.action_type,
        "depends_mode": "previous" if depends is None else "steps" if depends else "none",
        "depends_on": list(depends or []),
        "condition": step.condition or "",
        "on_failure": step.on_failure or "",
        "due_in": step.due_in or "",
        "retry_enabled": bool(step.retry),
        "retry_max_attempts": retry.get("maxAttempts", 3),
        "retry_backoff_seconds": retry.get("backoffSeconds", 2),
        "retry_backoff_factor": retry.get("backoffFactor", 2),
    }


def roles_for(action_type: str) -> list[str]:
    """The roles "Who acts" offers for an action type: the ones it allows (every role for
    an automation, which no person performs)."""
    try:
        roles = get_handler(action_type).roles
    except Unprocessable:
        roles = ()
    return [str(role) for role in roles or Role]


def who_acts_label(action_type: str) -> str:
    try:
        return get_handler(action_type).who_acts
    except Unprocessable:
        return ActionHandler.who_acts


def _fit_role(values: dict[str, Any], action_type: str) -> dict[str, Any]:
    allowed = roles_for(action_type)
    if values.get("role_scope") not in allowed:
        values["role_scope"] = "LAWYER" if "LAWYER" in allowed else allowed[0]
    return values


def new_step_values(action_type: str, role_scope: str = "LAWYER") -> dict[str, Any]:
    return {
        "title": "",
        "role_scope": role_scope,
        "required": True,
        "action_type": action_type,
        "depends_mode": "previous",
        "depends_on": [],
        "condition": "",
        "on_failure": "",
        "due_in": "",
        "retry_enabled": False,
        "retry_max_attempts": 3,
        "retry_backoff_seconds": 2,
        "retry_backoff_factor": 2,
    }


def submitted_values(form: MultiDict, saved: dict[str, Any]) -> dict[str, Any]:
    """What was just typed, over what is saved: a rejected form comes back as typed."""
    sections = set(form.getlist("sections"))
    values = dict(saved)
    if "basics" in sections:
        values.update(
            title=form.get("title", ""),
            role_scope=form.get("role_scope", ""),
            required="required" in form,
        )
    if "type" in sections:
        values["action_type"] = form.get("action_type", values["action_type"])
    if "advanced" in sections:
        values.update(
            depends_mode=form.get("depends_mode", "previous"),
            depends_on=depends_on_keys(form),
            condition=form.get("condition", ""),
            on_failure=form.get("on_failure", ""),
            due_in=form.get("due_in", ""),
            retry_enabled="retry_enabled" in form,
            retry_max_attempts=form.get("retry_max_attempts", ""),
            retry_backoff_seconds=form.get("retry_backoff_seconds", ""),
            retry_backoff_factor=form.get("retry_backoff_factor", ""),
        )
    return values


def as_config_errors(errors: dict[str, list[str]], action_type: str) -> dict[str, list[str]]:
    """A handler's own validation names its fields bare (`items`); the form knows them
    as `actionConfig.items`."""
    names = {item.name for item in config_fields(action_type)}
    return {
        (f"actionConfig.{key}" if key in names else key): value for key, value in errors.items()
    }


# ---- a step form as shown: a saved step's inspector, or "add a step" -------------------

FIRST_TYPE = "CHECKLIST"


@dataclass
class StepForm:
    action_type: str
    fields: list[ConfigField]
    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)
    step: Any = None  # the template or instance step being edited

    @property
    def changing_type(self) -> bool:
        return self.step is not None and self.action_type != self.step.action_type


def saved_step_form(
    step: Any,
    action_type: str | None = None,
    form: MultiDict | None = None,
    errors: dict[str, list[str]] | None = None,
) -> StepForm | None:
    """The inspector of a saved step; `action_type` previews another type, unsaved."""
    if step is None:
        return None
    chosen = action_type or step.action_type
    values = submitted_values(form, step_values(step)) if form else step_values(step)
    values["action_type"] = chosen
    saved = step.action_config if chosen == step.action_type else None
    raw = raw_config(chosen, form) if form else None
    return StepForm(chosen, config_fields(chosen, saved, raw), values, errors or {}, step)


def new_step_form(
    action_type: str | None = None,
    form: MultiDict | None = None,
    errors: dict[str, list[str]] | None = None,
) -> StepForm:
    chosen = action_type or FIRST_TYPE
    values = submitted_values(form, new_step_values(chosen)) if form else new_step_values(chosen)
    values["action_type"] = chosen
    _fit_role(values, chosen)
    raw = raw_config(chosen, form) if form else None
    return StepForm(chosen, config_fields(chosen, None, raw), values, errors or {})


def step_ids(form: MultiDict) -> list[int]:
    """The rows' hidden `step_id` values of a reordered list, in their new order."""
    try:
        return [int(value) for value in form.getlist("step_id")]
    except ValueError:
        raise Invalid("The new order must list step ids.") from None
