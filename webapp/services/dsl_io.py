"""Import and export of template definitions as JSON or YAML (docs/dsl.md): the current
document shape, its JSON Schema, the upgrade of older versions, and problems named by
their JSON path."""

import json
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from webapp.engine import permissions
from webapp.engine.actions import all_handlers
from webapp.engine.definition import TEMPLATE_KEY_PATTERN, StepDefinition
from webapp.engine.dsl import READABLE_VERSIONS, SCHEMA_VERSION, json_path, located, upgrade
from webapp.engine.errors import DomainError, Invalid, Unprocessable
from webapp.engine.secret_refs import mask_typed
from webapp.engine.step_rows import definition_of
from webapp.engine.text import NUL_MESSAGE, contains_nul
from webapp.engine.wording import field_error_message
from webapp.extensions import db
from webapp.models import Trigger, User, WorkflowTemplate
from webapp.persistence.transaction import transactional
from webapp.services import triggers
from webapp.services.access import actor_of
from webapp.services.templates import create_template


class DocumentTrigger(BaseModel):
    """One of the template's triggers, as the triggers API describes it, without what
    belongs to one firm's copy: no id, no secret (an imported webhook gets a new one), no
    pinned version (an import starts at version 1)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", title="DocumentTrigger")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["manual", "webhook", "schedule", "event"]
    enabled: bool = True
    condition: str | None = Field(default=None, max_length=2000)
    matter: dict[str, Any] | None = Field(
        default=None,
        description='{"fromPayload": true}, {"id": n}, {"create": true, "ownerId"?} or '
        '{"filter": "CEL"}, as in the triggers API',
    )
    schedule: dict[str, Any] | None = Field(default=None, description="{cron, timezone, missed}")
    event: dict[str, Any] | None = Field(default=None, description="{type}")
    parameters: dict[str, Any] = Field(default_factory=dict)


class TemplateDocument(BaseModel):
    """A template as exported and imported. Validated strictly, as its JSON Schema reads
    (`version: false` is not a number), whether the text was JSON or YAML. An older
    schemaVersion is upgraded first (engine/dsl.py)."""

    model_config = ConfigDict(
        populate_by_name=True,
        extra="forbid",
        title="TemplateDocument",
        json_schema_extra={"description": "A workflow template as exported and imported."},
    )
    schema_version: int = Field(
        alias="schemaVersion",
        description=f"The format's version: {SCHEMA_VERSION} (version 1 is read and upgraded)",
        json_schema_extra={"enum": list(READABLE_VERSIONS)},
    )
    key: str | None = Field(
        default=None, pattern=TEMPLATE_KEY_PATTERN, description="Derived from name if absent"
    )
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    version: int | None = Field(
        default=None, description="The exported version's number; an import starts at 1"
    )
    steps: list[StepDefinition]
    triggers: list[DocumentTrigger] = Field(
        default_factory=list,
        description="The workflows' triggers that start this template (the triggers API's "
        "shape); exported for admins, who alone see triggers, and imported by admins",
    )


def export_template(template: WorkflowTemplate, reader: User) -> dict[str, Any]:
    """Triggers are written for a reader who may see them (admins); for anyone else the
    list is empty, as the triggers API would answer them nothing."""
    shown = permissions.may_manage_triggers(actor_of(reader))
    return {
        "schemaVersion": SCHEMA_VERSION,
        "key": template.key,
        "name": template.name,
        "description": template.description,
        "version": template.version,
        # A credential typed into a config leaves as ••••; a {{ secrets.NAME }} reference
        # leaves as written, never its value.
        "steps": [mask_typed(definition_of(step)) for step in template.steps],
        "triggers": [trigger_document(t) for t in template_triggers(template)] if shown else [],
    }


def template_triggers(template: WorkflowTemplate) -> list[Trigger]:
    return list(
        db.session.scalars(
            select(Trigger)
            .where(Trigger.org_id == template.org_id, Trigger.template_key == template.key)
            .order_by(Trigger.id)
        )
    )


def trigger_document(trigger: Trigger) -> dict[str, Any]:
    """Every field, null where unset: the same trigger always exports to the same text."""
    definition = triggers.definition_of(trigger)
    return {
        "name": definition.name,
        "kind": definition.kind,
        "enabled": definition.enabled,
        "condition": definition.condition,
        "matter": definition.matter,
        "schedule": definition.schedule,
        "event": definition.event,
        "parameters": definition.parameters,
    }


def parse_document(text: str, mimetype: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if "yaml" in mimetype else json.loads(text)
    except (ValueError, yaml.YAMLError) as error:
        raise Invalid(f"The definition could not be read: {error}") from None
    if not isinstance(data, dict):
        raise Invalid("The definition must be an object with schemaVersion, name and steps.")
    if contains_nul(data):
        raise Invalid(NUL_MESSAGE)
    return data


def read_document(document: dict[str, Any]) -> TemplateDocument:
    """The document upgraded to the current version and validated; every problem names
    its JSON path (`steps[3].actionConfig.items`) in the 422's details."""
    current = upgrade(document)
    try:
        # Through JSON, so that strict mode reads enums and dates as JSON does, for YAML too.
        text = json.dumps(current, default=str)
        parsed = TemplateDocument.model_validate_json(text, strict=True)
    except ValidationError as error:
        raise Unprocessable("The definition is not valid.", _problems(error)) from error
    return parsed


def _problems(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "path": json_path(err["loc"]),
            "field": ".".join(str(p) for p in err["loc"]) or "(root)",
            "message": field_error_message(err),
        }
        for err in error.errors(include_url=False)
    ]


@transactional
def import_template(user: User, document: dict[str, Any]) -> WorkflowTemplate:
    """The template as a new draft and its triggers, in one transaction: a trigger the
    door refuses (only admins create triggers) leaves no template either."""
    parsed = read_document(document)
    try:
        template = create_template(user, parsed.name, parsed.steps, parsed.description, parsed.key)
    except DomainError as error:
        error.details = located(error.details)
        raise
    for index, trigger in enumerate(parsed.triggers):
        _import_trigger(user, template, index, trigger)
    return template


def _import_trigger(
    user: User, template: WorkflowTemplate, index: int, trigger: DocumentTrigger
) -> None:
    definition = triggers.Definition(
        name=trigger.name,
        kind=trigger.kind,
        template_key=template.key,
        enabled=trigger.enabled,
        condition=trigger.condition,
        matter=trigger.matter,
        schedule=trigger.schedule,
        event=trigger.event,
        parameters=trigger.parameters,
    )
    try:
        triggers.perform(user, None, triggers.Create(definition))
    except DomainError as error:
        error.details = located(error.details, ("triggers", index))
        if not isinstance(error.details, list) or not error.details:
            path = f"triggers[{index}]"
            error.details = [{"path": path, "field": path, "message": error.message}]
        raise


# Accepted beside any action type's settings (engine/actions/base.py, docs/deadlines.md).
DEADLINE_PROPERTIES = {
    key: {
        "type": ["string", "null"],
        "maxLength": 50,
        "description": f"{what}: an ISO-8601 duration, words, or N business/court days",
    }
    for key, what in (
        ("remindBefore", "When the people who may act are reminded before the due time"),
        ("escalateAfter", "When the matter's owner is told after the due time"),
    )
}


def document_schema() -> dict[str, Any]:
    """The JSON Schema of a template document, as `GET /dsl/schema` publishes it: the
    TemplateDocument model's, plus each action type's config, which a step's
    actionConfig must match for that actionType."""
    schema = TemplateDocument.model_json_schema(by_alias=True)
    defs = schema.setdefault("$defs", {})
    rules = []
    for handler in all_handlers():
        config = handler.Config.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        defs.update(config.pop("$defs", {}))
        name = config.get("title", handler.Config.__name__)
        config.setdefault("properties", {}).update(DEADLINE_PROPERTIES)
        defs[name] = config
        rules.append(
            {
                "if": {"properties": {"actionType": {"const": handler.type}}},
                "then": {"properties": {"actionConfig": {"$ref": f"#/$defs/{name}"}}},
            }
        )
    defs["StepDefinition"]["allOf"] = rules
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://matterflow.example/schemas/template-document-v2.json",
        **schema,
    }
