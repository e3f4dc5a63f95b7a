"""The workflow definition language: steps as data, shared by the API, import/export
and the builder. Pydantic models give validation and the JSON Schema in one place."""

import hashlib
import json
import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from webapp.engine.roles import Role
from webapp.engine.text import has_line_break, one_line_problem

# A step key is a slug as people write them: `client-facts`, `review_a`. Conditions and
# templates reach a key with a hyphen as `steps["client-facts"]`.
STEP_KEY_PATTERN = r"^[a-z][a-z0-9_-]{0,99}$"
# A template key (named by `workflowId` and `core.subworkflow`) as keys derived from names.
TEMPLATE_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,99}$"


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class RetryPolicy(CamelModel):
    max_attempts: int = Field(default=3, ge=1, le=20)
    backoff_seconds: float = Field(default=2.0, ge=0, le=3600)
    backoff_factor: float = Field(default=2.0, ge=1, le=10)


class StepDefinition(CamelModel):
    key: str | None = Field(
        default=None, pattern=STEP_KEY_PATTERN, description="Unique in the template; from title"
    )
    title: str = Field(min_length=1, max_length=300, description="A template, one line")
    action_type: str = Field(
        min_length=1, max_length=50, description="An action type of GET /actions"
    )
    action_config: dict[str, Any] = Field(
        default_factory=dict, description="The action type's settings (its configSchema)"
    )
    role_scope: Role = Field(default=Role.LAWYER, description="Who acts")
    required: bool = True
    depends_on: list[str] | None = Field(
        default=None, description="null: after the previous step; []: at once; keys: after them"
    )
    condition: str | None = Field(
        default=None, max_length=2000, description="CEL; false skips the step"
    )
    on_failure: str | None = Field(default=None, description="Key of the step handling a failure")
    retry: RetryPolicy | None = None
    due_in: str | None = Field(
        default=None,
        max_length=50,
        description="ISO-8601 duration, words (3 days), or N business days / N court days",
    )

    @field_validator("title")
    @classmethod
    def title_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("title must not be blank")
        if has_line_break(value.strip()):  # titles end up in email subjects
            raise ValueError(one_line_problem("A step title"))
        return value.strip()

    @field_validator("due_in")
    @classmethod
    def due_in_is_due_time(cls, value: str | None) -> str | None:
        return normalize_due_in(value) if value and value.strip() else None

    @field_validator("condition")
    @classmethod
    def blank_condition_is_none(cls, value: str | None) -> str | None:
        return value.strip() if value and value.strip() else None


_DURATION = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def parse_duration(value: str) -> timedelta:
    """ISO-8601 durations of days, hours, minutes and seconds (P3D, PT4H, P1DT2H)."""
    match = _DURATION.match(value.strip().upper())
    if not match or value.strip().upper() in {"P", "PT"}:
        raise ValueError(f"{value!r} is not an ISO-8601 duration such as P3D or PT4H")
    parts = {name: int(number) for name, number in match.groupdict().items() if number}
    return timedelta(**parts)


# Durations as people write them: "3 days", "2 weeks", "4 hours", "1 day 2 hours".
_FRIENDLY_PART = re.compile(
    r"(?P<number>\d+)\s*(?P<unit>weeks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b"
)
_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


def _unit_seconds(unit: str) -> int:
    return _UNIT_SECONDS["m" if unit.startswith("mi") else unit[0]]


def iso_duration(delta: timedelta) -> str:
    """P3D, PT4H, P1DT2H30M: the form parse_duration reads back."""
    days, rest = delta.days, delta.seconds
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    text = f"P{days}D" if days else "P"
    return f"{text}T{clock}" if clock else (text if days else "PT0S")


def spoken_duration(value: str) -> str:
    """An ISO-8601 duration as people say it ("P1DT4H" -> "1 day 4 hours"); any other text
    as it is (a person's own input shown back to them)."""
    try:
        delta = parse_duration(value)
    except ValueError:
        return value
    weeks, days = divmod(delta.days, 7) if delta.days % 7 == 0 else (0, delta.days)
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    units = (
        (weeks, "week"),
        (days, "day"),
        (hours, "hour"),
        (minutes, "minute"),
        (seconds, "second"),
    )
    words = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in units if n]
    return " ".join(words) or "no time"


def normalize_duration(value: str) -> str:
    """An ISO-8601 duration (any case) or a friendly one ("3 days", "2 weeks", "4 hours",
    "1 day 2 hours") as the ISO-8601 text the engine stores: "3 days" -> "P3D"."""
    text = value.strip()
    if text.upper().startswith("P"):
        parse_duration(text)
        return text.upper()
    words = re.sub(r"\s*(,|\band\b)\s*", " ", text.lower()).strip()
    parts = list(_FRIENDLY_PART.finditer(words))
    leftover = _FRIENDLY_PART.sub("", words).strip()
    if not parts or leftover:
        raise ValueError(
            f"{value!r} is not a duration: write it like 3 days, 2 weeks, 4 hours or P3D"
        )
    seconds = sum(int(p["number"]) * _unit_seconds(p["unit"]) for p in parts)
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a duration: it must be longer than zero")
    return iso_duration(timedelta(seconds=seconds))


# Counts of open days in the firm's calendar (engine/calendars.py counts them).
_OPEN_DAYS = re.compile(r"^(?P<count>\d+)\s+(?P<kind>business|court)\s+days?$")
MAX_OPEN_DAYS = 3650  # ten years of open days: anything longer is a typing slip


def open_days_in(text: str) -> tuple[str, int] | None:
    """("court", 10) for "10 Court Days", ("business", 1) for "1 business day"; None when
    the text is not a count of open days. ValueError for a count out of range."""
    match = _OPEN_DAYS.match(" ".join(text.strip().lower().split()))
    if not match:
        return None
    count = int(match["count"])
    if not 1 <= count <= MAX_OPEN_DAYS:
        raise ValueError(f"{text!r}: count between 1 and {MAX_OPEN_DAYS} {match['kind']} days")
    return match["kind"], count


def normalize_due_in(value: str) -> str:
    """A step's due time as the engine stores it: "10 Court Days" -> "10 court days",
    "3 days" -> "P3D"; ValueError with a sentence for the person otherwise."""
    counted = open_days_in(value)
    if counted:
        kind, count = counted
        return f"{count} {kind} {'day' if count == 1 else 'days'}"
    try:
        return normalize_duration(value)
    except ValueError as error:
        raise ValueError(f"{error}; or count open days: 10 business days, 5 court days") from None


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"step_{slug}".rstrip("_")
    return slug[:90]


def assign_keys(
    steps: list[StepDefinition], taken_keys: frozenset[str] = frozenset()
) -> list[StepDefinition]:
    """Derive missing keys from titles, keeping every key unique."""
    taken = {s.key for s in steps if s.key} | set(taken_keys)
    result = []
    for step in steps:
        if step.key:
            result.append(step)
            continue
        base = slugify(step.title)
        key, n = base, 2
        while key in taken:
            key, n = f"{base}_{n}", n + 1
        taken.add(key)
        result.append(step.model_copy(update={"key": key}))
    return result


# The fields of a step definition, in the camelCase of the DSL and the API.
DEFINITION_FIELDS = (
    "title",
    "actionType",
    "actionConfig",
    "roleScope",
    "required",
    "dependsOn",
    "condition",
    "onFailure",
    "retry",
    "dueIn",
)


def canonical_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    fields = ("key", *DEFINITION_FIELDS)
    return [{f: step.get(f) for f in fields} for step in steps]


def checksum(name: str, description: str, steps: list[dict[str, Any]]) -> str:
    body = {"name": name, "description": description, "steps": canonical_steps(steps)}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
