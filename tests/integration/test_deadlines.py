"""Due dates in the firm's calendar, and the reminder, overdue notice and escalation the
worker gives at their times, each once, under an injected clock (docs/deadlines.md).

The clock starts in 2030, ahead of the machine's time, so a job is due only when the test
moves the clock past its time."""

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.integration.engine_support import (
    by_key,
    fresh,
    make_firm,
    publish,
    run_worker,
    smtp_server,
    start,
    step,
)
from tests.integration.test_worker_processes import ROOT, worker_env
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Job, MatterMember, Notification, Organization
from webapp.services.deadlines import NOTICE_JOB
from webapp.services.instances import instantiate

# Mon 2 Dec 2030 09:00 UTC. "3 business days" later is Thu 5 Dec 09:00; the firm's
# default reminder (P1D) is Wed 4 Dec 09:00; overdue and escalation (PT0S) Thu 09:00.
MONDAY = datetime(2030, 12, 2, 9, 0, tzinfo=UTC)
DUE = datetime(2030, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def dfirm(make_org, make_user, make_matter, api_as):
    return make_firm(make_org, make_user, make_matter, api_as, Role.PARALEGAL)


def checklist(due_in: str = "3 business days", **config: object) -> dict:
    return step(
        "file_motion",
        "CHECKLIST",
        title="File the motion",
        roleScope="PARALEGAL",
        dueIn=due_in,
        config={"items": ["Filed"], **config},
    )


def notified() -> list[tuple[str, int]]:
    fresh()
    rows = db.session.execute(
        select(Notification.kind, Notification.user_id).where(
            Notification.kind.in_(["step.due_soon", "step.overdue", "step.escalated"])
        )
    ).all()
    return sorted((kind, user_id) for kind, user_id in rows)


def begin(dfirm, clock, **fields: object) -> dict:
    clock.at = MONDAY
    template = publish(dfirm.api, "Motion", [checklist(**fields)])  # type: ignore[arg-type]
    return start(dfirm.api, template, dfirm.matter.id)


def test_due_date_counts_business_days_in_the_firms_timezone_when_a_step_becomes_ready(
    app, dfirm, clock
):
    org = db.session.get(Organization, dfirm.lawyer.org_id)
    org.timezone = "America/New_York"
    db.session.commit()
    # Fri 22 Nov 2030 16:00 in New York (21:00 UTC); Thu 28 Nov is Thanksgiving:
    # 25 26 27 [28] 29 | 2 Dec = the 5th business day, at 16:00 New York (21:00 UTC).
    clock.at = datetime(2030, 11, 22, 21, 0, tzinfo=UTC)
    template = publish(dfirm.api, "Motion", [checklist("5 business days")])
    instance = start(dfirm.api, template, dfirm.matter.id)
    assert by_key(instance, "file_motion")["dueAt"].startswith("2030-12-02T21:00:00")


def test_reminder_overdue_and_escalation_each_fire_once_when_their_times_come(app, dfirm, clock):
    paralegal, owner = dfirm.people[Role.PARALEGAL], dfirm.lawyer
    instance = begin(dfirm, clock)
    assert by_key(instance, "file_motion")["dueAt"].startswith("2030-12-05T09:00:00")
    run_worker()
    assert notified() == []

    clock.at = datetime(2030, 12, 4, 9, 0, 1, tzinfo=UTC)
    run_worker()
    run_worker()
    assert notified() == [("step.due_soon", paralegal.id)]

    clock.at = datetime(2030, 12, 5, 9, 0, 1, tzinfo=UTC)
    run_worker()
    run_worker()
    assert notified() == [
        ("step.due_soon", paralegal.id),
        ("step.escalated", owner.id),
        ("step.overdue", paralegal.id),
    ]
    note = db.session.scalar(select(Notification).where(Notification.kind == "step.escalated"))
    assert note.url.endswith(f"/workflows/{instance['id']}#step-{note.step_id}")
    assert "Thu 5 Dec, 09:00" in note.body


def test_notices_settle_silently_when_the_step_is_done_before_their_time(app, dfirm, clock, api_as):
    instance = begin(dfirm, clock)
    step_id = by_key(instance, "file_motion")["id"]
    api = api_as(dfirm.people[Role.PARALEGAL])
    completed = api.post(f"/steps/{step_id}/complete", json={"checkedItems": ["Filed"]})
    assert completed.status_code == 200, completed.json
    clock.at = datetime(2030, 12, 9, tzinfo=UTC)
    run_worker()
    assert notified() == []
    notes = db.session.scalars(select(Job.last_error).where(Job.kind == NOTICE_JOB)).all()
    assert notes == ["The step is COMPLETED."] * 3


def test_unblocking_counts_the_due_time_again_and_the_old_notices_settle_silently(
    app, dfirm, clock, api_as
):
    paralegal = dfirm.people[Role.PARALEGAL]
    api = api_as(paralegal)
    instance = begin(dfirm, clock)
    step_id = by_key(instance, "file_motion")["id"]
    blocked = api.post(f"/steps/{step_id}/block", json={"reason": "Waiting for the exhibit"})
    assert blocked.status_code == 200, blocked.json
    # Unblocked on Tue 3 Dec 10:00: three business days later is Fri 6 Dec 10:00.
    clock.at = datetime(2030, 12, 3, 10, 0, tzinfo=UTC)
    unblocked = api.post(f"/steps/{step_id}/unblock")
    assert unblocked.status_code == 200, unblocked.json
    assert by_key(unblocked.json, "file_motion")["dueAt"].startswith("2030-12-06T10:00:00")

    # Thu 5 Dec 10:00: the old due time has passed, the new reminder is due.
    clock.at = datetime(2030, 12, 5, 10, 0, 1, tzinfo=UTC)
    run_worker()
    assert notified() == [("step.due_soon", paralegal.id)]
    stale = db.session.scalar(
        select(func.count()).where(
            Job.kind == NOTICE_JOB, Job.last_error == "The step's due time changed."
        )
    )
    assert stale == 3  # the old reminder, overdue notice and escalation
    clock.at = datetime(2030, 12, 6, 10, 0, 1, tzinfo=UTC)
    run_worker()
    assert [kind for kind, _ in notified()] == ["step.due_soon", "step.escalated", "step.overdue"]


def test_a_steps_own_reminder_time_overrides_the_firms_and_emails_the_people(
    app, dfirm, clock, monkeypatch
):
    paralegal = dfirm.people[Role.PARALEGAL]
    monkeypatch.setitem(app.config, "NOTIFICATIONS_ENABLED", True)
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        begin(dfirm, clock, remindBefore="2 business days", escalateAfter="1 business day")
        run_worker()  # the READY email
        ready = len(inbox.messages)
        # Due Thu 5 Dec 09:00: two business days before is Tue 3 Dec 09:00.
        clock.at = datetime(2030, 12, 3, 9, 0, 1, tzinfo=UTC)
        run_worker()
        run_worker()
        assert notified() == [("step.due_soon", paralegal.id)]
        reminders = inbox.messages[ready:]
        assert [m["rcpt"] for m in reminders] == [[paralegal.email]]
        message = reminders[0]["message"]
        assert "File the motion" in message["Subject"]
        assert dfirm.matter.reference in message["Subject"]
        text = message.get_body(("plain",)).get_content()
        assert "Due soon" in text and "5 December 2030, 09:00" in text
        # Escalation one business day after the due time: Fri 6 Dec 09:00, not Thursday.
        clock.at = datetime(2030, 12, 5, 9, 0, 1, tzinfo=UTC)
        run_worker()
        assert [kind for kind, _ in notified()] == ["step.due_soon", "step.overdue"]
        clock.at = datetime(2030, 12, 6, 9, 0, 1, tzinfo=UTC)
        run_worker()
        assert [kind for kind, _ in notified()] == [
            "step.due_soon",
            "step.escalated",
            "step.overdue",
        ]
        owners = [m for m in inbox.messages if m["rcpt"] == [dfirm.lawyer.email]]
        assert any(
            "Overdue on a matter you own" in m["message"].get_body(("plain",)).get_content()
            for m in owners
        )


def test_a_bad_due_time_is_refused_naming_the_step(app, dfirm):
    body = {"name": "Motion", "steps": [checklist("10 court dayz")]}
    response = dfirm.api.post("/templates", json=body)
    assert response.status_code == 422
    details = response.json["error"]["details"]
    assert any(d.get("key") == "file_motion" and "dueIn" in str(d.get("field")) for d in details), (
        details
    )
    assert "court days" in str(details)
    bad = checklist(remindBefore="a while")
    response = dfirm.api.post("/templates", json={"name": "Motion", "steps": [bad]})
    assert response.status_code == 422
    assert "actionConfig.remindBefore" in str(response.json["error"]["details"])


def answer(worker: subprocess.Popen) -> str:
    """The worker's next answer, past its log lines (one JSON line per job)."""
    for line in worker.stdout:
        if not line.startswith("{"):
            return line.strip()
    raise AssertionError(f"the worker ended without answering (exit {worker.wait(10)})")


@contextmanager
def racers(app) -> Iterator[Callable[[datetime], list[int]]]:
    """Two worker processes; each call has them drain the queue together with the clock at
    the time it is given, and says how many jobs each ran."""
    db.session.remove()  # the processes have connections of their own
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.deadline_worker", name],
            cwd=ROOT,
            env=worker_env(app),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("w1", "w2")
    ]

    def race(at: datetime) -> list[int]:
        for worker in workers:
            worker.stdin.write(f"go {at.isoformat()}\n")
            worker.stdin.flush()
        return [int(answer(worker).split()[1]) for worker in workers]

    try:
        for worker in workers:
            assert answer(worker) == "ready"
        yield race
        outputs = [worker.communicate("", timeout=60)[0] for worker in workers]
        assert [worker.returncode for worker in workers] == [0, 0], outputs
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)


def test_two_worker_processes_give_each_notice_once(app, dialect, dfirm, clock):
    if dialect != "postgresql":
        pytest.skip("workers in several processes are a PostgreSQL setup (SKIP LOCKED)")
    paralegal, owner = dfirm.people[Role.PARALEGAL].id, dfirm.lawyer.id
    clock.at = MONDAY
    template = publish(dfirm.api, "Motion", [checklist()])
    for _ in range(15):
        instantiate(dfirm.lawyer, template, dfirm.matter.id)
    fresh()

    with racers(app) as race:
        race(datetime(2030, 12, 4, 9, 0, 1, tzinfo=UTC))
        assert notified() == [("step.due_soon", paralegal)] * 15
        assert sum(race(datetime(2030, 12, 5, 9, 0, 1, tzinfo=UTC))) == 30
        assert race(datetime(2030, 12, 5, 9, 0, 1, tzinfo=UTC)) == [0, 0]  # nothing more
    assert notified() == (
        [("step.due_soon", paralegal)] * 15
        + [("step.escalated", owner)] * 15
        + [("step.overdue", paralegal)] * 15
    )
    fresh()
    jobs = db.session.execute(select(Job.status, Job.attempts).where(Job.kind == NOTICE_JOB)).all()
    assert sorted(set(jobs)) == [("DONE", 1)] and len(jobs) == 45


def test_inbox_and_runner_show_the_due_time_in_the_firms_timezone(app, dfirm, clock, login_as):
    org = db.session.get(Organization, dfirm.lawyer.org_id)
    org.timezone = "America/New_York"
    db.session.commit()
    # Fri 22 Nov 2030 16:00 New York + 5 business days (Thanksgiving closed) = Mon 2 Dec.
    clock.at = datetime(2030, 11, 22, 21, 0, tzinfo=UTC)
    template = publish(dfirm.api, "Motion", [checklist("5 business days")])
    instance = start(dfirm.api, template, dfirm.matter.id)
    shown = 'Due <time datetime="2030-12-02T21:00:00+00:00">Mon 2 Dec, 16:00</time>'
    inbox = login_as(dfirm.people[Role.PARALEGAL]).get("/inbox").get_data(as_text=True)
    assert shown in inbox
    runner = login_as(dfirm.lawyer).get(f"/matters/{dfirm.matter.id}/workflows/{instance['id']}")
    assert shown in runner.get_data(as_text=True)


def test_the_published_dsl_schema_accepts_a_steps_own_notice_times(app):
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(app.test_client().get("/api/v1/dsl/schema").json)
    own = checklist(remindBefore="2 business days", escalateAfter="PT4H")
    assert validator.is_valid({"schemaVersion": 2, "name": "Motion", "steps": [own]})
    typo = checklist(remindBefor="2 business days")
    assert not validator.is_valid({"schemaVersion": 2, "name": "Motion", "steps": [typo]})


def test_the_runner_lists_open_steps_soonest_due_first(app, dfirm, clock, login_as):
    clock.at = MONDAY
    steps = [
        {**checklist("10 business days"), "key": "brief", "title": "Draft the brief"},
        {**checklist("2 business days"), "key": "serve", "title": "Serve the papers"},
        {**checklist(), "key": "undated", "title": "Tidy the file", "dueIn": None},
        {**checklist("PT4H"), "key": "call", "title": "Call the client"},
    ]
    for body in steps:
        body["dependsOn"] = []
    instance = start(dfirm.api, publish(dfirm.api, "Many", steps), dfirm.matter.id)
    page = login_as(dfirm.lawyer).get(f"/matters/{dfirm.matter.id}/workflows/{instance['id']}")
    html = page.get_data(as_text=True)
    ids = {key: by_key(instance, key)["id"] for key in ("brief", "serve", "undated", "call")}
    where = {key: html.index(f'id="step-{step_id}"') for key, step_id in ids.items()}
    assert sorted(where, key=where.get) == ["call", "serve", "brief", "undated"]


def test_a_screened_person_is_never_reminded(app, dfirm, clock, make_user, make_matter, api_as):
    paralegal = dfirm.people[Role.PARALEGAL]
    org = db.session.get(Organization, dfirm.lawyer.org_id)
    walled = make_user(org, Role.PARALEGAL, "Wally Walled")
    dfirm.matter.members.append(MatterMember(user_id=walled.id, role=Role.PARALEGAL))
    db.session.commit()
    admin = api_as(make_user(org, Role.ADMIN))
    screened = admin.post(
        f"/matters/{dfirm.matter.id}/screens", json={"userId": walled.id, "reason": "Conflict"}
    )
    assert screened.status_code in (200, 201), screened.json
    begin(dfirm, clock)
    clock.at = datetime(2030, 12, 4, 9, 0, 1, tzinfo=UTC)
    run_worker()
    assert notified() == [("step.due_soon", paralegal.id)]
