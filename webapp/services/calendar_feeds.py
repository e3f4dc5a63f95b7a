"""Each person's private calendar feed: the due dates of the open steps they may act on,
as an ICS file that Outlook or Google Calendar subscribes to (`/calendar/<token>.ics`).

The URL's token is signed with the app's secret over the person and a nonce kept in
`calendar_feeds`; resetting draws a new nonce, so the old URL no longer verifies and
answers 404. The nonce alone forges nothing: the signature needs the app's secret."""

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from icalendar import Calendar, Event
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, or_, select

from webapp.engine.actions import get_handler
from webapp.engine.eligibility import can_perform
from webapp.engine.roles import Role
from webapp.engine.states import ACTIVE_STATUSES, OPEN_STATES
from webapp.extensions import db
from webapp.models import CalendarFeed, InstanceStep, Matter, User, WorkflowInstance
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import transactional
from webapp.services.access import actor_of, matter_access, not_screened
from webapp.services.clock import now as clock_now
from webapp.services.deadlines import step_path

SALT = "calendar-feed"
MAX_EVENTS = 1000  # the nearest due dates; a calendar app shows no more usefully
EVENT_MINUTES = 30  # a due time is a moment: calendars show it as a short event


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _token(feed: CalendarFeed) -> str:
    return str(_signer().dumps({"u": feed.user_id, "n": feed.nonce}))


def feed_of(user: User) -> CalendarFeed | None:
    return db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))


def calendar_url_for(user: User) -> str | None:
    """The person's feed URL, or None until they create one (/account/calendar)."""
    feed = feed_of(user)
    if feed is None:
        return None
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/calendar/{_token(feed)}.ics"


@transactional
def reset_feed(actor: User) -> str:
    """A new feed URL for the actor (their first, or one that replaces the last: the old
    URL stops working at once). Returns the URL."""
    feed = db.session.scalar(
        select(CalendarFeed).where(CalendarFeed.user_id == actor.id).with_for_update()
    )
    replaced = feed is not None
    if feed is None:
        feed = CalendarFeed(org_id=actor.org_id, user_id=actor.id, nonce="")
        db.session.add(feed)
    feed.nonce = secrets.token_urlsafe(24)
    feed.created_at = clock_now()
    db.session.flush()
    record_event(
        org_id=actor.org_id,
        event_type="calendar.feed_reset" if replaced else "calendar.feed_created",
        actor_id=actor.id,
        payload={"userId": actor.id},
    )
    url = calendar_url_for(actor)
    assert url is not None
    return url


def person_for(token: str) -> User | None:
    """The active person whose current feed `token` opens, or None."""
    try:
        claims = _signer().loads(token)
    except BadSignature:
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("u"), int):
        return None
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == claims["u"]))
    if feed is None or not hmac.compare_digest(feed.nonce, str(claims.get("n", ""))):
        return None
    person = db.session.get(User, feed.user_id)
    return person if person is not None and person.active else None


@dataclass(frozen=True)
class DueStep:
    step: InstanceStep
    matter: Matter
    workflow: str  # the instance's title


def due_steps(person: User) -> list[DueStep]:
    """The open steps with a due date that `person` may act on, nearest first: their firm
    only, never a matter they are screened from, never an automated step."""
    rows = db.session.execute(
        select(InstanceStep, Matter, WorkflowInstance.title)
        .join(WorkflowInstance, WorkflowInstance.id == InstanceStep.instance_id)
        .join(Matter, Matter.id == WorkflowInstance.matter_id)
        .where(
            WorkflowInstance.org_id == person.org_id,
            Matter.org_id == person.org_id,
            WorkflowInstance.status.in_([s.value for s in ACTIVE_STATUSES]),
            InstanceStep.action_state.in_([s.value for s in OPEN_STATES]),
            InstanceStep.due_at.is_not(None),
            not_screened(WorkflowInstance.matter_id, person),
            # Only steps the person could be eligible for reach the per-matter check below:
            # their role's (a matter's owner also acts on its lawyers' steps), not assigned
            # to or claimed by someone else.
            or_(
                InstanceStep.role_scope == person.role,
                and_(InstanceStep.role_scope == Role.LAWYER, Matter.owner_id == person.id),
            ),
            or_(InstanceStep.assigned_to_id.is_(None), InstanceStep.assigned_to_id == person.id),
            or_(InstanceStep.claimed_by_id.is_(None), InstanceStep.claimed_by_id == person.id),
        )
        .order_by(InstanceStep.due_at, InstanceStep.id)
        .limit(MAX_EVENTS * 4)
    ).all()
    actor = actor_of(person)
    accesses = {matter.id: matter_access(matter) for matter in {m for _, m, _ in rows}}
    found = [
        DueStep(step, matter, workflow)
        for step, matter, workflow in rows
        if not get_handler(step.action_type).automated
        and can_perform(
            step.role_scope, step.assigned_to_id, step.claimed_by_id, actor, accesses[matter.id]
        )
    ]
    return found[:MAX_EVENTS]


def ics_for(person: User) -> bytes:
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    calendar = Calendar()
    calendar.add("prodid", "-//Matterflow//Deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Matterflow deadlines · {person.name}")
    # How often a subscribed calendar should look again (Outlook reads the first, Apple
    # and others the second); Google Calendar keeps its own pace.
    calendar.add("x-published-ttl", "PT1H")
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    stamp: datetime = clock_now()
    for due in due_steps(person):
        step = due.step
        assert step.due_at is not None
        event = Event()
        # One UID per step: a due date counted again moves the same event.
        event.add("uid", f"step-{step.id}-due@matterflow")
        event.add("summary", f"Due: {step.title} — {due.matter.reference}")
        event.add("dtstart", step.due_at)
        event.add("dtend", step.due_at + timedelta(minutes=EVENT_MINUTES))
        event.add("dtstamp", stamp)
        event.add("url", base + step_path(due.matter.id, step.instance_id, step.id))
        event.add("description", f"{due.matter.title} · {due.workflow}")
        calendar.add_component(event)
    return bytes(calendar.to_ical())
