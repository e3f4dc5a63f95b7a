"""The template builder: a version, its siblings and the preview of how it unfolds."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from webapp.engine.errors import NotFound
from webapp.engine.graph import Graph
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import TemplateStep, User, WorkflowTemplate
from webapp.services.access import require_staff
from webapp.services.templates import get_template
from webapp.web.reads.common import ActionType, action_label, action_types


@dataclass
class PreviewItem:
    key: str
    title: str
    role: str
    action_label: str
    waits_on: list[str]
    condition: str | None
    required: bool


# A long template's preview shows its first stages up to about this many steps; the rest
# come when asked ("Show the whole preview").
PREVIEW_ITEMS = 25


@dataclass
class Preview:
    stages: list[list[PreviewItem]]
    stuck: list[PreviewItem]  # never become ready: a cycle or an unknown prerequisite
    shown: list[list[PreviewItem]] = field(default_factory=list)  # what the page draws

    def cut(self, whole: bool) -> "Preview":
        """Every stage when `whole`; else the first stages up to PREVIEW_ITEMS steps in all,
        the last of them cut short when it alone holds more."""
        if whole:
            return Preview(self.stages, self.stuck, self.stages)
        shown: list[list[PreviewItem]] = []
        room = PREVIEW_ITEMS
        for stage in self.stages:
            if room <= 0:
                break
            shown.append(stage[:room])
            room -= len(stage)
        return Preview(self.stages, self.stuck, shown)

    @property
    def hidden_steps(self) -> int:
        return sum(map(len, self.stages)) - sum(map(len, self.shown))


def _stages(requires: dict[str, list[str]]) -> dict[str, int]:
    """Each step's stage: 0 when it waits on nothing, else one after its last prerequisite's.
    Peeled a stage at a time from the steps whose prerequisites are all placed (linear in
    the edges; rescanning every step per stage made a 400-step chain quadratic). A step in
    a cycle or waiting on an unknown key gets none."""
    waiting = {key: set(before) for key, before in requires.items()}
    unblocks: dict[str, list[str]] = {}
    for key, before in waiting.items():
        for prerequisite in before:
            unblocks.setdefault(prerequisite, []).append(key)
    stage_of: dict[str, int] = {}
    frontier = [key for key, before in waiting.items() if not before]
    stage = 0
    while frontier:
        following = []
        for key in frontier:
            stage_of[key] = stage
            for later in unblocks.get(key, []):
                waiting[later].discard(key)
                if not waiting[later]:
                    following.append(later)
        frontier, stage = following, stage + 1
    return stage_of


def preview_layout(steps: Sequence[Any]) -> Preview:
    """How a new instance of these steps unfolds: stage 1 starts READY, each later stage
    waits on the one before (the engine's own prerequisite rule)."""
    titles = {s.key: s.title for s in steps}
    graph = Graph(steps)  # once: a graph per step made a 400-step preview take 1 s
    requires = {s.key: graph.prerequisites[s.key] for s in steps}
    stage_of = _stages(requires)
    stage = max(stage_of.values(), default=-1) + 1

    def item(step: Any) -> PreviewItem:
        return PreviewItem(
            key=step.key,
            title=step.title,
            role=step.role_scope,
            action_label=action_label(step.action_type),
            waits_on=[titles.get(k, k) for k in requires[step.key]],
            condition=step.condition,
            required=step.required,
        )

    stages: list[list[PreviewItem]] = [[] for _ in range(stage)]
    for step in steps:
        if step.key in stage_of:
            stages[stage_of[step.key]].append(item(step))
    return Preview(stages, [item(s) for s in steps if s.key not in stage_of])


# A template longer than this shows a window of its rows, not all of them: a page of
# 400 editable rows weighs megabytes and takes seconds to draw.
WINDOW = 25


@dataclass
class StepWindow:
    """The rows the step list shows: all of them, or WINDOW from `start`. The ids of the
    rows above and below travel hidden in the reorder form, so dragging within the window
    keeps the rest of the order."""

    steps: list[TemplateStep]
    start: int  # the index of the first row shown
    before: list[int]  # the ids of the steps above the window, in order
    after: list[int]  # and below it
    total: int

    @property
    def whole(self) -> bool:
        return not self.before and not self.after

    @property
    def long(self) -> bool:
        return self.total > WINDOW

    @property
    def earlier_from(self) -> int:
        return max(0, self.start - WINDOW)

    @property
    def later_from(self) -> int:
        return self.start + WINDOW


def step_window(
    steps: Sequence[TemplateStep],
    start: int | None = None,
    around: int | None = None,
    whole: bool = False,
) -> StepWindow:
    """All rows of a short template (or when `whole`); else WINDOW rows from `start`,
    moved as little as it takes to show the step `around` (one just moved or added); with
    no `start`, from a little above `around`, or from the top."""
    if whole or len(steps) <= WINDOW:
        return StepWindow(list(steps), 0, [], [], len(steps))
    index = next((n for n, s in enumerate(steps) if s.id == around), None)
    if start is None:
        start = 0 if index is None else index - 3
    elif index is not None and not start <= index < start + WINDOW:
        start = index if index < start else index - WINDOW + 1
    start = min(max(start, 0), len(steps) - WINDOW)
    end = start + WINDOW
    ids = [s.id for s in steps]
    return StepWindow(list(steps[start:end]), start, ids[:start], ids[end:], len(steps))


@dataclass
class BuilderView:
    template: WorkflowTemplate
    editable: bool
    versions: list[WorkflowTemplate]
    draft: WorkflowTemplate | None  # a newer draft of a published or archived version
    preview: Preview
    types: list[ActionType]
    roles: list[str] = field(default_factory=lambda: [r.value for r in Role])


def builder_view(user: User, template_id: int) -> BuilderView:
    require_staff(user)
    template = get_template(template_id, user)
    versions = list(
        db.session.scalars(
            select(WorkflowTemplate)
            .where(WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.key == template.key)
            .order_by(WorkflowTemplate.version.desc())
        )
    )
    draft = next((v for v in versions if v.status == "DRAFT" and v.id != template.id), None)
    return BuilderView(
        template=template,
        editable=template.status == "DRAFT",
        versions=versions,
        draft=draft,
        preview=preview_layout(template.steps),
        types=action_types(),
    )


def template_step(template: WorkflowTemplate, step_id: int) -> TemplateStep:
    for step in template.steps:
        if step.id == step_id:
            return step
    raise NotFound(f"Step {step_id} is not part of this template.")
