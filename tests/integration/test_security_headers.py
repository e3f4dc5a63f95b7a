"""Security headers on every kind of answer, the session cookie's flags over HTTP, HTTPS
and a trusted proxy, no server version banner, and templates the CSP can serve."""

import re
import threading
from http import HTTPStatus
from pathlib import Path

import requests
from werkzeug.serving import make_server

from tests.conftest import TEST_SECRET_KEY
from webapp import create_app
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.security.headers import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parents[2]


def assert_protected(response) -> None:
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_every_kind_of_answer_carries_the_security_headers_when_served_over_http(
    app, demo, login_as, api_as
):
    anonymous = app.test_client()
    web = login_as(demo.user(Role.LAWYER))
    answers = [
        anonymous.get("/login"),
        anonymous.get("/static/css/app.css"),
        anonymous.get("/api/v1/matters"),  # 401 JSON
        anonymous.get("/health"),
        web.get("/inbox"),
        web.get("/matters/999999"),  # 404 page
        api_as(demo.user(Role.LAWYER)).get("/matters"),
    ]
    for response in answers:
        assert_protected(response)
        assert "Strict-Transport-Security" not in response.headers  # not over plain HTTP


def test_https_answers_carry_hsts_and_a_secure_session_cookie(app, demo):
    client = app.test_client()
    response = client.get("/login", base_url="https://matterflow.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_session_cookie_is_httponly_and_lax_but_not_secure_when_served_over_plain_http(app):
    cookie = app.test_client().get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def behind_proxy(app, proxies: int):
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "proxy-secret",
            "WEBHOOK_SECRET": "proxy-webhook-secret",
            "MATTERFLOW_SECRET_KEYS": [TEST_SECRET_KEY],
            "EMBEDDED_WORKER": False,
            "RATELIMIT_ENABLED": False,
            "TRUSTED_PROXIES": proxies,
        }
    )


def test_forwarded_https_counts_only_when_the_proxy_is_trusted(app):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    trusted, untrusted = behind_proxy(app, 1), behind_proxy(app, 0)
    try:
        secure = trusted.test_client().get("/login", headers=forwarded)
        assert "Secure" in secure.headers["Set-Cookie"]
        assert "Strict-Transport-Security" in secure.headers
        plain = untrusted.test_client().get("/login", headers=forwarded)
        assert "Secure" not in plain.headers["Set-Cookie"]
        assert "Strict-Transport-Security" not in plain.headers
    finally:
        for other in (trusted, untrusted):
            with other.app_context():
                db.engine.dispose()


def test_development_server_names_no_versions_when_asked_who_it_is(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        response = requests.get(f"http://127.0.0.1:{server.server_port}/health", timeout=10)
    finally:
        server.shutdown()
        thread.join(5)
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Server"] == "Matterflow"


# What the policy refuses, written into a page: a <script> with a body, a style attribute,
# an inline event handler, a javascript: link, htmx's hx-on (it compiles code at run time).
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "hx-on": re.compile(r"\shx-on", re.I),
}


# Emails are read in mail clients, never served under the policy: they carry their styles.
NOT_PAGES = ROOT / "templates" / "email"


def test_no_template_holds_what_the_content_security_policy_refuses():
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if NOT_PAGES not in path.parents
        for what, pattern in INLINE.items()
        if pattern.search(path.read_text())
    ]
    assert found == []
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
