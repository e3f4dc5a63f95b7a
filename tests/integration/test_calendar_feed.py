"""A person's private calendar feed (/calendar/<token>.ics): the due dates of the open
steps they may act on, and none of a screened matter, another firm, or steps of other
roles; a reset makes the old URL answer 404."""

from datetime import UTC, datetime

from icalendar import Calendar
from sqlalchemy import select

from tests.integration.engine_support import publish, start, step
from tests.integration.support import count
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import CalendarFeed, WorkflowEvent
from webapp.services.calendar_feeds import calendar_url_for, reset_feed


def due(key: str, role: str, due_in: str | None = "3 business days", **fields: object) -> dict:
    extra = {"dueIn": due_in} if due_in else {}
    body = step(key, "CHECKLIST", roleScope=role, config={"items": ["Done"]}, **extra)
    return {"dependsOn": [], **body, **fields}


def feed_of(client, url: str) -> tuple[int, list[tuple[str, str]]]:
    """The status and each event's (summary, URL) of the feed at `url`."""
    response = client.get(url.split("localhost:5000", 1)[-1])
    if response.status_code != 200:
        return response.status_code, []
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = [(str(e["summary"]), str(e["url"])) for e in calendar.walk("VEVENT")]
    return 200, sorted(events)


def test_the_feed_lists_the_persons_due_steps_and_nothing_else(
    app, make_org, make_user, make_matter, api_as, clock, second_firm
):
    clock.at = datetime(2030, 12, 2, 9, 0, tzinfo=UTC)
    org = make_org("Feed Firm")
    owner = make_user(org, Role.LAWYER, "Olga Owner")
    paralegal = make_user(org, Role.PARALEGAL, "Paul Para")
    colleague = make_user(org, Role.PARALEGAL, "Cleo Colleague")
    ours = make_matter(owner, paralegal, colleague, reference="FEED-1")
    walled = make_matter(owner, paralegal, reference="WALL-1")
    api = api_as(owner)
    steps = [
        due("file", Role.PARALEGAL, title="File the motion"),
        due("review", Role.LAWYER, "P2D", title="Review the brief"),
        due("undated", Role.PARALEGAL, None, title="No due date"),
        due("later", Role.PARALEGAL, dependsOn=["file"], title="Not ready yet"),
    ]
    template = publish(api, "Motion", steps)
    instance = start(api, template, ours.id)
    start(api, template, walled.id)
    admin = api_as(make_user(org, Role.ADMIN))
    screened = admin.post(
        f"/matters/{walled.id}/screens", json={"userId": paralegal.id, "reason": "Conflict"}
    )
    assert screened.status_code in (200, 201), screened.json
    other = api_as(second_firm["lawyer"])
    start(other, publish(other, "Theirs", [due("file", Role.LAWYER)]), second_firm["matter"].id)

    url = reset_feed(paralegal)
    client = app.test_client()
    status, events = feed_of(client, url)
    file_id = next(s["id"] for s in instance["steps"] if s["key"] == "file")
    assert status == 200
    assert events == [
        (
            "Due: File the motion — FEED-1",
            f"http://localhost:5000/matters/{ours.id}/workflows/{instance['id']}#step-{file_id}",
        )
    ]
    _, owners = feed_of(client, reset_feed(owner))
    assert [summary for summary, _ in owners] == [
        "Due: Review the brief — FEED-1",
        "Due: Review the brief — WALL-1",
    ]
    # Another paralegal of the matter sees the step until it is assigned to Paul.
    colleagues = reset_feed(colleague)
    assert [s for s, _ in feed_of(client, colleagues)[1]] == ["Due: File the motion — FEED-1"]
    assigned = api.post(f"/steps/{file_id}/assign", json={"userId": paralegal.id})
    assert assigned.status_code == 200, assigned.json
    assert feed_of(client, colleagues) == (200, [])
    assert len(feed_of(client, url)[1]) == 1
    _, theirs = feed_of(client, reset_feed(second_firm["lawyer"]))
    assert [summary for summary, _ in theirs] == [f"Due: File — {second_firm['matter'].reference}"]


def test_reset_from_the_account_page_makes_the_old_url_answer_404(
    app, make_org, make_user, login_as
):
    org = make_org("Feed Firm")
    lawyer = make_user(org, Role.LAWYER)
    web = login_as(lawyer)
    page = web.get("/account/calendar")
    assert "Create my calendar link" in page.get_data(as_text=True)
    assert calendar_url_for(lawyer) is None

    created = web.post("/account/calendar")
    assert created.status_code == 303
    first = calendar_url_for(lawyer)
    assert first is not None and first.endswith(".ics")
    client = app.test_client()
    assert feed_of(client, first) == (200, [])
    confirm = web.get("/account/calendar?confirm=reset").get_data(as_text=True)
    assert 'id="reset-feed"' in confirm and "open" in confirm.split('id="reset-feed"')[1][:200]

    web.post("/account/calendar")
    second = calendar_url_for(lawyer)
    assert second is not None and second != first
    assert feed_of(client, first)[0] == 404
    assert feed_of(client, second)[0] == 200
    assert second in web.get("/account/calendar").get_data(as_text=True)
    assert count(CalendarFeed) == 1
    kinds = db.session.scalars(
        select(WorkflowEvent.event_type).where(WorkflowEvent.event_type.like("calendar.%"))
    ).all()
    assert sorted(kinds) == ["calendar.feed_created", "calendar.feed_reset"]


def test_a_forged_token_or_a_deactivated_persons_feed_answers_404(app, make_org, make_user):
    client = app.test_client()
    assert client.get("/calendar/nonsense.ics").status_code == 404
    org = make_org("Feed Firm")
    lawyer = make_user(org, Role.LAWYER)
    url = reset_feed(lawyer)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert client.get(f"/calendar/{token[:-2]}xx.ics").status_code == 404
    assert client.get(f"/calendar/{token}.ics").status_code == 200
    lawyer.active = False
    db.session.commit()
    assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_the_preferences_api_gives_the_feed_url_once_there_is_one(app, make_org, make_user, api_as):
    lawyer = make_user(make_org("Feed Firm"), Role.LAWYER)
    api = api_as(lawyer)
    assert api.get("/me/preferences").json["calendarUrl"] is None
    url = reset_feed(lawyer)
    assert api.get("/me/preferences").json["calendarUrl"] == url
