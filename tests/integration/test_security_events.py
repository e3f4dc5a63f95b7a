"""Security events: sign-ins, token use, refused accesses and CSRF failures are kept per
firm, each in a transaction of its own (a refused request is still recorded), and
/admin/security lists them for the firm's admins, newest first, by kind, a page at a time."""

from http import HTTPStatus

from sqlalchemy import select, update

from tests.conftest import CSRF_META, forget_request_user
from tests.integration.security_support import sign_in
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import SecurityEvent, SecurityEventKind, User, WorkflowInstance
from webapp.services.auth import create_token
from webapp.services.security import record_security_event
from webapp.services.seed import DEMO_PASSWORD
from webapp.web.reads import security as reads


def events(kind: str | None = None) -> list[SecurityEvent]:
    db.session.commit()  # a new snapshot: the events were written on another connection
    db.session.expire_all()
    query = select(SecurityEvent).order_by(SecurityEvent.id)
    if kind:
        query = query.where(SecurityEvent.kind == kind)
    return list(db.session.scalars(query))


def test_sign_ins_are_recorded_in_the_firm_when_they_succeed_or_fail(app, demo):
    lawyer = demo.user(Role.LAWYER)
    client = app.test_client()
    assert sign_in(client, lawyer.email, "wrong-password").status_code == 422
    assert sign_in(client, "nobody@nowhere.test", "guess").status_code == 422
    assert sign_in(client, lawyer.email, DEMO_PASSWORD).status_code == 302

    failed = events(SecurityEventKind.SIGN_IN_FAILED)
    assert [(e.org_id, e.user_id) for e in failed] == [(demo.org.id, lawyer.id), (None, None)]
    assert failed[1].detail["email"] == "nobody@nowhere.test"  # no firm: the operator's only
    (succeeded,) = events(SecurityEventKind.SIGN_IN_SUCCEEDED)
    assert (succeeded.org_id, succeeded.user_id, succeeded.address) == (
        demo.org.id,
        lawyer.id,
        "127.0.0.1",
    )


def test_held_back_sign_ins_are_recorded_once_a_minute_when_an_account_is_throttled(limited, demo):
    client = limited(SIGN_IN_ACCOUNT_LIMIT="2 per minute").test_client()
    lawyer = demo.user(Role.LAWYER)
    statuses = [sign_in(client, lawyer.email, "wrong").status_code for _ in range(6)]
    assert statuses == [422, 422, 429, 429, 429, 429]
    (held,) = events(SecurityEventKind.SIGN_IN_THROTTLED)
    assert (held.org_id, held.user_id) == (demo.org.id, lawyer.id)
    assert "Too many wrong passwords" in held.detail["reason"]


def test_token_use_is_recorded_once_an_hour_when_a_token_calls_many_times(app, demo):
    lawyer = demo.user(Role.LAWYER)
    headers = {"Authorization": f"Bearer {create_token(lawyer.email, name='billing sync')}"}
    client = app.test_client()
    for _ in range(3):
        forget_request_user()
        assert client.get("/api/v1/matters", headers=headers).status_code == HTTPStatus.OK
    (used,) = events(SecurityEventKind.TOKEN_USED)
    assert (used.org_id, used.user_id) == (demo.org.id, lawyer.id)
    assert used.detail["tokenName"] == "billing sync"
    assert used.detail["path"] == "/api/v1/matters"


def test_refused_change_is_recorded_when_its_own_transaction_rolls_back(app, demo, api_as):
    paralegal = demo.user(Role.PARALEGAL)
    instance = db.session.scalar(select(WorkflowInstance))
    before = instance.title
    refused = api_as(paralegal).patch(f"/instances/{instance.id}", json={"title": "Renamed"})
    assert refused.status_code == HTTPStatus.FORBIDDEN
    db.session.expire_all()
    assert db.session.get(WorkflowInstance, instance.id).title == before  # nothing changed
    (event,) = events(SecurityEventKind.ACCESS_REFUSED)
    assert (event.org_id, event.user_id) == (demo.org.id, paralegal.id)
    assert event.detail["status"] == 403
    assert event.detail["path"] == f"/api/v1/instances/{instance.id}"


def test_another_firms_matter_is_recorded_in_that_firm_when_someone_probes_it(
    app, demo, api_as, second_firm
):
    lawyer = demo.user(Role.LAWYER)
    api = api_as(lawyer)
    probe = api.get(f"/matters/{second_firm['matter'].id}")
    assert probe.status_code == HTTPStatus.NOT_FOUND
    assert api.get("/matters/987654").status_code == HTTPStatus.NOT_FOUND  # nothing there
    (event,) = events(SecurityEventKind.ACCESS_REFUSED)
    assert (event.org_id, event.user_id) == (second_firm["org"].id, lawyer.id)
    assert event.detail["fromAnotherFirm"] is True
    assert event.detail["status"] == 404


def test_token_of_a_deactivated_person_is_recorded_when_it_is_refused(app, demo):
    lawyer = demo.user(Role.LAWYER)
    token = create_token(lawyer.email)
    db.session.execute(update(User).where(User.id == lawyer.id).values(active=False))
    db.session.commit()
    response = app.test_client().get(
        "/api/v1/matters", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    (event,) = events(SecurityEventKind.ACCESS_REFUSED)
    assert (event.org_id, event.user_id, event.detail["status"]) == (demo.org.id, lawyer.id, 401)


def test_csrf_failure_is_recorded_in_the_firm_when_a_form_comes_without_its_token(
    app, demo, login_as
):
    lawyer = demo.user(Role.LAWYER)
    web = login_as(lawyer)
    forget_request_user()
    assert web.client.post("/logout").status_code == HTTPStatus.SEE_OTHER
    forget_request_user()
    api = web.client.post("/api/v1/matters", json={"reference": "X-1", "title": "No token"})
    assert api.status_code == HTTPStatus.BAD_REQUEST
    failures = events(SecurityEventKind.CSRF_FAILED)
    assert [(e.org_id, e.user_id, e.detail["path"]) for e in failures] == [
        (demo.org.id, lawyer.id, "/logout"),
        (demo.org.id, lawyer.id, "/api/v1/matters"),
    ]


def test_events_recorded_outside_a_request_are_written_at_once(app, demo):
    """The ethical walls (another slice) call this from their service."""
    lawyer = demo.user(Role.LAWYER)
    record_security_event(
        demo.org.id, SecurityEventKind.WALL_HIT, lawyer.id, {"matterId": demo.matter.id}
    )
    (hit,) = events(SecurityEventKind.WALL_HIT)
    assert (hit.org_id, hit.user_id, hit.detail) == (
        demo.org.id,
        lawyer.id,
        {"matterId": demo.matter.id},
    )


# ---- /admin/security ----------------------------------------------------------------------------


def seed_events(org_id: int, user_id: int, kinds: list[str]) -> None:
    for kind in kinds:
        record_security_event(org_id, kind, user_id, {"reason": f"seeded {kind}"})


def test_admin_page_lists_the_firms_events_newest_first_when_an_admin_opens_it(
    app, demo, login_as, second_firm
):
    lawyer = demo.user(Role.LAWYER)
    seed_events(demo.org.id, lawyer.id, ["sign_in.failed", "access.refused"])
    seed_events(second_firm["org"].id, second_firm["lawyer"].id, ["csrf.failed"])
    web = login_as(demo.user(Role.ADMIN))
    db.session.commit()  # the tests share one session: see what the sign-in just wrote
    page = web.get("/admin/security")
    assert page.status_code == HTTPStatus.OK
    text = page.get_data(as_text=True)
    table = text[text.index("<tbody>") :]
    # Newest first: the admin's own sign-in, then the two seeded events.
    assert table.index("Signed in") < table.index("Access refused") < table.index("Wrong password")
    assert lawyer.name in text
    assert "seeded csrf.failed" not in text  # firms never meet
    assert 'aria-current="page">Security' in text


def test_admin_page_filters_by_kind_and_pages_by_keyset_when_there_are_many(
    app, demo, login_as, monkeypatch
):
    lawyer = demo.user(Role.LAWYER)
    seed_events(demo.org.id, lawyer.id, ["access.refused"] * 5 + ["sign_in.failed"])
    monkeypatch.setattr(reads, "PAGE_SIZE", 2)
    web = login_as(demo.user(Role.ADMIN))
    refused = [e.id for e in events(SecurityEventKind.ACCESS_REFUSED)][::-1]

    first = web.get("/admin/security?kind=access.refused", htmx=True).get_data(as_text=True)
    assert [f"security-event-{i}" in first for i in refused] == [True, True, False, False, False]
    assert "Wrong password" not in first
    assert "2 shown of 5 events" in first
    second = web.get(f"/admin/security?kind=access.refused&before={refused[1]}")
    shown = second.get_data(as_text=True)
    assert [f"security-event-{i}" in shown for i in refused] == [False, False, True, True, False]
    assert "First page" in shown


def test_admin_page_is_refused_when_someone_else_or_a_bad_filter_asks(app, demo, login_as):
    assert login_as(demo.user(Role.LAWYER)).get("/admin/security").status_code == 403
    admin = login_as(demo.user(Role.ADMIN))
    assert admin.get("/admin/security?kind=everything").status_code == 400
    assert admin.get("/admin/security?before=abc").status_code == 400
    forget_request_user()
    assert app.test_client().get("/admin/security").status_code == HTTPStatus.FOUND


def test_sign_in_page_token_is_still_usable_when_events_are_recorded(app, demo):
    """Recording never disturbs the answer: the next form still has its CSRF token."""
    client = app.test_client()
    sign_in(client, demo.user(Role.LAWYER).email, "wrong")
    page = client.get("/login").get_data(as_text=True)
    assert CSRF_META.search(page)
