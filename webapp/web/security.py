"""/admin/security: the firm's security events for its admins (webapp/web/reads/security.py)."""

from typing import Any

from flask import Blueprint, request
from flask_login import current_user, login_required

from webapp.api.paging import MAX_OFFSET
from webapp.engine.errors import Invalid
from webapp.web.htmx import page_or_block
from webapp.web.reads import security as reads

bp = Blueprint("security", __name__, url_prefix="/admin/security")
PAGE = "admin/security.html"


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


def before_arg() -> int | None:
    text = request.args.get("before")
    if text is None:
        return None
    if not (text.isdigit() and 1 <= int(text) <= MAX_OFFSET):
        raise Invalid("before must be the number of an event on the page before.")
    return int(text)


@bp.get("")
def events_page() -> Any:
    kind = reads.kind_filter(request.args.get("kind"))
    page = reads.security_page(current_user, kind, before_arg())
    return page_or_block(PAGE, "event_rows", page=page, kinds=reads.KIND_LABELS)
