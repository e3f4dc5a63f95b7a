"""/notifications: a person's notifications, the bell's count (polled by the header),
mark one or all read. /account/notifications and /preferences/email/<token>: how
notification emails reach a person — signed in, or from the link in any email."""

from typing import Any

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from webapp.engine.errors import Unprocessable
from webapp.models import User
from webapp.services import notifications
from webapp.web.htmx import is_htmx, redirect_to

bp = Blueprint("notifications", __name__)
PAGE = "notifications/list.html"
PREFERENCES = "notifications/preferences.html"
LINK_PAGE = "notifications/email_link.html"
PAGE_SIZE = 25
CHOICES = (
    (
        "immediate",
        "Each one as it happens",
        "At most one email every few minutes; what comes meanwhile arrives together.",
    ),
    ("digest", "One summary a day", "Everything of the day in one email, at the hour you choose."),
    ("off", "No emails", "You still see everything here, under the bell."),
)


@bp.get("/notifications")
@login_required
def page() -> Any:
    number = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = notifications.list_for(current_user, False, PAGE_SIZE, (number - 1) * PAGE_SIZE)
    return render_template(
        PAGE,
        rows=rows,
        total=total,
        unread=notifications.unread_count(current_user),
        number=number,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
    )


@bp.get("/notifications/bell")
@login_required
def bell() -> Any:
    return render_template(
        "notifications/_bell_count.html", unread=notifications.unread_count(current_user)
    )


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read(notification_id: int) -> Any:
    row = notifications.mark_read(current_user, notification_id)
    if is_htmx():
        return render_block(PAGE, "notification_item", row=row) + _bell_out_of_band()
    return redirect_to(request.form.get("next") or url_for(".page"))


@bp.post("/notifications/read-all")
@login_required
def read_all() -> Any:
    marked = notifications.mark_all_read(current_user)
    flash("Everything is marked read." if marked else "Nothing was unread.", "success")
    return redirect_to(url_for(".page"))


def _bell_out_of_band() -> str:
    return render_template(
        "notifications/_bell_count.html", unread=notifications.unread_count(current_user), oob=True
    )


# ---- how emails reach a person ------------------------------------------------------------


@bp.get("/account/notifications")
@login_required
def preferences() -> Any:
    return render_template(PREFERENCES, person=current_user, choices=CHOICES, errors={})


@bp.post("/account/notifications")
@login_required
def save_preferences() -> Any:
    return _save(current_user, PREFERENCES, url_for(".preferences"))


@bp.get("/preferences/email/<token>")
def email_link(token: str) -> Any:
    person = notifications.user_for_token(token)
    return render_template(LINK_PAGE, person=person, token=token, choices=CHOICES, errors={})


@bp.post("/preferences/email/<token>")
def save_email_link(token: str) -> Any:
    person = notifications.user_for_token(token)
    done = url_for(".email_link", token=token)
    return _save(person, LINK_PAGE, done, token=token)


def _save(person: User, page: str, done: str, **context: Any) -> Any:
    form = request.form
    hour_text = form.get("digest_hour", "").strip()
    try:
        hour = int(hour_text) if hour_text else None
    except ValueError:
        hour = -1  # refused below in plain words
    try:
        notifications.update_preferences(person, form.get("email") or None, hour)
    except Unprocessable as error:
        errors = {str(d.get("field")): [str(d.get("message"))] for d in error.details or []}
        return render_template(page, person=person, choices=CHOICES, errors=errors, **context), 422
    flash("Your email preference is saved.", "success")
    return redirect_to(done)
