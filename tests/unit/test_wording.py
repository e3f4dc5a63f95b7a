"""Field errors in plain words: every entry of the table, from a real pydantic error."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

import pytest
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    Json,
    ValidationError,
    field_validator,
)

from webapp.engine.actions.base import validation_details
from webapp.engine.definition import STEP_KEY_PATTERN, TEMPLATE_KEY_PATTERN
from webapp.engine.wording import WORDING, field_error_message, sentence


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Inner(BaseModel):
    a: int


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    title: Annotated[str, Field(min_length=1)] | None = None
    code: Annotated[str, Field(min_length=3, max_length=5)] | None = None
    step_key: Annotated[str, Field(pattern=STEP_KEY_PATTERN)] | None = None
    template_key: Annotated[str, Field(pattern=TEMPLATE_KEY_PATTERN)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    other_pattern: Annotated[str, Field(pattern=r"^x+$")] | None = None
    whole: int | None = None
    strict_whole: Annotated[int, Field(strict=True)] | None = None
    real: float | None = None
    strict_real: Annotated[float, Field(strict=True)] | None = None
    amount: Decimal | None = None
    flag: bool | None = None
    strict_flag: Annotated[bool, Field(strict=True)] | None = None
    positive: Annotated[int, Field(gt=0)] | None = None
    at_least: Annotated[int, Field(ge=1)] | None = None
    below: Annotated[int, Field(lt=10)] | None = None
    at_most: Annotated[int, Field(le=20)] | None = None
    colour: Colour | None = None
    role: Literal["LAWYER", "CLIENT"] | None = None
    items: list[str] | None = None
    some: Annotated[list[str], Field(min_length=2)] | None = None
    few: Annotated[list[str], Field(max_length=1)] | None = None
    one: Annotated[list[str], Field(max_length=1, min_length=1)] | None = None
    mapping: dict[str, Any] | None = None
    inner: Inner | None = None
    url: AnyHttpUrl | None = None
    web: HttpUrl | None = None
    short_url: Annotated[AnyHttpUrl, Field()] | None = None
    payload: Json[Any] | None = None
    day: date | None = None
    moment: datetime | None = None
    named: str | None = None
    checked: str | None = None
    required: str

    @field_validator("named")
    @classmethod
    def not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("name must not be blank")
        return value

    @field_validator("checked")
    @classmethod
    def asserted(cls, value: str | None) -> str | None:
        assert value != "no", "say yes"
        return value


def first_error(**fields: Any) -> dict:
    body = {"required": "r", **fields}
    if fields.get("required", "r") is None:
        body.pop("required")
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(body)
    [error] = caught.value.errors(include_url=False)
    return error


CASES = [
    ("missing", {"required": None}, "This is required."),
    ("extra_forbidden", {"surprise": 1}, "This field is not expected here; remove it."),
    ("string_type", {"text": 5}, "Enter text."),
    ("string_too_short", {"title": ""}, "Enter a value."),
    ("string_too_long", {"code": "abcdef"}, "Enter at most 5 characters."),
    (
        "string_pattern_mismatch",
        {"step_key": "Client Facts"},
        "Use lower-case letters, digits, hyphens and underscores, starting with a letter.",
    ),
    ("int_type", {"strict_whole": "3"}, "Enter a whole number."),
    ("int_parsing", {"whole": "three"}, "Enter a whole number."),
    ("int_from_float", {"whole": 1.5}, "Enter a whole number, without decimals."),
    ("float_type", {"strict_real": "1.5"}, "Enter a number."),
    ("float_parsing", {"real": "lots"}, "Enter a number."),
    ("decimal_parsing", {"amount": "500,00"}, "Enter a number."),
    ("bool_type", {"strict_flag": "yes"}, "Choose yes or no."),
    ("bool_parsing", {"flag": "perhaps"}, "Choose yes or no."),
    ("greater_than", {"positive": 0}, "Enter a number greater than 0."),
    ("greater_than_equal", {"at_least": 0}, "Enter 1 or more."),
    ("less_than", {"below": 10}, "Enter a number less than 10."),
    ("less_than_equal", {"at_most": 21}, "Enter 20 or less."),
    ("enum", {"colour": "green"}, "Choose one of 'red' or 'blue'."),
    ("literal_error", {"role": "PARTNER"}, "Choose one of 'LAWYER' or 'CLIENT'."),
    ("list_type", {"items": "a"}, "Enter a list."),
    ("dict_type", {"mapping": [1]}, "Enter named values (a JSON object)."),
    ("model_type", {"inner": [1]}, "Enter named values (a JSON object)."),
    ("too_short", {"some": ["a"]}, "Add at least 2 items."),
    ("too_long", {"few": ["a", "b"]}, "Keep at most 1 item."),
    ("url_type", {"url": 5}, "Enter a web address."),
    (
        "url_parsing",
        {"url": "not a url"},
        "Enter a full web address, such as https://example.com/path.",
    ),
    (
        "url_scheme",
        {"url": "ftp://example.com"},
        "Use a web address starting with 'http' or 'https'.",
    ),
    (
        "url_too_long",
        {"web": "https://e.com/" + "a" * 2100},
        "Enter a web address of at most 2083 characters.",
    ),
    ("json_invalid", {"payload": "{nope"}, "Enter valid JSON."),
    ("json_type", {"payload": 5}, "Enter valid JSON."),
    ("date_from_datetime_parsing", {"day": "31/03/2026"}, "Enter a date such as 2026-03-31."),
    (
        "datetime_from_date_parsing",
        {"moment": "soon"},
        "Enter a date and time such as 2026-03-31T09:00.",
    ),
    ("value_error", {"named": " "}, "Name must not be blank."),
    ("assertion_error", {"checked": "no"}, "Say yes."),
]


@pytest.mark.parametrize(("kind", "fields", "expected"), CASES, ids=[c[0] for c in CASES])
def test_error_reads_as_a_plain_sentence_when_pydantic_reports_it(kind, fields, expected):
    error = first_error(**fields)
    assert error["type"] == kind
    assert field_error_message(error) == expected


def test_every_entry_of_the_table_is_covered_when_the_cases_are_listed():
    assert {kind for kind, _, _ in CASES} == set(WORDING)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"title": ""}, "Enter a value."),
        ({"code": "ab"}, "Enter at least 3 characters."),
        (
            {"template_key": "a-b"},
            "Use lower-case letters, digits and underscores, starting with a letter.",
        ),
        ({"currency": "eur"}, "Enter a three-letter currency code, such as EUR."),
        ({"other_pattern": "y"}, "This is not in the expected format."),
        ({"one": []}, "Add at least 1 item."),
    ],
)
def test_wording_follows_the_limit_when_the_context_differs(fields, expected):
    assert field_error_message(first_error(**fields)) == expected


def test_validation_details_carry_the_plain_sentence_and_the_field_when_a_body_is_refused():
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate({"title": "", "whole": "x"})
    assert validation_details(caught.value) == [
        {"field": "title", "message": "Enter a value."},
        {"field": "whole", "message": "Enter a whole number."},
        {"field": "required", "message": "This is required."},
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("title must not be blank", "Title must not be blank."), ("Done!", "Done!"), ("", "")],
)
def test_sentence_is_capitalised_and_closed_when_made(text, expected):
    assert sentence(text) == expected
