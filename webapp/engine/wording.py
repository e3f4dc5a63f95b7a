"""Field errors in plain words. Pydantic says "String should have at least 1 character";
a person reads "Enter a value." One table, by pydantic error type, serves the API's 422
details and the builder's and editor's inline messages alike (through
`engine.actions.base.validation_details`)."""

import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import ErrorDetails

from webapp.engine.definition import STEP_KEY_PATTERN, TEMPLATE_KEY_PATTERN

Context = Mapping[str, Any]

# Patterns people meet, said in words; any other pattern gets the generic sentence.
PATTERN_WORDING = {
    STEP_KEY_PATTERN: "Use lower-case letters, digits, hyphens and underscores, starting with "
    "a letter.",
    TEMPLATE_KEY_PATTERN: "Use lower-case letters, digits and underscores, starting with a letter.",
    r"^([0-9]+|[a-z][a-z0-9_]*)$": "Enter a template key (lower-case letters, digits and "
    "underscores, starting with a letter) or a template id.",
    r"^[A-Z]{3}$": "Enter a three-letter currency code, such as EUR.",
}


def _plural(count: Any, one: str, many: str) -> str:
    return one if count == 1 else many


def _too_short_text(ctx: Context) -> str:
    least = ctx.get("min_length", 1)
    if least == 1:
        return "Enter a value."
    return f"Enter at least {least} characters."


def _too_short_list(ctx: Context) -> str:
    least = ctx.get("min_length", 1)
    return f"Add at least {least} {_plural(least, 'item', 'items')}."


def _too_long_list(ctx: Context) -> str:
    most = ctx.get("max_length")
    return f"Keep at most {most} {_plural(most, 'item', 'items')}."


def _pattern(ctx: Context) -> str:
    return PATTERN_WORDING.get(str(ctx.get("pattern")), "This is not in the expected format.")


def _own_sentence(ctx: Context) -> str:
    """A validator's own message (`raise ValueError("title must not be blank")`)."""
    lines = str(ctx.get("error") or "").strip().splitlines()  # `assert` adds its source
    return sentence(lines[0]) if lines else "This value is not valid."


# pydantic error type -> the sentence, from the error's context (limits, choices, …).
WORDING: dict[str, Callable[[Context], str]] = {
    "missing": lambda ctx: "This is required.",
    "extra_forbidden": lambda ctx: "This field is not expected here; remove it.",
    "string_type": lambda ctx: "Enter text.",
    "string_too_short": _too_short_text,
    "string_too_long": lambda ctx: f"Enter at most {ctx.get('max_length')} characters.",
    "string_pattern_mismatch": _pattern,
    "int_type": lambda ctx: "Enter a whole number.",
    "int_parsing": lambda ctx: "Enter a whole number.",
    "int_from_float": lambda ctx: "Enter a whole number, without decimals.",
    "float_type": lambda ctx: "Enter a number.",
    "float_parsing": lambda ctx: "Enter a number.",
    "decimal_parsing": lambda ctx: "Enter a number.",
    "bool_type": lambda ctx: "Choose yes or no.",
    "bool_parsing": lambda ctx: "Choose yes or no.",
    "greater_than": lambda ctx: f"Enter a number greater than {ctx.get('gt')}.",
    "greater_than_equal": lambda ctx: f"Enter {ctx.get('ge')} or more.",
    "less_than": lambda ctx: f"Enter a number less than {ctx.get('lt')}.",
    "less_than_equal": lambda ctx: f"Enter {ctx.get('le')} or less.",
    "enum": lambda ctx: f"Choose one of {ctx.get('expected')}.",
    "literal_error": lambda ctx: f"Choose one of {ctx.get('expected')}.",
    "list_type": lambda ctx: "Enter a list.",
    "dict_type": lambda ctx: "Enter named values (a JSON object).",
    "model_type": lambda ctx: "Enter named values (a JSON object).",
    "too_short": _too_short_list,
    "too_long": _too_long_list,
    "url_type": lambda ctx: "Enter a web address.",
    "url_parsing": lambda ctx: "Enter a full web address, such as https://example.com/path.",
    "url_scheme": lambda ctx: f"Use a web address starting with {ctx.get('expected_schemes')}.",
    "url_too_long": lambda ctx: (
        f"Enter a web address of at most {ctx.get('max_length')} characters."
    ),
    "json_invalid": lambda ctx: "Enter valid JSON.",
    "json_type": lambda ctx: "Enter valid JSON.",
    "date_from_datetime_parsing": lambda ctx: "Enter a date such as 2026-03-31.",
    "datetime_from_date_parsing": lambda ctx: "Enter a date and time such as 2026-03-31T09:00.",
    "value_error": _own_sentence,
    "assertion_error": _own_sentence,
}


def sentence(text: str) -> str:
    """Starts with a capital and ends with a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if re.search(r"[.!?]$", text) else f"{text}."


def field_error_message(error: ErrorDetails) -> str:
    """The plain sentence for one pydantic error; an unlisted type keeps pydantic's
    message, as a sentence."""
    wording = WORDING.get(error["type"])
    if wording is not None:
        return wording(error.get("ctx") or {})
    return sentence(error["msg"])
