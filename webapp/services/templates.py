"""Workflow templates: drafts, immutable published versions (each may go live on a date
of its own), archive."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import lazyload

from webapp.engine import definition as dsl
from webapp.engine import permissions
from webapp.engine.actions import get_handler
from webapp.engine.actions.base import validation_details
from webapp.engine.definition import StepDefinition
from webapp.engine.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound, Unprocessable
from webapp.engine.publishing import check_publishable
from webapp.engine.step_rows import STEP_FIELDS, definition_of, validated_steps
from webapp.engine.text import refuse_line_breaks
from webapp.extensions import db
from webapp.models import TemplateStep, User, WorkflowTemplate
from webapp.models.base import utcnow
from webapp.observability import traced
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import get_or_404, transactional
from webapp.services.access import actor_of, require_staff, require_template_reader

DRAFT, PUBLISHED, ARCHIVED = "DRAFT", "PUBLISHED", "ARCHIVED"


def get_template(template_id: int, user: User) -> WorkflowTemplate:
    require_template_reader(user)  # before the lookup: the answer says nothing of the id
    return _template(template_id, user)


def _template(template_id: int, user: User) -> WorkflowTemplate:
    return get_or_404(WorkflowTemplate, template_id, user.org_id, "Template")


def list_templates(
    user: User,
    q: str | None = None,
    status: str | None = None,
    latest_only: bool = True,
    limit: int = 50,
    offset: int = 0,
    after_key: str | None = None,
) -> tuple[list[WorkflowTemplate], int]:
    """Templates by name (the latest version of each key, or every version), with how many
    match. `after_key` pages the latest versions by keyset: those after that key's template
    in (name, key) order."""
    require_template_reader(user)
    query = select(WorkflowTemplate).where(WorkflowTemplate.org_id == user.org_id)
    if latest_only:
        latest = (
            select(WorkflowTemplate.key, func.max(WorkflowTemplate.version).label("v"))
            .where(WorkflowTemplate.org_id == user.org_id)
            .group_by(WorkflowTemplate.key)
            .subquery()
        )
        query = query.join(
            latest,
            (WorkflowTemplate.key == latest.c.key) & (WorkflowTemplate.version == latest.c.v),
        )
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(WorkflowTemplate.name).like(pattern),
                func.lower(WorkflowTemplate.key).like(pattern),
                func.lower(WorkflowTemplate.description).like(pattern),
            )
        )
    if status:
        query = query.where(WorkflowTemplate.status == status.upper())
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = (WorkflowTemplate.name, WorkflowTemplate.key, WorkflowTemplate.version.desc())
    if after_key is not None:
        name = (  # the name that key's latest version is listed under
            select(WorkflowTemplate.name)
            .where(WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.key == after_key)
            .order_by(WorkflowTemplate.version.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = query.where(
            tuple_(WorkflowTemplate.name, WorkflowTemplate.key) > tuple_(name, after_key)
        )
    rows = db.session.scalars(
        query.options(lazyload(WorkflowTemplate.steps))  # a list counts them (step_counts)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def step_counts(template_ids: list[int]) -> dict[int, int]:
    """How many steps each template has, in one query, without reading them."""
    if not template_ids:
        return {}
    rows = db.session.execute(
        select(TemplateStep.template_id, func.count())
        .where(TemplateStep.template_id.in_(template_ids))
        .group_by(TemplateStep.template_id)
    )
    return {template_id: 0 for template_id in template_ids} | {
        template_id: count for template_id, count in rows
    }


def list_versions(template_id: int, user: User) -> list[WorkflowTemplate]:
    template = get_template(template_id, user)
    return list(
        db.session.scalars(
            select(WorkflowTemplate)
            .where(WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.key == template.key)
            .order_by(WorkflowTemplate.version.desc())
        )
    )


def published_steps(template: WorkflowTemplate) -> list[dict[str, Any]]:
    return [definition_of(step) for step in template.steps]


def _unique_key(org_id: int, wanted: str) -> str:
    key, n = wanted, 2
    while db.session.scalar(
        select(WorkflowTemplate.id).where(
            WorkflowTemplate.org_id == org_id, WorkflowTemplate.key == key
        )
    ):
        key, n = f"{wanted}_{n}", n + 1
    return key


def _replace_steps(template: WorkflowTemplate, rows: list[dict[str, Any]]) -> None:
    template.steps.clear()
    db.session.flush()  # the unique (template, order) index must be free before re-inserting
    for order, values in enumerate(rows, start=1):
        template.steps.append(TemplateStep(order=order, **values))


@transactional
def create_template(
    user: User,
    name: str,
    steps: list[StepDefinition],
    description: str = "",
    key: str | None = None,
) -> WorkflowTemplate:
    require_staff(user)
    if not (name or "").strip():
        raise Unprocessable(
            "A template needs a name.", [{"field": "name", "message": "Enter a name."}]
        )
    refuse_line_breaks(name.strip(), "A template's name", "name")
    if key and db.session.scalar(
        select(WorkflowTemplate.id).where(
            WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.key == key
        )
    ):
        taken = f"A template with key {key!r} already exists."
        raise Conflict(taken, [{"field": "key", "message": taken}])
    rows = validated_steps(steps, check_refs=False)
    template = WorkflowTemplate(
        org_id=user.org_id,
        key=key or _unique_key(user.org_id, dsl.slugify(name)),
        version=1,
        name=name.strip(),
        description=(description or "").strip(),
        status=DRAFT,
        created_by_id=user.id,
    )
    db.session.add(template)
    _replace_steps(template, rows)
    db.session.flush()
    record_event(
        org_id=user.org_id,
        event_type="template.created",
        actor_id=user.id,
        template_id=template.id,
        new_status=DRAFT,
        payload={"key": template.key, "version": 1},
    )
    return template


def _draft_of(template: WorkflowTemplate, user: User) -> tuple[WorkflowTemplate, bool]:
    """The template to edit: a draft edits itself; a published version spawns the next draft."""
    if template.status == DRAFT:
        return template, False
    if template.status == ARCHIVED:
        raise Conflict("An archived template cannot be edited.")
    newest = db.session.scalar(
        select(WorkflowTemplate)
        .where(WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.key == template.key)
        .order_by(WorkflowTemplate.version.desc())
        .limit(1)
    )
    if newest is not None and newest.status == DRAFT:
        raise Conflict(
            f"Version {newest.version} of this template is already a draft; edit that one.",
            {"draftId": newest.id, "version": newest.version},
        )
    draft = WorkflowTemplate(
        org_id=template.org_id,
        key=template.key,
        version=(newest.version if newest else template.version) + 1,
        name=template.name,
        description=template.description,
        status=DRAFT,
        created_by_id=user.id,
    )
    db.session.add(draft)
    for step in template.steps:
        values = {field: getattr(step, field) for field in STEP_FIELDS}
        draft.steps.append(TemplateStep(order=step.order, **values))
    db.session.flush()
    record_event(
        org_id=user.org_id,
        event_type="template.version_created",
        actor_id=user.id,
        template_id=draft.id,
        new_status=DRAFT,
        payload={"key": draft.key, "version": draft.version, "fromVersion": template.version},
    )
    return draft, True


@transactional
def update_template(
    user: User,
    template_id: int,
    name: str | None = None,
    description: str | None = None,
    steps: list[StepDefinition] | None = None,
) -> tuple[WorkflowTemplate, bool]:
    """Returns the edited draft and whether it is a new version."""
    require_staff(user)
    template, created = _draft_of(get_template(template_id, user), user)
    before = _edit_view(template)
    if name is not None:
        if not name.strip():
            raise Invalid("A template needs a name.")
        refuse_line_breaks(name.strip(), "A template's name", "name")
        template.name = name.strip()
    if description is not None:
        template.description = description.strip()
    if steps is not None:
        _replace_steps(template, validated_steps(steps, check_refs=False))
    template.updated_at = utcnow()
    db.session.flush()
    changes = _edit_changes(before, _edit_view(template))
    if changes:
        _record_edit(user, template, "template.updated", changes)
    return template, created


def _edit_view(template: WorkflowTemplate) -> dict[str, Any]:
    return {
        "name": template.name,
        "description": template.description,
        "steps": [definition_of(step) for step in template.steps],
    }


def _edit_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What an update changed, for its audit row: the name and description as they were
    and became, the steps by key (their definitions are in the template's versions)."""
    changes: dict[str, Any] = {}
    for field in ("name", "description"):
        if before[field] != after[field]:
            changes[field] = {"from": before[field], "to": after[field]}
    if before["steps"] != after["steps"]:
        changes["steps"] = {
            "from": [step["key"] for step in before["steps"]],
            "to": [step["key"] for step in after["steps"]],
        }
    return changes


@transactional
def publish_template(
    user: User, template_id: int, effective_from: datetime | None = None
) -> WorkflowTemplate:
    """`effective_from`: when the version goes live for new workflows (None: at once);
    until then they start from the newest version already in effect."""
    require_staff(user)
    template = get_template(template_id, user)
    if effective_from is not None and effective_from.tzinfo is None:
        raise Unprocessable(
            "effectiveFrom needs a time zone, such as 2027-01-01T00:00:00Z.",
            [{"field": "effectiveFrom", "message": "Add a time zone, such as Z for UTC."}],
        )
    if template.status != DRAFT:
        raise Conflict(f"Only a draft can be published; this version is {template.status}.")
    check_publishable(template.steps)
    digest = dsl.checksum(template.name, template.description, published_steps(template))
    twin = db.session.scalar(
        select(WorkflowTemplate).where(
            WorkflowTemplate.org_id == user.org_id,
            WorkflowTemplate.key == template.key,
            WorkflowTemplate.checksum == digest,
        )
    )
    if twin is not None:
        raise Conflict(
            f"This draft is identical to version {twin.version}; change something before publishing.",
            {"versionId": twin.id, "version": twin.version},
        )
    template.status = PUBLISHED
    template.checksum = digest
    template.published_at = utcnow()
    template.effective_from = effective_from
    payload = {"key": template.key, "version": template.version, "checksum": digest}
    if effective_from is not None:
        payload["effectiveFrom"] = effective_from.isoformat()
    record_event(
        org_id=user.org_id,
        event_type="template.published",
        actor_id=user.id,
        template_id=template.id,
        old_status=DRAFT,
        new_status=PUBLISHED,
        payload=payload,
    )
    return template


@transactional
def archive_template(user: User, template_id: int) -> WorkflowTemplate:
    require_staff(user)
    template = get_template(template_id, user)
    if template.status == ARCHIVED:
        raise Conflict("This version is already archived.")
    old = template.status
    template.status = ARCHIVED
    record_event(
        org_id=user.org_id,
        event_type="template.archived",
        actor_id=user.id,
        template_id=template.id,
        old_status=old,
        new_status=ARCHIVED,
    )
    return template


def require_instantiable(
    template_id: int, user: User, now: datetime | None = None
) -> WorkflowTemplate:
    if not permissions.may_read_templates(actor_of(user)):
        raise NotAllowed("Only admins and lawyers can start a workflow on a matter.")
    template = _template(template_id, user)
    if template.status != PUBLISHED:
        raise Conflict(
            f"Only a published template can be instantiated; version {template.version} is "
            f"{template.status}."
        )
    if not in_effect(template, now or utcnow()):
        raise Conflict(
            f"Version {template.version} goes live on "
            f"{template.effective_from:%Y-%m-%d %H:%M} UTC; start a workflow from it then.",
            {"effectiveFrom": template.effective_from.isoformat()}
            if template.effective_from
            else None,
        )
    if not template.steps:
        raise Conflict("This template has no steps.")
    return template


def in_effect(template: WorkflowTemplate, now: datetime) -> bool:
    return template.effective_from is None or template.effective_from <= now


def in_effect_at(now: datetime) -> Any:
    """The versions already live at `now`, as a condition of a query."""
    return or_(WorkflowTemplate.effective_from.is_(None), WorkflowTemplate.effective_from <= now)


def version_in_effect(org_id: int, key: str, now: datetime) -> WorkflowTemplate | None:
    """The newest published version of `key` that has gone live by `now` (a version
    published with a later `effectiveFrom` waits for its date), or None. What a new
    workflow of this key starts from, whoever starts it (a person, a trigger, a parent)."""
    return db.session.scalar(
        select(WorkflowTemplate)
        .where(
            WorkflowTemplate.org_id == org_id,
            WorkflowTemplate.key == key,
            WorkflowTemplate.status == PUBLISHED,
            in_effect_at(now),
        )
        .order_by(WorkflowTemplate.version.desc())
        .limit(1)
    )


def latest_published(user: User, key: str, now: datetime | None = None) -> WorkflowTemplate:
    """The newest published version of `key` in the user's firm already in effect. An
    unknown key is not found (404); a key with no published version in effect is a
    conflict (409)."""
    versions = db.session.execute(
        select(WorkflowTemplate.id, WorkflowTemplate.status, WorkflowTemplate.effective_from)
        .where(WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.key == key)
        .order_by(WorkflowTemplate.version.desc())
    ).all()
    if not versions:
        raise NotFound(f"There is no template with the key {key!r}.")
    require_template_reader(user)
    found = version_in_effect(user.org_id, key, now or utcnow())
    if found is None:
        scheduled = any(row.status == PUBLISHED for row in versions)
        raise Conflict(
            f"The template {key!r} has no version in effect yet: its published version goes "
            "live later."
            if scheduled
            else f"The template {key!r} has no published version yet: publish it before "
            "starting a workflow from it."
        )
    return found


def find_template(user: User, key: str, version: int | None = None) -> WorkflowTemplate:
    query = select(WorkflowTemplate).where(
        WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.key == key
    )
    if version is None:
        query = query.where(WorkflowTemplate.status == PUBLISHED, in_effect_at(utcnow()))
    else:
        query = query.where(WorkflowTemplate.version == version)
    template = db.session.scalar(query.order_by(WorkflowTemplate.version.desc()).limit(1))
    if template is None:
        raise NotFound(f"Template {key!r} was not found.")
    return template


# ---- builder edits: one step at a time, same validation and draft rules as update_template --


def _step_definition(body: dict[str, Any], index: int) -> StepDefinition:
    try:
        return StepDefinition.model_validate(body)
    except ValidationError as error:
        problems = [{"step": index, **detail} for detail in validation_details(error)]
        raise Unprocessable("This step is not valid.", problems) from error


def _validated_rows(definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step of the edited template, validated together: keys, configs, references."""
    steps = [_step_definition(body, index) for index, body in enumerate(definitions)]
    return validated_steps(steps)


def _role_fits(definition: dict[str, Any]) -> bool:
    try:
        return get_handler(definition["actionType"]).allows_role(definition["roleScope"])
    except DomainError:
        return True  # an unknown type is reported by validation


def _editable_draft(
    user: User, template_id: int
) -> tuple[WorkflowTemplate, WorkflowTemplate, bool]:
    """The version asked for, the draft to edit (the next version when it was published)
    and whether that draft was created by this call."""
    require_staff(user)
    source = get_template(template_id, user)
    draft, created = _draft_of(source, user)
    return source, draft, created


def _step_index(source: WorkflowTemplate, draft: WorkflowTemplate, step_id: int) -> int:
    """A step of the version asked for, found in the draft by its key (a new draft has new ids)."""
    for step in source.steps:
        if step.id == step_id:
            return next(i for i, s in enumerate(draft.steps) if s.key == step.key)
    raise NotFound(f"Step {step_id} is not part of this template.")


def _apply(step: TemplateStep, values: dict[str, Any]) -> bool:
    changed = False
    for field, value in values.items():
        if getattr(step, field) != value:
            setattr(step, field, value)
            changed = True
    return changed


def _renumber(template: WorkflowTemplate, ordered: list[TemplateStep]) -> None:
    """Two passes: (template, order) is unique and rows are updated one at a time in an
    order we do not control, so every step first moves to a free negative slot."""
    for index, step in enumerate(ordered, start=1):
        step.order = -index
    db.session.flush()
    for index, step in enumerate(ordered, start=1):
        step.order = index
    db.session.flush()
    template.steps.sort(key=lambda s: s.order)


def _record_edit(
    user: User, template: WorkflowTemplate, event_type: str, payload: dict[str, Any]
) -> None:
    template.updated_at = utcnow()
    record_event(
        org_id=user.org_id,
        event_type=event_type,
        actor_id=user.id,
        template_id=template.id,
        payload={"key": template.key, "version": template.version, **payload},
    )


@transactional
def add_template_step(
    user: User, template_id: int, body: dict[str, Any]
) -> tuple[WorkflowTemplate, TemplateStep]:
    """`body` is one step in the API's camelCase shape; it goes last."""
    _source, template, _created = _editable_draft(user, template_id)
    definitions = [definition_of(step) for step in template.steps]
    rows = _validated_rows([*definitions, body])
    step = TemplateStep(order=len(template.steps) + 1, **rows[-1])
    template.steps.append(step)
    db.session.flush()
    _record_edit(user, template, "template.step_added", {"stepKey": step.key})
    return template, step


@transactional
def update_template_step(
    user: User, template_id: int, step_id: int, changes: dict[str, Any]
) -> tuple[WorkflowTemplate, TemplateStep]:
    """`changes` holds any camelCase step fields; the others keep their values."""
    source, template, _created = _editable_draft(user, template_id)
    index = _step_index(source, template, step_id)
    definitions = [definition_of(step) for step in template.steps]
    definitions[index] = {**definitions[index], **changes, "key": definitions[index]["key"]}
    merged = definitions[index]
    if "roleScope" not in changes and not _role_fits(merged):
        # A new action type brings its own role when the saved one cannot act on it.
        del merged["roleScope"]
    rows = _validated_rows(definitions)
    step = template.steps[index]
    if _apply(step, rows[index]):
        db.session.flush()
        _record_edit(user, template, "template.step_updated", {"stepKey": step.key})
    return template, step


@transactional
def remove_template_step(user: User, template_id: int, step_id: int) -> WorkflowTemplate:
    source, template, _created = _editable_draft(user, template_id)
    index = _step_index(source, template, step_id)
    step = template.steps[index]
    dependents = [
        i
        for i, other in enumerate(template.steps)
        if step.key in (other.depends_on or []) or other.on_failure == step.key
    ]
    if dependents:
        raise Unprocessable(
            f"Other steps depend on {step.title!r}; change them first.",
            [
                {
                    "step": i,
                    "key": template.steps[i].key,
                    "field": "dependsOn",
                    "message": f"depends on {step.title!r}, which you are removing",
                }
                for i in dependents
            ],
        )
    remaining = [s for s in template.steps if s is not step]
    template.steps.remove(step)
    db.session.flush()
    _renumber(template, remaining)
    _record_edit(user, template, "template.step_removed", {"stepKey": step.key})
    return template


@transactional
def reorder_template_steps(user: User, template_id: int, step_ids: list[int]) -> WorkflowTemplate:
    """`step_ids` lists every step of the version asked for, in the new order."""
    source, template, _created = _editable_draft(user, template_id)
    current = [s.id for s in source.steps]
    if len(set(step_ids)) != len(step_ids):
        raise Invalid("The new order lists a step twice; list each step once.")
    if sorted(step_ids) != sorted(current):  # the page or client saw other steps
        raise Conflict(
            "The new order must list every step of the template exactly once; the "
            "template's steps have changed since they were read.",
            {"expected": current},
        )
    ordered = [template.steps[_step_index(source, template, i)] for i in step_ids]
    if ordered == list(template.steps):
        return template
    before = [s.key for s in template.steps]
    _renumber(template, ordered)
    _validated_rows([definition_of(step) for step in template.steps])
    _record_edit(
        user,
        template,
        "template.steps_reordered",
        {"from": before, "to": [s.key for s in template.steps]},
    )
    return template


def move_order(step_ids: list[int], step_id: int, offset: int) -> list[int]:
    """The order after moving one step up (-1) or down (+1); the ends stay put."""
    if step_id not in step_ids:
        raise NotFound(f"Step {step_id} is not part of this template.")
    index = step_ids.index(step_id)
    target = max(0, min(len(step_ids) - 1, index + offset))
    reordered = [i for i in step_ids if i != step_id]
    reordered.insert(target, step_id)
    return reordered


@transactional
def move_template_step(user: User, template_id: int, step_id: int, offset: int) -> WorkflowTemplate:
    """The keyboard path to the same reorder as drag-and-drop."""
    source = get_template(template_id, user)
    order = move_order([s.id for s in source.steps], step_id, offset)
    return reorder_template_steps(user, template_id, order)


# ---- the template door ------------------------------------------------------------------
# Every edit of a template is `perform(actor, template_id, command) -> TemplateChanged`, the
# shape of the step and instance doors: one transaction, the checks inside. An edit of a
# published version lands on its next draft, which the answer names.


@dataclass(frozen=True)
class Update:
    """A new name, description or whole step list (StepDefinitions)."""

    name: str | None = None
    description: str | None = None
    steps: list[StepDefinition] | None = None


@dataclass(frozen=True)
class AddStep:
    """One step in the API's camelCase shape; it goes last."""

    body: dict[str, Any]


@dataclass(frozen=True)
class EditStep:
    """Any camelCase step fields; the others keep their values."""

    step_id: int
    changes: dict[str, Any]


@dataclass(frozen=True)
class RemoveStep:
    step_id: int


@dataclass(frozen=True)
class ReorderSteps:
    step_ids: list[int]


@dataclass(frozen=True)
class MoveStep:
    step_id: int
    offset: int  # -1 up, 1 down


@dataclass(frozen=True)
class Publish:
    """`effective_from`: when the version goes live for new workflows (None: at once)."""

    effective_from: datetime | None = None


@dataclass(frozen=True)
class Archive:
    pass


TemplateCommand = (
    Update | AddStep | EditStep | RemoveStep | ReorderSteps | MoveStep | Publish | Archive
)


@dataclass(frozen=True)
class TemplateChanged:
    """The version the command changed (a new draft when it edited a published one),
    the step it added or edited, and whether the version is new."""

    template: WorkflowTemplate
    step: TemplateStep | None = None
    created: bool = False

    @property
    def step_id(self) -> int | None:
        return self.step.id if self.step is not None else None


@traced("template perform")
@transactional
def perform(actor: User, template_id: int, command: TemplateCommand) -> TemplateChanged:
    match command:
        case Update(name=name, description=description, steps=steps):
            template, created = update_template(actor, template_id, name, description, steps)
            return TemplateChanged(template, created=created)
        case AddStep(body=body):
            template, step = add_template_step(actor, template_id, body)
            return TemplateChanged(template, step, template.id != template_id)
        case EditStep(step_id=step_id, changes=changes):
            template, step = update_template_step(actor, template_id, step_id, changes)
            return TemplateChanged(template, step, template.id != template_id)
        case RemoveStep(step_id=step_id):
            template = remove_template_step(actor, template_id, step_id)
        case ReorderSteps(step_ids=step_ids):
            template = reorder_template_steps(actor, template_id, step_ids)
        case MoveStep(step_id=step_id, offset=offset):
            template = move_template_step(actor, template_id, step_id, offset)
        case Publish(effective_from=effective_from):
            template = publish_template(actor, template_id, effective_from)
        case Archive():
            template = archive_template(actor, template_id)
    return TemplateChanged(template, created=template.id != template_id)
