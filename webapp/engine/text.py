"""Checks on text that must hold wherever it goes: no NUL character (PostgreSQL refuses
it in text columns), no line breaks in text that ends up in a header (an email subject)."""

from typing import Any

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


def has_line_break(value: str) -> bool:
    return any(mark in value for mark in LINE_BREAKS)
