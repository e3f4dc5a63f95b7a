from typing import Any

from flask import render_template, request
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from webapp.web.blueprint import web
from webapp.web.htmx import is_htmx
from webapp.web.reads import inbox as reads

PAGE = "inbox/inbox.html"


@web.get("/inbox")
@login_required
def inbox() -> Any:
    return render_template(PAGE, inbox=reads.inbox(current_user))


@web.get("/inbox/more")
@login_required
def inbox_more() -> Any:
    """The next rows of one list after the last one shown: appended in place with HTMX;
    without it, the inbox with that list continued."""
    group = reads.more(current_user, request.args.get("group", ""), request.args.get("after", ""))
    if is_htmx():
        return render_block(PAGE, "inbox_rows", group=group)
    page = reads.inbox(current_user)
    setattr(page, group.name, group)
    return render_template(PAGE, inbox=page)
