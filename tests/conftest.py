"""Shared fixtures: one app per database for the whole session, built by the Alembic
chain; every test starts from empty tables. Services commit for real (the concurrency
tests need separate connections), so tables are truncated between tests instead of
rolling back a SAVEPOINT."""

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from tests.databases import (
    available_databases,
    create_run_database,
    drop_run_database,
    reset_postgres_schema,
)
from webapp import create_app
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, MatterMember, Organization, User
from webapp.services.auth import create_token, new_user
from webapp.services.events import forget_listeners
from webapp.services.seed import DEMO_PASSWORD, seed_demo

DATABASES = available_databases()
_RUN_DATABASE: list[Any] = []


def postgres_run_url() -> str:
    """This run's own PostgreSQL database, created on first use."""
    if not _RUN_DATABASE:
        _RUN_DATABASE.append(create_run_database())
    return _RUN_DATABASE[0].render_as_string(hide_password=False)


def pytest_unconfigure(config: pytest.Config) -> None:
    for url in _RUN_DATABASE:
        drop_run_database(url)


def pytest_report_header() -> str:
    return f"Matterflow test databases: {', '.join(DATABASES)}"


# A fixed Fernet key: the tests' secrets are encrypted as a server's would be.
TEST_SECRET_KEY = "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0="


def build_app(database: str, tmp: Path) -> Flask:
    url = f"sqlite:///{tmp / 'test.db'}" if database == "sqlite" else postgres_run_url()
    if database == "postgresql":
        reset_postgres_schema(url)
    app = create_app(
        {
            "TESTING": True,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test-secret",
            "UPLOAD_DIR": str(tmp / "uploads"),
            "WEBHOOK_SECRET": "test-webhook-secret",
            "MATTERFLOW_SECRET_KEYS": [TEST_SECRET_KEY],
            "EMBEDDED_WORKER": False,
            "NOTIFICATIONS_ENABLED": False,
            "WTF_CSRF_ENABLED": True,
            # Rate limits have their own tests (test_rate_limits.py); elsewhere they would
            # only count one test's calls against the next's.
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade(directory=str(Path(app.root_path).parent / "migrations"))
    return app


@pytest.fixture(scope="session")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Flask]:
    return {name: build_app(name, tmp_path_factory.mktemp(name)) for name in DATABASES}


def empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        # The audit tables refuse TRUNCATE (migration 0011); the harness connects as the
        # owner, a superuser here, and sets the triggers aside for this one transaction.
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


@pytest.fixture(params=DATABASES)
def app(request: pytest.FixtureRequest, apps: dict[str, Flask]) -> Iterator[Flask]:
    flask_app = apps[request.param]
    with flask_app.app_context():
        yield flask_app
        db.session.rollback()
        empty_tables()
        forget_listeners()  # the next test's firm may reuse this one's id
        db.session.remove()


@pytest.fixture
def dialect(app: Flask) -> str:
    return db.engine.dialect.name


# ---- people and matters -------------------------------------------------------------

_sequence = itertools.count(1)


@pytest.fixture
def make_org(app: Flask) -> Any:
    def make(name: str = "Firm") -> Organization:
        org = Organization(name=f"{name} {next(_sequence)}")
        db.session.add(org)
        db.session.commit()
        return org

    return make


@pytest.fixture
def make_user(app: Flask) -> Any:
    def make(org: Organization, role: str, name: str | None = None) -> User:
        n = next(_sequence)
        user = new_user(
            org.id,
            f"{role.lower()}{n}@firm{org.id}.test",
            name or f"{role.title()} {n}",
            role,
            DEMO_PASSWORD,
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_matter(app: Flask) -> Any:
    def make(owner: User, *members: User, reference: str | None = None) -> Matter:
        matter = Matter(
            org_id=owner.org_id,
            reference=reference or f"M-{next(_sequence):04d}",
            title="Test matter",
            owner_id=owner.id,
        )
        matter.members.append(MatterMember(user_id=owner.id, role=owner.role))
        for member in members:
            matter.members.append(MatterMember(user_id=member.id, role=member.role))
        db.session.add(matter)
        db.session.commit()
        return matter

    return make


class Demo:
    """The seeded firm: people by role and the DEMO-001 matter."""

    def __init__(self) -> None:
        self.org = db.session.scalar(db.select(Organization))
        self.users = {
            u.role: u for u in db.session.scalars(db.select(User).where(User.org_id == self.org.id))
        }
        self.matter = db.session.scalar(db.select(Matter).where(Matter.reference == "DEMO-001"))

    def user(self, role: str) -> User:
        return self.users[role]


@pytest.fixture
def demo(app: Flask) -> Demo:
    seed_demo()
    return Demo()


# ---- clients --------------------------------------------------------------------------


def forget_request_user() -> None:
    """Tests hold one app context open, so Flask's `g` outlives each request; drop the user
    Flask-Login cached there (and the CSRF token Flask-WTF cached) so every request
    authenticates on its own, as in production."""
    g.pop("_login_user", None)
    g.pop("token_auth", None)
    g.pop("csrf_token", None)


class ApiClient:
    """The JSON API as a client would call it, with a Bearer token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        forget_request_user()
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api_as(app: Flask) -> Any:
    def make(user: User) -> ApiClient:
        return ApiClient(app.test_client(), create_token(user.email))

    return make


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class WebClient:
    """A signed-in browser session: HTML pages, forms and HTMX requests with CSRF."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> Any:
        forget_request_user()
        page = self.client.get("/login")
        self.csrf = CSRF_META.search(page.get_data(as_text=True)).group(1)
        response = self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": self.csrf}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        self.refresh_csrf()
        return response

    def refresh_csrf(self) -> None:
        forget_request_user()
        page = self.client.get("/inbox")
        match = CSRF_META.search(page.get_data(as_text=True))
        if match:
            self.csrf = match.group(1)

    def get(self, path: str, htmx: bool = False, **kwargs: Any) -> Any:
        forget_request_user()
        return self.client.get(path, headers=self._headers(htmx), **kwargs)

    def post(
        self,
        path: str,
        data: Any = None,
        htmx: bool = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        forget_request_user()
        headers = {**self._headers(htmx), **(headers or {})}
        return self.client.post(path, data=data or {}, headers=headers, **kwargs)

    def _headers(self, htmx: bool) -> dict[str, str]:
        headers = {"X-CSRFToken": self.csrf}
        if htmx:
            headers["HX-Request"] = "true"
        return headers


@pytest.fixture
def login_as(app: Flask) -> Any:
    def make(user: User) -> WebClient:
        web = WebClient(app.test_client())
        web.sign_in(user.email)
        return web

    return make


@pytest.fixture
def second_firm(make_org: Any, make_user: Any, make_matter: Any) -> dict[str, Any]:
    org = make_org("Other Firm")
    lawyer = make_user(org, Role.LAWYER)
    return {"org": org, "lawyer": lawyer, "matter": make_matter(lawyer)}
