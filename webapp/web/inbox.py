from typing import Any

from flask import render_template
from flask_login import current_user, login_required

from webapp.web.blueprint import web
from webapp.web.reads.inbox import inbox as inbox_of


@web.get("/inbox")
@login_required
def inbox() -> Any:
    return render_template("inbox/inbox.html", inbox=inbox_of(current_user))
