from typing import Any

from flask import render_template
from flask_login import current_user, login_required

from webapp.services import queries
from webapp.web.blueprint import web


@web.get("/inbox")
@login_required
def inbox() -> Any:
    return render_template("inbox/inbox.html", inbox=queries.inbox(current_user))
