"""Request and response bodies of the JSON API (camelCase on the wire)."""

from datetime import datetime
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from webapp.engine.actions.base import Category
from webapp.engine.definition import TEMPLATE_KEY_PATTERN, StepDefinition
from webapp.engine.secret_refs import mask_typed

# Ids and positions fit a database integer; a larger number names no row.
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Schema(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, from_attributes=True, extra="forbid"
    )


# In a PATCH body, a field typed `X | Omitted` may be left out (it keeps its value) but not
# sent as null: the document shows it without null and the API refuses null with 422.
Omitted = SkipJsonSchema[None]


def _omitted_only(annotation: Any) -> bool:
    return any(
        get_origin(arg) is Annotated
        and any(isinstance(m, SkipJsonSchema) for m in arg.__metadata__)  # type: ignore[misc]  # SkipJsonSchema is a plain class at run time
        for arg in get_args(annotation)
    )


class Patch(Schema):
    """A partial update: send at least one field; what is left out keeps its value."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    @model_validator(mode="before")
    @classmethod
    def refuse_null_where_omitted(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if not data:  # an empty PATCH would change nothing, or publish a copy as a draft
            raise PydanticCustomError("empty_patch", "Send at least one field to change.")
        for name, info in cls.model_fields.items():
            alias = info.alias or name
            for key in (alias, name):
                if key in data and data[key] is None and _omitted_only(info.annotation):
                    raise ValueError(f"{alias} cannot be null; leave it out to keep its value.")
        return data


class ErrorDetail(Schema):
    code: str
    message: str
    details: Any = None


class ErrorBody(Schema):
    error: ErrorDetail


# --- matters -----------------------------------------------------------------


class MemberOut(Schema):
    user_id: int
    name: str
    email: str | None = Field(description="null for a client: clients see the team by name")
    role: str


class WorkflowStatusOut(Schema):
    summary: str | None = Field(
        description="The most pressing status among the matter's workflows, in the order "
        "Failed, Paused, WaitingForApproval, WaitingForInput, Running, Created, Completed, "
        "Cancelled; null when the matter has none"
    )
    total: int
    counts: dict[str, int] = Field(description="Number of workflows in each status")


class MatterOut(Schema):
    id: int
    reference: str
    title: str
    status: str
    owner_id: int
    members: list[MemberOut]
    created_at: datetime
    workflow_status: WorkflowStatusOut


class MatterList(Schema):
    items: list[MatterOut]
    total: int


class ClientIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)


class MemberIn(Schema):
    user_id: RowId
    role: Literal["ADMIN", "LAWYER", "PARALEGAL", "CLIENT"]


class MatterIn(Schema):
    reference: str = Field(min_length=1, max_length=50)
    title: str = Field(min_length=1, max_length=300)
    owner_id: RowId | None = None
    client_id: RowId | None = Field(None, description="an existing client of the firm")
    client: ClientIn | None = Field(
        None, description="a new client of the firm (created without a password)"
    )
    team: list[MemberIn] = Field(
        default_factory=list,
        max_length=200,
        description="more people of the firm, each with their own role",
    )

    @model_validator(mode="after")
    def one_client(self) -> "MatterIn":
        if self.client_id is not None and self.client is not None:
            raise ValueError("Name an existing client (clientId) or a new one (client), not both.")
        return self


class MemberList(Schema):
    items: list[MemberOut]
    total: int


class ScreenIn(Schema):
    user_id: RowId
    reason: str = Field(
        min_length=1, max_length=2000, pattern=r"\S", description="the conflict it answers"
    )


class ScreenOut(Schema):
    user_id: int
    name: str
    reason: str
    screened_by_id: int | None
    screened_by_name: str | None
    created_at: datetime


class ScreenList(Schema):
    items: list[ScreenOut]
    total: int


class WallHitOut(Schema):
    user_id: int
    name: str
    attempted: str = Field(description='what they asked for, e.g. "GET /api/v1/matters/7"')
    created_at: datetime


class WallHitList(Schema):
    items: list[WallHitOut]
    total: int


class MatterPatch(Patch):
    status: Literal["OPEN", "CLOSED", "ARCHIVED"] | Omitted = Field(
        default=None,
        description="Close, archive or reopen; the matter's workflows stay as they are",
    )
    title: Annotated[str, Field(min_length=1, max_length=300)] | Omitted = None


class MatterDeleted(Schema):
    id: int
    reference: str
    instances_removed: list[int]


# --- templates ---------------------------------------------------------------


class TemplateStepOut(StepDefinition):
    model_config = ConfigDict(extra="ignore", from_attributes=True)
    id: int
    order: int

    @field_validator("action_config", mode="after")
    @classmethod
    def credentials_masked(cls, value: dict[str, Any]) -> dict[str, Any]:
        return mask_typed(value)


class TemplateOut(Schema):
    id: int
    key: str
    version: int
    status: str
    checksum: str | None
    name: str
    description: str
    steps: list[TemplateStepOut]
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    effective_from: datetime | None = Field(
        description="When a published version goes live for new workflows (null: when "
        "published); until then they start from the newest version already in effect"
    )


class TemplateSummary(Schema):
    id: int
    key: str
    version: int
    status: str
    checksum: str | None
    name: str
    description: str
    step_count: int
    updated_at: datetime
    effective_from: datetime | None


class TemplateList(Schema):
    items: list[TemplateSummary]
    total: int


class TemplateIn(Schema):
    key: str | None = Field(default=None, pattern=TEMPLATE_KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    steps: list[StepDefinition] = Field(default_factory=list)


class TemplatePatch(Patch):
    name: Annotated[str, Field(min_length=1, max_length=200)] | Omitted = None
    description: str | Omitted = Field(default=None, max_length=4000)
    steps: list[StepDefinition] | Omitted = None


class PublishIn(Schema):
    effective_from: datetime | None = Field(
        default=None,
        description="When this version goes live for new workflows, with a time zone "
        "(e.g. 2027-01-01T00:00:00Z); left out: at once",
    )


class InstantiateIn(Schema):
    matter_id: RowId
    title: str | None = Field(default=None, max_length=300)
    parameters: dict[str, Any] | None = None
    request_id: str | None = Field(default=None, max_length=200)


# A template key, or an id written as a string of digits ("12").
TemplateRef = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^([0-9]+|[a-z][a-z0-9_]*)$")
]


class WorkflowCreateIn(Schema):
    workflow_id: RowId | TemplateRef = Field(
        description="A template key (the latest published version of that key in your firm) "
        "or the id of a published template version (a number, or a string of digits)"
    )
    matter_id: RowId
    title: str | None = Field(default=None, max_length=300)
    parameters: dict[str, Any] | None = None
    request_id: str | None = Field(default=None, max_length=200)

    @field_validator("workflow_id")
    @classmethod
    def digits_are_an_id(cls, value: int | str) -> int | str:
        if isinstance(value, str) and value.isdigit():
            number = int(value)
            if not 1 <= number <= 2**31 - 1:
                raise ValueError("no template version has this id")
            return number
        return value


# --- instances ---------------------------------------------------------------


class AttemptOut(Schema):
    """One run of an automated step by the worker."""

    number: int
    status: str = Field(description="RUNNING, SUCCEEDED or FAILED")
    inputs: dict[str, Any] = Field(description="The rendered configuration it ran with")
    output: dict[str, Any] | None
    error: str | None
    worker_id: str | None
    started_at: datetime
    finished_at: datetime | None

    @field_validator("inputs", mode="after")
    @classmethod
    def credentials_masked(cls, value: dict[str, Any]) -> dict[str, Any]:
        return mask_typed(value)


class InstanceStepOut(Schema):
    id: int
    key: str
    order: int
    title: str
    action_type: str
    action_config: dict[str, Any]
    role_scope: str
    required: bool
    depends_on: list[str] | None
    condition: str | None
    on_failure: str | None
    action_state: str
    action_data: dict[str, Any]
    assigned_to_id: int | None
    claimed_by_id: int | None
    attempt: int
    due_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    attempts: list[AttemptOut] = Field(default_factory=list)

    @field_validator("action_config", mode="after")
    @classmethod
    def credentials_masked(cls, value: dict[str, Any]) -> dict[str, Any]:
        return mask_typed(value)


class InstanceOut(Schema):
    id: int
    matter_id: int
    template_id: int | None
    template_version: int
    title: str
    status: str
    current_step: int
    context: dict[str, Any] = Field(
        description="The parameters the workflow was started with; empty for a client"
    )
    step_data: dict[str, Any]
    trigger_type: str = Field(
        description="What started it: manual, api, webhook, schedule or event"
    )
    trigger_data: dict[str, Any] = Field(
        description="What the trigger carried (a webhook's body, an event, a fire time); "
        "empty for a client"
    )
    created_at: datetime
    updated_at: datetime
    steps: list[InstanceStepOut]


class InstanceSummary(Schema):
    id: int
    matter_id: int
    template_id: int | None
    template_version: int
    title: str
    status: str
    current_step: int
    created_at: datetime
    updated_at: datetime


class InstanceList(Schema):
    items: list[InstanceSummary]
    total: int


class InstancePatch(Patch):
    # A title, a status or both; a reason alone changes nothing.
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["title"]}, {"required": ["status"]}]}
    )
    title: Annotated[str, Field(min_length=1, max_length=300)] | Omitted = None
    status: str | Omitted = Field(
        default=None,
        description="Target status: Running (start or resume), Paused, Cancelled; the others "
        "are set by the engine (asking for one is refused with 400)",
        json_schema_extra={"enum": ["Running", "Paused", "Cancelled"]},
    )
    reason: str | None = Field(default=None, max_length=2000)


class InstanceStepIn(StepDefinition):
    order: RowId | None = None
    assigned_to_id: RowId | None = None


class InstanceStepPatch(Patch):
    title: Annotated[str, Field(min_length=1, max_length=300)] | Omitted = None
    action_config: dict[str, Any] | Omitted = None
    role_scope: Literal["ADMIN", "LAWYER", "PARALEGAL", "CLIENT"] | Omitted = None
    required: bool | Omitted = None
    depends_on: list[str] | None = None
    condition: str | None = None
    on_failure: str | None = None
    due_in: str | None = None
    assigned_to_id: RowId | None = None


class ReorderIn(Schema):
    step_ids: list[RowId] = Field(
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="Every step of the instance, each once, in the new order",
    )


class DefinitionStepIn(StepDefinition):
    id: RowId | None = Field(
        default=None, description="An existing step of this instance (its key is kept)"
    )


class DefinitionIn(Schema):
    title: Annotated[str, Field(min_length=1, max_length=300)] | Omitted = None
    steps: list[DefinitionStepIn] = Field(min_length=1, max_length=200)


class DefinitionStepOut(StepDefinition):
    """A step as PUT takes it back: the list's order is the steps' order."""

    model_config = ConfigDict(extra="ignore")
    id: int


class DefinitionOut(Schema):
    title: str
    steps: list[DefinitionStepOut]


class HistoryEntryOut(Schema):
    id: int
    change_type: str = Field(
        description="created, step_added, step_removed, step_reordered, step_modified, "
        "metadata_changed or migrated"
    )
    detail: dict[str, Any]
    actor_id: int | None
    actor_name: str | None
    created_at: datetime

    @field_validator("detail", mode="after")
    @classmethod
    def credentials_masked(cls, value: dict[str, Any]) -> dict[str, Any]:
        return mask_typed(value)


class HistoryPage(Schema):
    entries: list[HistoryEntryOut]
    total: int


class StepDriftOut(Schema):
    key: str
    fields: list[str]
    changes: dict[str, dict[str, Any]] = Field(
        description='Each changed field as {"from": template value, "to": instance value}'
    )

    @field_validator("changes", mode="after")
    @classmethod
    def credentials_masked(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return mask_typed(value)


class DriftOut(Schema):
    base_workflow_id: int = Field(description="The template version the instance came from")
    base_key: str
    base_version: int
    steps_added: list[str]
    steps_removed: list[str]
    steps_reordered: bool
    steps_modified: list[StepDriftOut]
    metadata_changed: bool
    metadata_changes: dict[str, dict[str, Any]]
    is_drifted: bool


# --- migration ---------------------------------------------------------------


class MigrationChangeOut(Schema):
    kind: Literal[
        "added",
        "removed",
        "changed",
        "reordered",
        "edit_kept",
        "edit_overwritten",
        "own_step_kept",
        "own_step_replaced",
    ]
    key: str
    title: str
    sentence: str
    fields: list[str]


class MigrationBlockerOut(Schema):
    key: str | None
    title: str | None
    state: str | None
    sentence: str


class MigrationPreviewOut(Schema):
    instance_id: int
    from_version: int
    to_version: int
    allowed: bool
    blockers: list[MigrationBlockerOut]
    changes: list[MigrationChangeOut]


class MigrationIn(Schema):
    to_version: RowId


class BulkMigrationIn(Schema):
    from_version: RowId
    dry_run: bool = Field(
        default=True, description="true (the default): report what would happen, change nothing"
    )


class MigrationReportItemOut(Schema):
    instance_id: int
    matter_id: int
    matter_reference: str
    instance_title: str
    outcome: Literal["WOULD_MIGRATE", "MIGRATED", "BLOCKED", "FAILED"]
    reasons: list[str]


class BulkMigrationOut(Schema):
    id: int | None = Field(description="The run (null for a dry run)")
    dry_run: bool
    status: Literal["DRY_RUN", "QUEUED", "RUNNING", "DONE"]
    template_key: str
    from_version: int
    to_version: int
    total: int
    processed: int
    migrated: int
    blocked: int
    failed: int
    items: list[MigrationReportItemOut]


class EventOut(Schema):
    """An audit row. `hash` and `prevHash` link it into its matter's hash chain
    (docs/engine.md, "Tamper-evident audit")."""

    id: int
    event_type: str
    step_id: int | None
    actor_id: int | None
    old_status: str | None
    new_status: str | None
    payload: dict[str, Any]
    request_id: str | None
    created_at: datetime
    prev_hash: str | None
    hash: str

    @field_validator("payload", mode="after")
    @classmethod
    def credentials_masked(cls, value: dict[str, Any]) -> dict[str, Any]:
        return mask_typed(value)


class EventList(Schema):
    items: list[EventOut]
    total: int


# --- steps -------------------------------------------------------------------


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)


class CompleteIn(BaseModel):
    """The handler's payload: CHECKLIST {checkedItems}, APPROVAL_LAWYER {approved, comment?}."""

    model_config = ConfigDict(extra="allow")


class SkipIn(Schema):
    reason: str | None = Field(default=None, max_length=2000)


class AssignIn(Schema):
    """`userId`: an active person of the firm who may act on the step; null opens the
    step again to everyone its role allows."""

    user_id: RowId | None


# --- jobs (admins) ----------------------------------------------------------------


class JobOut(Schema):
    id: int
    kind: str
    status: str = Field(description="PENDING, RUNNING, DONE or DEAD (dead letters)")
    payload: dict[str, Any]
    instance_id: int | None
    attempts: int
    max_attempts: int
    run_at: datetime
    locked_by: str | None
    locked_until: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class JobList(Schema):
    items: list[JobOut]
    total: int


class Health(Schema):
    status: str
    database: str


# --- the action catalog ----------------------------------------------------------


class ActionOut(Schema):
    type: str
    category: Category
    label: str
    description: str
    automated: bool
    config_schema: dict[str, Any] = Field(
        description="The JSON Schema of the type's actionConfig (also under components)"
    )
    example: dict[str, Any] = Field(description="A valid actionConfig of this type")


class ActionList(Schema):
    items: list[ActionOut]
    total: int


class JsonSchemaDocument(RootModel[dict[str, Any]]):
    """A JSON Schema (draft 2020-12)."""
