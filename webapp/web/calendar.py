"""/calendar/<token>.ics: a person's private feed of due dates (no sign-in: the signed
token is the proof; a reset token answers 404). /account/calendar: the feed's URL, and
its reset behind a confirmation."""

from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.services import calendar_feeds
from webapp.services.deadlines import due_text
from webapp.web.htmx import redirect_to

feeds = Blueprint("calendar_feed", __name__, url_prefix="/calendar")
bp = Blueprint("calendar", __name__, url_prefix="/account/calendar")
PAGE = "account/calendar.html"


@feeds.get("/<token>.ics")
def feed(token: str) -> Response:
    person = calendar_feeds.person_for(token)
    if person is None:
        abort(404)
    response = Response(calendar_feeds.ics_for(person), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="matterflow-deadlines.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


@bp.get("")
def page() -> Any:
    return render_template(
        PAGE,
        url=calendar_feeds.calendar_url_for(current_user),
        confirming=request.args.get("confirm"),
    )


@bp.post("")
def reset() -> Any:
    had_one = calendar_feeds.feed_of(current_user) is not None
    calendar_feeds.reset_feed(current_user)
    if had_one:
        flash("Your calendar link is new: the old link no longer works.", "success")
    else:
        flash("Your calendar link is ready: add it to your calendar app.", "success")
    return redirect_to(url_for(".page"))


# ---- how pages show due times: in the firm's timezone ---------------------------------------


@feeds.app_template_filter("due")
def due(value: datetime | None) -> str:
    """ "Fri 11 Dec, 17:00" in the signed-in person's firm's timezone."""
    if value is None:
        return ""
    zone = current_user.org.timezone if current_user.is_authenticated else "UTC"
    return due_text(value, zone or "UTC")


@feeds.app_template_filter("weekday")
def weekday(value: date) -> str:
    """ "Thu 24 Dec 2026"."""
    return f"{value:%a} {value.day} {value:%b %Y}"
