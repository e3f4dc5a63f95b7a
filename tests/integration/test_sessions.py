"""Sessions that end: signing out ends every copy of the cookie, an idle session ends and
the sign-in page says why, an expired form says so in plain words, `next` never leads
off the site, and an unknown account costs a password hash like a known one."""

from http import HTTPStatus
from urllib.parse import quote

import pytest

from tests.conftest import CSRF_META, WebClient, forget_request_user
from webapp.engine.roles import Role
from webapp.services.seed import DEMO_PASSWORD

HOUR = 3600


class Clock:
    """Seconds since the epoch, moved by the test instead of waiting."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:  # as the `time` module, for itsdangerous
        return self.now


@pytest.fixture
def idle_clock(app):
    clock = Clock()
    app.config["IDLE_CLOCK"] = clock
    yield clock
    app.config.pop("IDLE_CLOCK", None)


def copy_of(web: WebClient, app) -> WebClient:
    """Another browser holding the same session cookie (stolen, or copied by hand)."""
    other = WebClient(app.test_client())
    other.client.set_cookie("session", web.client.get_cookie("session").value)
    other.csrf = web.csrf
    return other


def test_copied_cookie_is_refused_when_its_person_has_signed_out(app, demo, login_as):
    web = login_as(demo.user(Role.LAWYER))
    copy = copy_of(web, app)
    assert copy.get("/inbox").status_code == HTTPStatus.OK

    signed_out = web.post("/logout")
    assert signed_out.status_code == HTTPStatus.FOUND

    page = copy.get("/inbox")
    assert page.status_code == HTTPStatus.FOUND
    assert "/login" in page.headers["Location"]
    forget_request_user()
    api = copy.client.get("/api/v1/matters")
    assert api.status_code == HTTPStatus.UNAUTHORIZED


def test_signing_in_again_works_when_an_earlier_session_was_ended(app, demo, login_as):
    web = login_as(demo.user(Role.LAWYER))
    web.post("/logout")
    again = login_as(demo.user(Role.LAWYER))
    assert again.get("/inbox").status_code == HTTPStatus.OK


def test_idle_session_ends_and_the_sign_in_page_says_why_when_unused_for_eight_hours(
    app, demo, login_as, idle_clock
):
    web = login_as(demo.user(Role.LAWYER))
    idle_clock.now += 8 * HOUR + 60
    page = web.get("/inbox")
    assert page.status_code == HTTPStatus.FOUND
    forget_request_user()
    login = web.client.get(page.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after 8 hours without activity." in login
    assert "Please sign in to continue." not in login
    # The cookie it had is of no further use.
    assert web.get("/inbox").status_code == HTTPStatus.FOUND


def test_session_stays_when_it_is_used_within_the_idle_time(app, demo, login_as, idle_clock):
    web = login_as(demo.user(Role.LAWYER))
    for _ in range(3):
        idle_clock.now += 7 * HOUR
        assert web.get("/inbox").status_code == HTTPStatus.OK


def test_idle_time_is_a_setting_when_a_firm_wants_it_shorter(app, demo, login_as, idle_clock):
    app.config["SESSION_IDLE_MINUTES"] = 30
    try:
        web = login_as(demo.user(Role.LAWYER))
        idle_clock.now += 31 * 60
        ended = web.get("/inbox")
        forget_request_user()
        text = web.client.get(ended.headers["Location"]).get_data(as_text=True)
        assert "signed out after 30 minutes without activity" in text
    finally:
        app.config["SESSION_IDLE_MINUTES"] = 8 * 60


# ---- CSRF tokens expire ---------------------------------------------------------------------


@pytest.fixture
def signing_clock(monkeypatch):
    """itsdangerous's clock, which dates and checks every CSRF token."""
    clock = Clock()
    monkeypatch.setattr("itsdangerous.timed.time", clock)
    return clock


def test_expired_form_says_so_in_plain_words_when_posted_after_the_time_limit(
    app, demo, login_as, signing_clock
):
    web = login_as(demo.user(Role.LAWYER))
    signing_clock.now += app.config["WTF_CSRF_TIME_LIMIT"] + 1

    plain = web.post("/logout", headers={"Referer": "http://localhost/matters"})
    assert plain.status_code == HTTPStatus.SEE_OTHER
    assert plain.headers["Location"] == "/matters"
    forget_request_user()
    shown = web.client.get("/matters").get_data(as_text=True)
    assert "This page was open too long, so nothing was changed." in shown

    inline = web.post("/logout", htmx=True)
    assert inline.status_code == HTTPStatus.BAD_REQUEST
    assert "This page was open too long" in inline.get_data(as_text=True)
    assert web.get("/inbox").status_code == HTTPStatus.OK  # still signed in: nothing changed


def test_expired_sign_in_form_shows_the_form_again_when_posted_late(app, demo, signing_clock):
    client = app.test_client()
    token = CSRF_META.search(client.get("/login").get_data(as_text=True)).group(1)
    signing_clock.now += app.config["WTF_CSRF_TIME_LIMIT"] + 1
    late = client.post(
        "/login",
        data={
            "email": demo.user(Role.LAWYER).email,
            "password": DEMO_PASSWORD,
            "csrf_token": token,
        },
    )
    assert late.status_code == HTTPStatus.BAD_REQUEST
    page = late.get_data(as_text=True)
    assert "This page was open too long" in page
    assert 'name="password"' in page


def test_form_without_a_token_is_refused_in_plain_words_when_sent_from_elsewhere(
    app, demo, login_as
):
    web = login_as(demo.user(Role.LAWYER))
    forget_request_user()
    refused = web.client.post("/logout", headers={"Referer": "https://evil.example/x"})
    assert refused.status_code == HTTPStatus.SEE_OTHER
    assert refused.headers["Location"] == "/"  # not back to the other site
    assert web.get("/inbox").status_code == HTTPStatus.OK


# ---- where a sign-in leads ------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "//evil.example",
        "https://evil.example",
        "/%5Cevil.example",
        "/%5C%5Cevil.example",
        "/inbox%0D%0ASet-Cookie:%20x=1",
        "/inbox%0Aevil",
        "///evil.example",
        "javascript:alert(1)",
    ],
)
def test_sign_in_lands_on_the_home_page_when_next_leads_elsewhere(app, demo, target):
    client = app.test_client()
    token = CSRF_META.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post(
        f"/login?next={target}",
        data={
            "email": demo.user(Role.LAWYER).email,
            "password": DEMO_PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response.headers["Location"] == "/"


def test_sign_in_follows_next_when_it_is_a_page_of_the_site(app, demo):
    client = app.test_client()
    token = CSRF_META.search(client.get("/login").get_data(as_text=True)).group(1)
    target = "/matters?q=" + quote("smith & co")
    response = client.post(
        f"/login?next={quote(target)}",
        data={
            "email": demo.user(Role.LAWYER).email,
            "password": DEMO_PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == target


# ---- the same work whether the account exists or not -----------------------------------------


def test_unknown_account_costs_a_password_hash_like_a_known_one(app, demo, monkeypatch):
    import webapp.services.auth as auth

    checked: list[str] = []
    real = auth.check_password_hash

    def spy(stored: str, password: str) -> bool:
        checked.append(stored.split("$")[0])
        return real(stored, password)

    monkeypatch.setattr(auth, "check_password_hash", spy)
    assert auth.authenticate("nobody@nowhere.test", "guess") is None
    assert auth.authenticate(demo.user(Role.LAWYER).email, "guess") is None
    method = app.config["PASSWORD_HASH_METHOD"]
    assert checked == [method, method]
