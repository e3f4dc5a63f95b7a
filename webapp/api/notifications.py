"""A person's in-app notifications and their email preferences."""

from datetime import datetime
from typing import Literal

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from pydantic import Field, StrictInt

from webapp.api.blueprint import api
from webapp.api.paging import page_args
from webapp.api.schemas import Omitted, Patch, Schema
from webapp.api.serialize import respond
from webapp.api.spec import PAGE, Query, endpoint
from webapp.engine.errors import Invalid
from webapp.models import User
from webapp.services import calendar_feeds, notifications

TAG = "Notifications"
EmailChoice = Literal["immediate", "digest", "off"]


class NotificationOut(Schema):
    id: int
    kind: str = Field(description="step.ready, step.assigned, instance.failed, job.dead, …")
    title: str
    body: str
    url: str = Field(description="where it leads in the app (the step in its runner)")
    matter_id: int | None
    step_id: int | None
    created_at: datetime
    read_at: datetime | None = Field(description="null: unread")


class NotificationList(Schema):
    items: list[NotificationOut]
    total: int
    unread: int = Field(description="the person's unread notifications, whatever the filter")


class MarkedRead(Schema):
    marked: int = Field(description="how many were unread and are now read")


class PreferencesOut(Schema):
    email: EmailChoice = Field(
        description="immediate (throttled), digest (once a day at digestHour) or off"
    )
    digest_hour: int = Field(description="the hour of the firm's day the digest goes, 0 to 23")
    calendar_url: str | None = Field(description="the private calendar feed (read-only)")


class PreferencesPatch(Patch):
    email: EmailChoice | Omitted = None
    digest_hour: StrictInt | Omitted = Field(None, ge=0, le=23)


UNREAD = Query("true: only the unread ones", {"type": "string", "enum": ["true", "false"]})


@endpoint(
    api,
    "/notifications",
    "GET",
    summary="Your notifications, newest first; unread=true: only the unread ones",
    tag=TAG,
    response=NotificationList,
    query={"unread": UNREAD, **PAGE},
)
def list_notifications() -> ResponseReturnValue:
    limit, offset = page_args()
    unread = request.args.get("unread", "false")
    if unread not in ("true", "false"):
        raise Invalid("unread must be true or false.")
    rows, total = notifications.list_for(current_user, unread == "true", limit, offset)
    items = [NotificationOut.model_validate(row) for row in rows]
    count = notifications.unread_count(current_user)
    return respond(NotificationList(items=items, total=total, unread=count))


@endpoint(
    api,
    "/notifications/<int:notification_id>/read",
    "POST",
    summary="Mark one of your notifications read (someone else's is not found)",
    tag=TAG,
    response=NotificationOut,
)
def read_notification(notification_id: int) -> ResponseReturnValue:
    row = notifications.mark_read(current_user, notification_id)
    return respond(NotificationOut.model_validate(row))


@endpoint(
    api,
    "/notifications/read-all",
    "POST",
    summary="Mark all your notifications read",
    tag=TAG,
    response=MarkedRead,
)
def read_all_notifications() -> ResponseReturnValue:
    return respond(MarkedRead(marked=notifications.mark_all_read(current_user)))


def preferences_out(person: User) -> PreferencesOut:
    return PreferencesOut(
        email=person.email_preference,
        digest_hour=person.digest_hour,
        calendar_url=calendar_feeds.calendar_url_for(person),
    )


@endpoint(
    api,
    "/me/preferences",
    "GET",
    summary="How notification emails reach you, and your calendar feed",
    tag=TAG,
    response=PreferencesOut,
)
def get_preferences() -> ResponseReturnValue:
    return respond(preferences_out(current_user))


@endpoint(
    api,
    "/me/preferences",
    "PATCH",
    summary="Change how notification emails reach you (calendarUrl is read-only)",
    tag=TAG,
    body=PreferencesPatch,
    response=PreferencesOut,
)
def patch_preferences(body: PreferencesPatch) -> ResponseReturnValue:
    person = notifications.update_preferences(current_user, body.email, body.digest_hour)
    return respond(preferences_out(person))
