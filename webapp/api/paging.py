from flask import request

from webapp.engine.errors import Invalid

MAX_LIMIT = 200


def page_args(default: int = 50) -> tuple[int, int]:
    try:
        limit = int(request.args.get("limit", default))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise Invalid("limit and offset must be whole numbers.") from None
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise Invalid(f"limit must be 1 to {MAX_LIMIT} and offset at least 0.")
    return limit, offset
