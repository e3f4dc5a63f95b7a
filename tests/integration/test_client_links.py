"""One-step client links (issue 14, point 4): the READY email to a client carries a signed,
expiring, single-use `/c/<token>` that opens that one step and nothing else of the matter;
the client completes it there without a password, through the step door; each open and
submit is audited with the link's id; a used, expired or withdrawn link shows a clear page
(410) and changes nothing; the lawyer withdraws or resends a link from the runner; the
link is rate limited per link (issue 15, point 6)."""

import io
import re
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import forget_request_user
from tests.integration.engine_support import publish, run_worker, smtp_server, start, wait_for
from tests.integration.security_support import limited  # noqa: F401  (a fixture)
from tests.integration.support import PDF, count
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import (
    ClientLink,
    Document,
    DocumentSource,
    InstanceStep,
    Job,
    SecurityEvent,
    User,
    WorkflowEvent,
)
from webapp.models.base import utcnow
from webapp.services import client_link_issue, client_links
from webapp.services.documents import file_document
from webapp.services.seed import demo_letter_pdf

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
LINK_IN_EMAIL = re.compile(r"http://[^\s]+/c/([A-Za-z0-9_.\-]+)")

STEPS = [
    {
        "key": "passport",
        "title": "Upload your passport",
        "actionType": "REQUEST_DOC_CLIENT",
        "actionConfig": {
            "requestText": "A scan of your passport, please.",
            "acceptedTypes": ["pdf"],
        },
        "roleScope": "CLIENT",
        "dependsOn": [],
    },
    {
        "key": "checks",
        "title": "Confirm your details",
        "actionType": "CHECKLIST",
        "actionConfig": {"items": ["My address is right", "My phone number is right"]},
        "roleScope": "CLIENT",
        "dependsOn": [],
    },
    {
        "key": "sign",
        "title": "Sign the engagement letter",
        "actionType": "SIGNATURE_CLIENT",
        "actionConfig": {"documentId": 1},  # the world's letter (the fixture sets it)
        "roleScope": "CLIENT",
        "dependsOn": [],
    },
    {
        "key": "pay",
        "title": "Pay the retainer",
        "actionType": "PAYMENT_CLIENT",
        "actionConfig": {"amount": "900.00", "currency": "EUR"},
        "roleScope": "CLIENT",
        "dependsOn": [],
    },
    {
        "key": "review",
        "title": "Secret internal review",
        "actionType": "APPROVAL_LAWYER",
        "actionConfig": {},
        "roleScope": "LAWYER",
        "dependsOn": ["passport"],
    },
]


@dataclass
class World:
    lawyer: Any
    client: Any
    matter: Any
    other_matter: Any
    instance: dict[str, Any]
    api: Any

    def step(self, key: str) -> InstanceStep:
        step_id = next(s["id"] for s in self.instance["steps"] if s["key"] == key)
        found = db.session.get(InstanceStep, step_id)
        db.session.refresh(found)
        return found


@pytest.fixture
def world(make_org, make_user, make_matter, api_as) -> World:
    org = make_org("Lee & Partners")
    lawyer = make_user(org, Role.LAWYER, "Lena Lawyer")
    client = make_user(org, Role.CLIENT, "Cleo Client")
    matter = make_matter(lawyer, client, reference="LINK-001")
    other = make_matter(lawyer, client, reference="HIDDEN-777")
    other.title = "Acquisition of Zebra Holdings"
    db.session.commit()
    letter = file_document(
        org_id=org.id,
        matter_id=matter.id,
        name="engagement-letter.pdf",
        data=demo_letter_pdf(),
        content_type="application/pdf",
        source=DocumentSource.UPLOAD,
        uploaded_by_id=lawyer.id,
    )
    db.session.commit()
    steps = [
        {**s, "actionConfig": {"documentId": letter.id}} if s["key"] == "sign" else s for s in STEPS
    ]
    api = api_as(lawyer)
    template = publish(api, "Client intake", steps)
    instance = start(api, template, matter.id)
    start(api, template, other.id, title="Zebra takeover files")
    return World(lawyer, client, matter, other, instance, api)


def issued(world: World, key: str) -> str:
    """A link for the client to the step, as the READY email issues it; its token."""
    link = client_link_issue.issue(None, world.step(key), world.client)
    return client_link_issue.token_of(link)


def fresh_client(app: Any) -> Any:
    forget_request_user()
    return app.test_client()


def csrf_of(page: Any) -> str:
    return CSRF_META.search(page.get_data(as_text=True)).group(1)


def upload(client: Any, token: str, name: str = "passport.pdf", data: bytes = PDF) -> Any:
    page = client.get(f"/c/{token}")
    forget_request_user()
    return client.post(
        f"/c/{token}",
        data={"csrf_token": csrf_of(page), "file": [(io.BytesIO(data), name)]},
        content_type="multipart/form-data",
    )


def link_events(link_id: int, kind: str | None = None) -> list[WorkflowEvent]:
    rows = db.session.scalars(select(WorkflowEvent).order_by(WorkflowEvent.id)).all()
    return [
        row
        for row in rows
        if (row.payload or {}).get("linkId") == link_id and (kind is None or row.event_type == kind)
    ]


def state_of_things() -> dict[str, Any]:
    """What a refused link must not change."""
    return {
        "documents": count(Document),
        "steps": sorted(
            (s.id, s.action_state) for s in db.session.scalars(select(InstanceStep)).all()
        ),
        "step events": db.session.scalar(
            select(func.count())
            .select_from(WorkflowEvent)
            .where(~WorkflowEvent.event_type.like("client_link.%"))
        ),
        "links": sorted(
            (r.id, r.used_at, r.revoked_at) for r in db.session.scalars(select(ClientLink))
        ),
    }


def text_of(message: Any) -> str:
    """The plain-text part of a (multipart) email."""
    return message.get_body(preferencelist=("plain",)).get_content()


def refusals(link_id: int) -> list[SecurityEvent]:
    rows = db.session.scalars(select(SecurityEvent).order_by(SecurityEvent.id)).all()
    return [row for row in rows if (row.detail or {}).get("linkId") == link_id]


# ---- the email ------------------------------------------------------------------------------


def test_ready_email_to_a_client_carries_a_link_to_that_step_when_a_client_step_is_ready(
    app, world, monkeypatch
):
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        monkeypatch.setitem(app.config, "NOTIFICATIONS_ENABLED", True)
        run_worker()
        assert wait_for(lambda: len(inbox.messages) >= 1)
    [message] = [m["message"] for m in inbox.messages if m["rcpt"] == [world.client.email]]
    body = text_of(message)
    # The four client steps of each of the two workflows are ready: one email names each
    # (steps ready at one moment go together), each with a link of its own.
    assert len(set(LINK_IN_EMAIL.findall(body))) == 8
    assert "Lee & Partners" in message["From"]
    passport = body.split("Ready for you: Upload your passport", 1)[1]
    assert "A scan of your passport" in passport.split("Open it:", 1)[0]
    token = LINK_IN_EMAIL.search(passport).group(1)
    assert client_links.page_of(token).step.title == "Upload your passport"
    link = db.session.get(ClientLink, client_links._link_id(token))
    assert link.user_id == world.client.id
    assert link.expires_at - link.created_at == timedelta(days=7)
    assert link_events(link.id, "client_link.issued")


def test_link_opens_that_one_step_and_nothing_else_of_the_matter_when_opened(app, world):
    token = issued(world, "passport")
    page = fresh_client(app).get(f"/c/{token}")
    assert page.status_code == HTTPStatus.OK
    html = page.get_data(as_text=True)
    assert "Upload your passport" in html
    assert "A scan of your passport" in html
    assert "Lee &amp; Partners" in html and "Lena Lawyer" in html
    for secret in ("LINK-001", "HIDDEN-777", "Zebra", "Confirm your details", "Secret internal"):
        assert secret not in html
    assert "/matters" not in html  # no way from the link to the matter
    [opened] = link_events(client_links._link_id(token), "client_link.opened")
    assert opened.actor_id == world.client.id


# ---- completing the step ----------------------------------------------------------------------


def test_client_uploads_through_the_link_and_it_is_used_up_when_the_step_completes(app, world):
    token = issued(world, "passport")
    link_id = client_links._link_id(token)
    client = fresh_client(app)
    answer = upload(client, token)
    assert answer.status_code == HTTPStatus.OK, answer.get_data(as_text=True)[:800]
    html = answer.get_data(as_text=True)
    assert "We received <strong>passport.pdf</strong>" in html
    assert "What happens next" in html
    step = world.step("passport")
    assert step.action_state == "COMPLETED"
    [document] = db.session.scalars(select(Document).where(Document.step_id.is_not(None))).all()
    assert document.uploaded_by_id == world.client.id and document.step_id == step.id
    assert db.session.get(ClientLink, link_id).used_at is not None
    [submitted] = link_events(link_id, "client_link.submitted")
    assert submitted.payload["done"] is True
    completed = db.session.scalars(
        select(WorkflowEvent).where(
            WorkflowEvent.step_id == step.id, WorkflowEvent.event_type == "step.complete"
        )
    ).all()
    assert [event.actor_id for event in completed] == [world.client.id]

    before = state_of_things()
    again = fresh_client(app).get(f"/c/{token}")
    assert again.status_code == HTTPStatus.GONE
    assert "already been used" in again.get_data(as_text=True)
    assert "Lee &amp; Partners" in again.get_data(as_text=True)
    resent = upload(fresh_client(app), token, "second.pdf")
    assert resent.status_code == HTTPStatus.GONE
    assert state_of_things() == before
    assert len(refusals(link_id)) >= 2  # the open and the answer, each with the link's id


def test_wrong_file_is_refused_in_place_and_changes_nothing_when_the_type_is_not_accepted(
    app, world
):
    token = issued(world, "passport")
    before = state_of_things()
    answer = upload(fresh_client(app), token, "notes.txt", b"plain words")
    assert answer.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "only pdf files are accepted" in answer.get_data(as_text=True)
    assert state_of_things() == before
    assert fresh_client(app).get(f"/c/{token}").status_code == HTTPStatus.OK  # still usable


def test_checklist_is_done_through_the_link_only_when_every_item_is_ticked(app, world):
    token = issued(world, "checks")
    client = fresh_client(app)
    page = client.get(f"/c/{token}")
    before = state_of_things()
    forget_request_user()
    half = client.post(
        f"/c/{token}", data={"csrf_token": csrf_of(page), "checked": ["My address is right"]}
    )
    assert half.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert state_of_things() == before
    forget_request_user()
    done = client.post(
        f"/c/{token}",
        data={
            "csrf_token": csrf_of(page),
            "checked": ["My address is right", "My phone number is right"],
        },
    )
    assert done.status_code == HTTPStatus.OK
    assert "We received your confirmation of every item" in done.get_data(as_text=True)
    assert world.step("checks").action_state == "COMPLETED"


@pytest.mark.parametrize(
    ("key", "receipt"),
    [("sign", "We received your signature"), ("pay", "We received your payment")],
)
def test_signature_or_payment_continues_on_the_provider_page_under_the_link_and_completes(
    app, world, key, receipt
):
    token = issued(world, key)
    client = fresh_client(app)
    page = client.get(f"/c/{token}")
    forget_request_user()
    started = client.post(f"/c/{token}", data={"csrf_token": csrf_of(page)})
    assert started.status_code == HTTPStatus.SEE_OTHER
    assert started.headers["Location"].endswith(f"/c/{token}/provider")
    assert world.step(key).action_state == "IN_PROGRESS"
    forget_request_user()
    provider = client.get(f"/c/{token}/provider")
    assert provider.status_code == HTTPStatus.OK
    assert "LINK-001" not in provider.get_data(as_text=True)
    forget_request_user()
    signed = client.post(f"/c/{token}/provider", data={"csrf_token": csrf_of(provider)})
    assert signed.status_code == HTTPStatus.OK, signed.get_data(as_text=True)[:600]
    assert receipt in signed.get_data(as_text=True)
    assert world.step(key).action_state == "COMPLETED"
    link_id = client_links._link_id(token)
    assert db.session.get(ClientLink, link_id).used_at is not None
    assert fresh_client(app).get(f"/c/{token}").status_code == HTTPStatus.GONE


def test_form_without_its_csrf_token_is_refused_and_changes_nothing(app, world):
    token = issued(world, "passport")
    before = state_of_things()
    answer = fresh_client(app).post(
        f"/c/{token}",
        data={"file": [(io.BytesIO(PDF), "passport.pdf")]},
        content_type="multipart/form-data",
        headers={"Referer": f"http://localhost/c/{token}"},
    )
    # Refused as any form is (webapp/security): back to the page with a plain message.
    assert answer.status_code == HTTPStatus.SEE_OTHER
    assert answer.headers["Location"].endswith(f"/c/{token}")
    assert state_of_things() == before


# ---- links that no longer work -----------------------------------------------------------------


def test_expired_link_shows_a_clear_page_and_changes_nothing_when_its_days_are_over(
    app, world, monkeypatch
):
    token = issued(world, "passport")
    link_id = client_links._link_id(token)
    later = utcnow() + timedelta(days=7, minutes=1)
    monkeypatch.setitem(app.config, "CLOCK", lambda: later)
    before = state_of_things()
    opened = fresh_client(app).get(f"/c/{token}")
    assert opened.status_code == HTTPStatus.GONE
    assert "This link has expired. Contact Lee &amp; Partners" in opened.get_data(as_text=True)
    answer = upload(fresh_client(app), token)
    assert answer.status_code == HTTPStatus.GONE
    assert state_of_things() == before
    assert len(refusals(link_id)) >= 2  # the open and the submit, each with the link's id
    assert not link_events(link_id, "client_link.opened")


def test_link_that_was_never_issued_is_not_found(app, world):
    answer = fresh_client(app).get("/c/not-a-real-token")
    assert answer.status_code == HTTPStatus.NOT_FOUND
    assert "This link is not valid" in answer.get_data(as_text=True)


def test_lawyer_withdraws_a_link_from_the_runner_and_it_then_shows_withdrawn(app, world, login_as):
    token = issued(world, "passport")
    link_id = client_links._link_id(token)
    lawyer = login_as(world.lawyer)
    step = world.step("passport")
    runner = lawyer.get(f"/matters/{world.matter.id}/workflows/{world.instance['id']}")
    assert "Withdraw link" in runner.get_data(as_text=True)
    answer = lawyer.post(f"/steps/{step.id}/client-link/revoke", data={"csrf_token": lawyer.csrf})
    assert answer.status_code == HTTPStatus.SEE_OTHER
    assert db.session.get(ClientLink, link_id).revoked_at is not None
    [revoked] = link_events(link_id, "client_link.revoked")
    assert revoked.actor_id == world.lawyer.id
    before = state_of_things()
    opened = fresh_client(app).get(f"/c/{token}")
    assert opened.status_code == HTTPStatus.GONE
    assert "withdrawn by Lee &amp; Partners" in opened.get_data(as_text=True)
    assert upload(fresh_client(app), token).status_code == HTTPStatus.GONE
    assert state_of_things() == before
    assert len(refusals(link_id)) >= 2


def test_resend_withdraws_the_old_link_and_emails_a_new_one(app, world, login_as, monkeypatch):
    run_worker()  # the READY emails (notifications are off here) are out of the way
    old = issued(world, "passport")
    lawyer = login_as(world.lawyer)
    step = world.step("passport")
    answer = lawyer.post(f"/steps/{step.id}/client-link/resend", data={"csrf_token": lawyer.csrf})
    assert answer.status_code == HTTPStatus.SEE_OTHER
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        run_worker()
        assert inbox.received.wait(5)
    [message] = [m["message"] for m in inbox.messages]
    new = LINK_IN_EMAIL.search(text_of(message)).group(1)
    assert fresh_client(app).get(f"/c/{old}").status_code == HTTPStatus.GONE
    assert fresh_client(app).get(f"/c/{new}").status_code == HTTPStatus.OK
    assert count(Job, Job.kind == "mail.client_link", Job.status == "DONE") == 1


def test_people_off_the_matter_cannot_withdraw_or_resend_a_link(app, world, login_as, make_user):
    token = issued(world, "passport")
    outsider = make_user(world.lawyer.org, Role.LAWYER, "Otto Outside")
    step = world.step("passport")
    before = state_of_things()
    for who in (outsider, world.client):
        web = login_as(who)
        for action in ("revoke", "resend"):
            answer = web.post(f"/steps/{step.id}/client-link/{action}", data={})
            assert answer.status_code == HTTPStatus.NOT_FOUND, (who.name, action)
    assert state_of_things() == before
    assert fresh_client(app).get(f"/c/{token}").status_code == HTTPStatus.OK


# ---- rate limit -----------------------------------------------------------------------------------


def test_thirty_first_request_to_one_link_in_a_minute_gets_429_with_retry_after(
    app,
    world,
    limited,  # noqa: F811
):
    limited_app = limited()
    link = client_link_issue.issue(None, world.step("passport"), world.client)
    with limited_app.app_context():
        token = client_link_issue.token_of(link)
        client = limited_app.test_client()
        answers = [client.get(f"/c/{token}").status_code for _ in range(30)]
        assert answers == [HTTPStatus.OK] * 30
        refused = client.get(f"/c/{token}")
        assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "opened too many times" in refused.get_data(as_text=True)
        # Another link is not held back by this one.
        other = client_link_issue.token_of(
            client_link_issue.issue(None, world.step("checks"), world.client)
        )
        assert client.get(f"/c/{other}").status_code == HTTPStatus.OK


def test_removed_client_cannot_use_a_link_issued_before(app, world):
    token = issued(world, "passport")
    world.api.delete(f"/matters/{world.matter.id}/members/{world.client.id}")
    before = state_of_things()
    assert fresh_client(app).get(f"/c/{token}").status_code == HTTPStatus.NOT_FOUND
    assert upload(fresh_client(app), token).status_code == HTTPStatus.NOT_FOUND
    assert state_of_things() == before
    assert db.session.get(User, world.client.id).active


def test_two_answers_sent_at_once_through_one_link_file_one_document(app, world):
    """Single use holds under a race: the link's row is locked while the answer is made,
    so the second answer finds the link used (410) and files nothing."""
    import threading

    token = issued(world, "passport")
    db.session.commit()
    clients = [fresh_client(app), fresh_client(app)]
    forms = []
    for client in clients:
        forget_request_user()  # each its own CSRF token, kept in its own session
        page = client.get(f"/c/{token}")
        forms.append(csrf_of(page))
    forget_request_user()
    gate = threading.Barrier(2)
    answers: list[int] = []

    def answer(client: Any, csrf: str) -> None:
        gate.wait()
        response = client.post(
            f"/c/{token}",
            data={"csrf_token": csrf, "file": [(io.BytesIO(PDF), "passport.pdf")]},
            content_type="multipart/form-data",
        )
        answers.append(response.status_code)

    threads = [
        threading.Thread(target=answer, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    db.session.commit()
    assert sorted(answers) == [HTTPStatus.OK, HTTPStatus.GONE]
    assert count(Document, Document.step_id.is_not(None)) == 1  # besides the world's letter
    assert world.step("passport").action_state == "COMPLETED"
