"""Issue 14, points 1, 2 and 6: people are told in the app (written with the change) and
by email (after the commit, by their preference, throttled, once), with a real SMTP
server on loopback and the injected clock."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.engine_support import by_key, fresh, run_worker, start
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
