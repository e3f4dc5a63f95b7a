"""Import and export of template definitions as JSON or YAML, with a schema version."""

import json
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from webapp.engine.actions.base import validation_details
from webapp.engine.definition import SCHEMA_VERSION, TEMPLATE_KEY_PATTERN, StepDefinition
from webapp.engine.errors import Invalid, Unprocessable
from webapp.engine.step_rows import definition_of
from webapp.engine.text import NUL_MESSAGE, contains_nul
from webapp.models import User, WorkflowTemplate
from webapp.services.templates import create_template


class TemplateDocument(BaseModel):
    """A template as exported and imported. Validated strictly, as its JSON Schema reads
    (`version: false` is not a number), whether the text was JSON or YAML."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    schema_version: int = Field(alias="schemaVersion", json_schema_extra={"enum": [SCHEMA_VERSION]})
    key: str | None = Field(default=None, pattern=TEMPLATE_KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    version: int | None = None
    steps: list[StepDefinition]


def export_template(template: WorkflowTemplate) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "key": template.key,
        "name": template.name,
        "description": template.description,
        "version": template.version,
        "steps": [definition_of(step) for step in template.steps],
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


def import_template(user: User, document: dict[str, Any]) -> WorkflowTemplate:
    try:
        # Through JSON, so that strict mode reads enums and dates as JSON does, for YAML too.
        text = json.dumps(document, default=str)
        parsed = TemplateDocument.model_validate_json(text, strict=True)
    except ValidationError as error:
        raise Unprocessable("The definition is not valid.", validation_details(error)) from error
    if parsed.schema_version != SCHEMA_VERSION:
        raise Unprocessable(
            f"schemaVersion {parsed.schema_version} is not supported (this server reads {SCHEMA_VERSION})."
        )
    return create_template(user, parsed.name, parsed.steps, parsed.description, parsed.key)
