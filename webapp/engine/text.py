"""Checks on text that must hold wherever it goes: no NUL character (PostgreSQL refuses
it in text columns), no line breaks in text that ends up in a header (an email subject)."""

import re
from typing import Any

from webapp.engine.errors import Unprocessable

NUL = "\x00"
NUL_MESSAGE = "Text may not contain the NUL character (\\u0000)."
LINE_BREAKS = ("\r", "\n")


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False


LINE_BREAK_RUN = re.compile(r"[\r\n]+")


def has_line_break(value: str) -> bool:
    return any(mark in value for mark in LINE_BREAKS)


def one_line(value: str) -> str:
    """The text with each run of line breaks turned into one space: what a header can
    carry of a value written before line breaks were refused."""
    return LINE_BREAK_RUN.sub(" ", value).strip()


def one_line_problem(what: str) -> str:
    return f"{what} must fit on one line: remove the line breaks."


def refuse_line_breaks(value: str | None, what: str, field: str) -> None:
    """422 in plain words for text that ends up in a header (an email subject)."""
    if value and has_line_break(value):
        message = one_line_problem(what)
        raise Unprocessable(message, [{"field": field, "message": message}])
