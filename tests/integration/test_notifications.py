"""Issue 14, points 1, 2 and 6: people are told in the app (written with the change) and
by email (after the commit, by their preference, throttled, once), with a real SMTP
server on loopback and the injected clock."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.integration.engine_support import by_key, fresh, publish, run_worker, start, step
from tests.integration.notify_support import (
    html_part,
    lawyer_steps,
    mail,
    make_delayed_jobs_due,
    make_notify_firm,
    notifications_of,
    text_part,
    to,
)
from tests.integration.trigger_support import Clock
from webapp.extensions import db
from webapp.models import EmailDelivery, Job
from webapp.models.base import utcnow
from webapp.services import email_delivery


@pytest.fixture
def firm(make_org: Any, make_user: Any, make_matter: Any, api_as: Any) -> Any:
    return make_notify_firm(make_org, make_user, make_matter, api_as)


def test_ready_step_notifies_each_eligible_person_once_when_it_becomes_ready(
    app, firm, monkeypatch
):
    template = lawyer_steps(firm.api["owner"], "Conflict check")
    with mail(app, monkeypatch) as inbox:
        instance = start(firm.api["owner"], template, firm.matter.id, title="Conflicts run")
        first = by_key(instance, "check_1")
        # in the app at once, in the transaction that made the step READY
        for person in (firm.owner, firm.lawyer):
            rows = notifications_of(person)
            assert [(r.kind, r.step_id) for r in rows] == [("step.ready", first["id"])]
            assert rows[0].url.endswith(f"/workflows/{instance['id']}#step-{first['id']}")
        assert notifications_of(firm.screened) == []
        assert notifications_of(firm.paralegal) == []
        run_worker()
        run_worker()  # a second pass sends nothing more
    assert len(to(inbox, firm.owner)) == 1 and len(to(inbox, firm.lawyer)) == 1
    assert to(inbox, firm.screened) == [] and to(inbox, firm.paralegal) == []
    assert len(inbox.messages) == 2
    message = to(inbox, firm.lawyer)[0]
    assert "HALE-7" in message["Subject"] and "Check conflicts 1" in message["Subject"]
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == (firm.owner.org.name, "no-reply@example.test")
    link = f"https://matters.example.test/matters/{firm.matter.id}/workflows/{instance['id']}"
    text, html = text_part(message), html_part(message)
    assert f"{link}#step-{first['id']}" in text and f"{link}#step-{first['id']}" in html
    assert "Search the register" in text and "Test matter" in text  # what is asked, the matter
    assert "https://matters.example.test/preferences/email/" in message["List-Unsubscribe"]


def test_digest_gathers_ten_ready_steps_into_one_email_at_the_digest_hour(
    app, firm, monkeypatch, clock: Clock
):
    firm.owner.email_preference, firm.owner.digest_hour = "digest", 17
    firm.lawyer.email_preference = "off"
    db.session.commit()
    template = lawyer_steps(firm.api["owner"], "Daily check")
    with mail(app, monkeypatch) as inbox:
        for n in range(10):  # ten READY steps between 08:00 and 09:00
            start(firm.api["owner"], template, firm.matter.id, title=f"Check {n}")
            run_worker()
            clock.advance(minutes=6)
        assert inbox.messages == []
        clock.at = clock.at.replace(hour=16, minute=59)
        make_delayed_jobs_due()
        run_worker()
        assert inbox.messages == []  # a minute early: the job waits again
        clock.at = clock.at.replace(hour=17, minute=0)
        make_delayed_jobs_due()
        run_worker()
    assert len(inbox.messages) == 1
    message = inbox.messages[0]["message"]
    assert (
        message["Subject"].startswith("Your daily summary") and "and 9 more" in message["Subject"]
    )
    assert text_part(message).count("Open it:") == 10
    assert len(notifications_of(firm.owner)) == 10  # the bell has each of them


def test_throttle_sends_one_email_at_once_then_the_rest_combined(app, firm, monkeypatch, clock):
    firm.lawyer.email_preference = "off"
    db.session.commit()
    template = lawyer_steps(firm.api["owner"], "Throttled check")
    with mail(app, monkeypatch) as inbox:
        start(firm.api["owner"], template, firm.matter.id, title="First")
        run_worker()
        assert len(inbox.messages) == 1
        for title in ("Second", "Third"):
            clock.advance(minutes=3)
            start(firm.api["owner"], template, firm.matter.id, title=title)
            run_worker()
        assert len(inbox.messages) == 1  # within the window: they wait
        clock.advance(minutes=3)  # 9 minutes after the first: still inside
        make_delayed_jobs_due()
        run_worker()
        assert len(inbox.messages) == 1
        clock.advance(minutes=1, seconds=1)
        make_delayed_jobs_due()
        run_worker()
    assert len(inbox.messages) == 2
    combined = inbox.messages[1]["message"]
    assert combined["Subject"].startswith("Waiting for you") and "and 1 more" in combined["Subject"]
    assert "Second" in text_part(combined) and "Third" in text_part(combined)


class WorkerKilled(BaseException):
    """The process ends between the SMTP call and the settling transaction."""


def test_worker_killed_after_sending_does_not_send_again_when_rescued(app, firm, monkeypatch):
    firm.lawyer.email_preference = "off"
    db.session.commit()
    template = lawyer_steps(firm.api["owner"], "Killed check")

    def killed(*args: Any, **kwargs: Any) -> None:
        raise WorkerKilled

    with mail(app, monkeypatch) as inbox:
        start(firm.api["owner"], template, firm.matter.id, title="Killed run")
        with pytest.MonkeyPatch.context() as fault:
            fault.setattr(email_delivery, "settle_emails", killed)
            with pytest.raises(WorkerKilled):
                run_worker()
        assert len(inbox.messages) == 1
        db.session.rollback()
        stuck = db.session.scalar(select(Job).where(Job.kind == "notify.email"))
        assert stuck.status == "RUNNING"
        stuck.locked_until = utcnow() - timedelta(seconds=1)  # its lease ran out: rescued
        db.session.commit()
        run_worker()
        fresh()
        assert db.session.get(Job, stuck.id).status == "DONE"
    assert len(inbox.messages) == 1
    delivery = db.session.scalar(select(EmailDelivery))
    assert delivery.state == "UNKNOWN"


def client_step_template(api: Any) -> int:
    return publish(
        api,
        "Client documents",
        [
            step(
                "confirm",
                "CHECKLIST",
                title="Confirm your details",
                roleScope="CLIENT",
                config={"items": ["My address is right", "My name is right"]},
            ),
            step(
                "review",
                "APPROVAL_LAWYER",
                title="Review the details",
                roleScope="LAWYER",
                config={"message": "Check what the client confirmed"},
                dependsOn=["confirm"],
            ),
        ],
    )


def test_client_gets_a_receipt_when_they_complete_their_step(app, firm, monkeypatch):
    template = client_step_template(firm.api["owner"])
    with mail(app, monkeypatch) as inbox:
        instance = start(firm.api["owner"], template, firm.matter.id, title="Client details")
        run_worker()
        assert len(to(inbox, firm.client)) == 1  # the READY email
        confirm = by_key(instance, "confirm")
        done = firm.api["client"].post(
            f"/steps/{confirm['id']}/complete",
            json={"checkedItems": ["My address is right", "My name is right"]},
        )
        assert done.status_code == 200, done.json
        run_worker()
    mails = to(inbox, firm.client)
    assert len(mails) == 2
    receipt = mails[1]
    assert receipt["Subject"] == "Received, thank you: Confirm your details (HALE-7)"
    text = text_part(receipt)
    assert "You confirmed: My address is right; My name is right" in text
    assert "What happens next" in text and "Nothing more is needed from you" in text
    assert "Review the details" not in text  # the lawyers' step is not the client's business
    # the lawyers hear the next step is theirs; the client's receipt went to the client only
    assert [m["Subject"] for m in to(inbox, firm.lawyer)] == [
        "Ready for you: Review the details (HALE-7)"
    ]


def test_assignee_is_told_in_the_app_and_by_email_when_given_a_step(
    app, firm, monkeypatch, clock: Clock
):
    firm.owner.email_preference = "off"
    db.session.commit()
    template = lawyer_steps(firm.api["owner"], "Assigned check")
    with mail(app, monkeypatch) as inbox:
        instance = start(firm.api["owner"], template, firm.matter.id, title="Assign run")
        run_worker()
        inbox.messages.clear()
        clock.advance(minutes=11)  # past the throttle window of the READY email
        first = by_key(instance, "check_1")
        given = firm.api["owner"].post(
            f"/steps/{first['id']}/assign", json={"userId": firm.lawyer.id}
        )
        assert given.status_code == 200, given.json
        kinds = [n.kind for n in notifications_of(firm.lawyer)]
        assert kinds == ["step.ready", "step.assigned"]  # at once, with the assignment
        run_worker()
    assert [m["Subject"] for m in to(inbox, firm.lawyer)] == [
        "Assigned to you: Check conflicts 1 (HALE-7)"
    ]
    assert to(inbox, firm.owner) == []  # the owner's preference is off


def test_owner_is_told_when_a_workflow_fails(app, firm):
    template = lawyer_steps(firm.api["owner"], "Failing check")
    instance = start(firm.api["lawyer"], template, firm.matter.id, title="Doomed run")
    first = by_key(instance, "check_1")
    failed = firm.api["lawyer"].post(f"/steps/{first['id']}/fail", json={"reason": "Conflict"})
    assert failed.status_code == 200, failed.json
    assert failed.json["status"] == "Failed"
    for person in (firm.owner, firm.lawyer):  # the matter's owner, who started it
        failures = [n for n in notifications_of(person) if n.kind == "instance.failed"]
        assert [n.title for n in failures] == ["Workflow failed: Doomed run"]
    assert notifications_of(firm.screened) == []


def test_admins_are_told_when_a_job_goes_to_the_dead_letters(app, firm, make_user):
    from webapp.persistence.journal import enqueue
    from webapp.persistence.transaction import transactional

    @transactional
    def add_job() -> None:
        enqueue("no.such.kind", {}, org_id=firm.matter.org_id, max_attempts=1)

    add_job()
    run_worker()
    assert db.session.scalar(select(Job.status).where(Job.kind == "no.such.kind")) == "DEAD"
    told = [n for n in notifications_of(firm.admin) if n.kind == "job.dead"]
    assert [(n.title, n.url) for n in told] == [
        ("A background job gave up: no.such.kind", "/admin/jobs")
    ]
    assert notifications_of(firm.owner) == []


def test_bell_count_changes_when_another_persons_action_makes_a_step_ready(app, firm, login_as):
    template = lawyer_steps(firm.api["owner"], "Bell check", count=2)
    lawyer_page = login_as(firm.lawyer)
    bell = lawyer_page.get("/notifications/bell", htmx=True)
    assert bell.status_code == 200 and 'data-unread="0"' in bell.get_data(as_text=True)
    instance = start(firm.api["owner"], template, firm.matter.id, title="Bell run")
    assert 'data-unread="1"' in lawyer_page.get("/notifications/bell", htmx=True).get_data(
        as_text=True
    )
    first = by_key(instance, "check_1")
    items = {"checkedItems": ["Search the register", "Note the result"]}
    assert firm.api["owner"].post(f"/steps/{first['id']}/complete", json=items).status_code == 200
    text = lawyer_page.get("/notifications/bell", htmx=True).get_data(as_text=True)
    assert 'data-unread="2"' in text and ">2<" in text
    page = lawyer_page.get("/notifications").get_data(as_text=True)
    assert page.index("Check conflicts 2") < page.index("Check conflicts 1")  # newest first
    assert f"#step-{by_key(instance, 'check_2')['id']}" in page


def test_marking_read_one_and_all_through_the_page_and_the_api(app, firm, login_as):
    template = lawyer_steps(firm.api["owner"], "Read check")
    for title in ("One", "Two", "Three"):
        start(firm.api["owner"], template, firm.matter.id, title=title)
    rows = notifications_of(firm.lawyer)
    api = firm.api["lawyer"]
    listed = api.get("/notifications?unread=true")
    assert (listed.json["total"], listed.json["unread"]) == (3, 3)
    marked = api.post(f"/notifications/{rows[0].id}/read")
    assert marked.status_code == 200 and marked.json["readAt"] is not None
    assert api.get("/notifications?unread=true").json["total"] == 2
    # someone else's notification is not found, and stays unread
    theirs = notifications_of(firm.owner)[0]
    assert api.post(f"/notifications/{theirs.id}/read").status_code == 404
    assert notifications_of(firm.owner)[0].read_at is None
    web = login_as(firm.lawyer)
    swapped = web.post(f"/notifications/{rows[1].id}/read", htmx=True)
    assert swapped.status_code == 200
    text = swapped.get_data(as_text=True)
    assert f'id="notification-{rows[1].id}"' in text and "is-unread" not in text
    assert 'id="bell-count"' in text and 'hx-swap-oob="true"' in text  # the bell follows
    assert api.post("/notifications/read-all").json == {"marked": 1}
    assert api.get("/notifications").json["unread"] == 0
    assert api.get("/notifications?unread=maybe").status_code == 400


def test_preferences_through_the_api_the_page_and_the_email_link(app, firm, login_as):
    from webapp.services.notifications import preferences_token

    api = firm.api["lawyer"]
    assert api.get("/me/preferences").json == {
        "email": "immediate",
        "digestHour": 8,
        "calendarUrl": None,
    }
    changed = api.patch("/me/preferences", json={"email": "digest", "digestHour": 18})
    assert changed.json == {"email": "digest", "digestHour": 18, "calendarUrl": None}
    for bad in ({"email": "weekly"}, {"digestHour": 24}, {"calendarUrl": "x"}):
        refused = api.patch("/me/preferences", json=bad)
        assert refused.status_code in (400, 422), refused.json
    assert api.get("/me/preferences").json["digestHour"] == 18  # refused changes nothing
    web = login_as(firm.lawyer)
    assert "How we email you" in web.get("/account/notifications").get_data(as_text=True)
    wrong = web.post("/account/notifications", data={"email": "off", "digest_hour": "25"})
    assert wrong.status_code == 422 and "whole hour from 0 to 23" in wrong.get_data(as_text=True)
    saved = web.post("/account/notifications", data={"email": "off", "digest_hour": "7"})
    assert saved.status_code in (200, 303)
    assert api.get("/me/preferences").json == {"email": "off", "digestHour": 7, "calendarUrl": None}
    # the link in every email works without signing in, for that person only
    fresh()
    token = preferences_token(firm.lawyer)
    anonymous = app.test_client()
    page = anonymous.get(f"/preferences/email/{token}")
    assert page.status_code == 200 and firm.lawyer.email in page.get_data(as_text=True)
    assert anonymous.get(f"/preferences/email/{token}x").status_code == 404
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    back = anonymous.post(
        f"/preferences/email/{token}",
        data={"email": "immediate", "digest_hour": "7", "csrf_token": csrf},
    )
    assert back.status_code in (200, 303)
    assert api.get("/me/preferences").json["email"] == "immediate"


def test_digest_hour_is_counted_in_the_firms_timezone(app, firm, clock: Clock):
    from webapp.services.notifications import next_digest

    firm.owner.org.timezone = "Europe/Paris"  # the firm's own (Admin → Firm)
    firm.owner.digest_hour = 17
    clock.at = clock.at.replace(hour=8, minute=0)  # 09:00 in Paris in December
    assert next_digest(firm.owner, clock.at).isoformat() == "2026-12-07T16:00:00+00:00"
    clock.at = clock.at.replace(hour=16, minute=30)  # 17:30 in Paris: tomorrow's
    assert next_digest(firm.owner, clock.at).isoformat() == "2026-12-08T16:00:00+00:00"


class RefusingOnce:
    """An SMTP server that answers the first message with a temporary failure."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.refused:
            self.refused += 1
            return "451 Try again later"
        self.messages.append(envelope)
        return "250 OK"


def test_refused_email_waits_and_goes_once_when_the_job_tries_again(app, firm, monkeypatch):
    from aiosmtpd.controller import Controller

    from tests.integration.engine_support import free_port

    firm.lawyer.email_preference = "off"
    db.session.commit()
    template = lawyer_steps(firm.api["owner"], "Refused check")
    server = RefusingOnce()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        monkeypatch.setitem(app.config, "SMTP_PORT", controller.port)
        monkeypatch.setitem(app.config, "NOTIFICATIONS_ENABLED", True)
        start(firm.api["owner"], template, firm.matter.id, title="Refused run")
        run_worker()
        job = db.session.scalar(select(Job).where(Job.kind == "notify.email"))
        assert (job.status, server.refused, server.messages) == ("PENDING", 1, [])
        assert "451" in (job.last_error or "")
        assert db.session.scalar(select(func.count()).select_from(EmailDelivery)) == 0
        make_delayed_jobs_due()
        run_worker()
        run_worker()
    finally:
        controller.stop()
    assert len(server.messages) == 1
    assert db.session.scalar(select(EmailDelivery.state)) == "SENT"
