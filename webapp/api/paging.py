from flask import request

from webapp.engine.errors import Invalid

MAX_LIMIT = 200
MAX_OFFSET = 2**31 - 1  # what every database's integer takes


def page_args(default: int = 50) -> tuple[int, int]:
    try:
        limit = int(request.args.get("limit", default))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise Invalid("limit and offset must be whole numbers.") from None
    if not 1 <= limit <= MAX_LIMIT or not 0 <= offset <= MAX_OFFSET:
        raise Invalid(f"limit must be 1 to {MAX_LIMIT} and offset 0 to {MAX_OFFSET:,}.")
    return limit, offset


def after_arg() -> int | None:
    """The keyset cursor of a list newest first: the id of the last row already seen."""
    text = request.args.get("after")
    if text is None:
        return None
    if not (text.isdigit() and 1 <= int(text) <= MAX_OFFSET):
        raise Invalid(
            f"after must be an id from a previous page: a whole number from 1 to {MAX_OFFSET:,}."
        )
    return int(text)


def after_text_arg(what: str) -> str | None:
    """The keyset cursor of a list in text order: the `what` (a reference, a key) of the
    last row already seen."""
    text = request.args.get("after")
    if text is None:
        return None
    if not 1 <= len(text) <= MAX_CURSOR:
        raise Invalid(f"after must be the {what} of the last item of a previous page.")
    return text


MAX_CURSOR = 300
TEXT_CURSOR = {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR}
