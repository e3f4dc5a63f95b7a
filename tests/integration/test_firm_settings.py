"""/admin/firm: the firm's calendar settings and closure days, each change audited, bad
input refused inline with nothing changed, and the settings used by the next due date."""

from datetime import UTC, date, datetime

from sqlalchemy import select

from tests.integration.engine_support import by_key, make_firm, publish, start, step
from tests.integration.support import count
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import FirmClosure, Organization, WorkflowEvent


def settings(**changed: str) -> dict[str, str]:
    form = {
        "timezone": "America/New_York",
        "country": "us",
        "subdivision": "ny",
        "remind_before": "2 Business Days",
        "escalate_after": "4 hours",
    }
    return {**form, **changed}


def audit_types() -> list[str]:
    return list(
        db.session.scalars(
            select(WorkflowEvent.event_type)
            .where(WorkflowEvent.event_type.like("firm.%"))
            .order_by(WorkflowEvent.id)
        )
    )


def test_an_admin_saves_the_firms_calendar_and_the_change_is_audited(
    app, make_org, make_user, login_as, clock
):
    clock.at = datetime(2030, 12, 2, 14, 0, tzinfo=UTC)
    org = make_org("Calendar Firm")
    web = login_as(make_user(org, Role.ADMIN))
    page = web.get("/admin/firm")
    assert page.status_code == 200
    assert "Firm calendar" in page.get_data(as_text=True)

    saved = web.post("/admin/firm", data=settings())
    assert saved.status_code == 303
    db.session.expire_all()
    firm = db.session.get(Organization, org.id)
    assert (firm.timezone, firm.calendar_country, firm.calendar_subdivision) == (
        "America/New_York",
        "US",
        "NY",
    )
    assert (firm.remind_before, firm.escalate_after) == ("2 business days", "PT4H")
    assert audit_types() == ["firm.calendar_changed"]
    shown = web.get("/admin/firm").get_data(as_text=True)
    # New York's own holiday is listed among the closed days coming up (Wed 12 Feb 2031)…
    assert "Wed 12 Feb 2031</time> <span>Lincoln&#39;s Birthday" in shown
    # …and the example counts in New York time: Mon 2 Dec 09:00 + 10 court days:
    # 3 4 5 6 | 9 10 11 12 13 | 16 Dec = the 10th.
    assert "would be due <strong>Mon 16 Dec, 09:00</strong>" in shown


def test_bad_settings_are_refused_inline_and_nothing_changes(app, make_org, make_user, login_as):
    org = make_org("Calendar Firm")
    web = login_as(make_user(org, Role.ADMIN))
    refused = web.post(
        "/admin/firm",
        data=settings(timezone="Mars/Olympus", subdivision="XX", remind_before="a while"),
    )
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "is not a timezone" in body
    assert "is not a subdivision of US" in body
    assert "is not a duration" in body
    assert 'value="Mars/Olympus"' in body  # what was typed stays in the form
    db.session.expire_all()
    firm = db.session.get(Organization, org.id)
    assert (firm.timezone, firm.calendar_country, firm.remind_before) == ("UTC", "US", "P1D")
    assert audit_types() == []


def test_closure_days_are_added_and_removed_and_a_day_is_closed_once(
    app, make_org, make_user, login_as
):
    org = make_org("Calendar Firm")
    web = login_as(make_user(org, Role.ADMIN))
    added = web.post("/admin/firm/closures", data={"day": "2030-12-24", "reason": "Office party"})
    assert added.status_code == 303
    again = web.post("/admin/firm/closures", data={"day": "2030-12-24", "reason": "Twice"})
    assert again.status_code == 422
    assert "already closed on 2030-12-24" in again.get_data(as_text=True)
    bad = web.post("/admin/firm/closures", data={"day": "next Tuesday"})
    assert bad.status_code == 422 and "Choose a day" in bad.get_data(as_text=True)
    closure = db.session.scalar(select(FirmClosure))
    assert (closure.day, closure.reason) == (date(2030, 12, 24), "Office party")
    assert "Office party" in web.get("/admin/firm").get_data(as_text=True)

    removed = web.post(f"/admin/firm/closures/{closure.id}/delete")
    assert removed.status_code == 303
    assert count(FirmClosure) == 0
    assert audit_types() == ["firm.closure_added", "firm.closure_removed"]


def test_the_page_is_for_admins_only(app, make_org, make_user, login_as):
    org = make_org("Calendar Firm")
    assert login_as(make_user(org, Role.LAWYER)).get("/admin/firm").status_code == 403


def test_a_closure_day_moves_the_next_due_date(
    app, make_org, make_user, make_matter, api_as, clock, login_as
):
    firm = make_firm(make_org, make_user, make_matter, api_as)
    admin = make_user(db.session.get(Organization, firm.lawyer.org_id), Role.ADMIN)
    web = login_as(admin)
    # Mon 2 Dec 2030 09:00 UTC + 2 business days = Wed 4 Dec; closed on Tue 3 Dec: Thu 5 Dec.
    assert web.post("/admin/firm/closures", data={"day": "2030-12-03"}).status_code == 303
    clock.at = datetime(2030, 12, 2, 9, 0, tzinfo=UTC)
    body = step("review", "CHECKLIST", dueIn="2 business days", config={"items": ["Read"]})
    instance = start(firm.api, publish(firm.api, "Review", [body]), firm.matter.id)
    assert by_key(instance, "review")["dueAt"].startswith("2030-12-05T09:00:00")
