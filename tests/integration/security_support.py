"""The security tests' helpers: an app with rate limits switched on, and a sign-in."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.conftest import CSRF_META
from webapp import create_app
from webapp.extensions import db

__all__ = ["CSRF_META", "limited", "sign_in"]


@pytest.fixture
def limited(app: Flask) -> Iterator[Any]:
    """`limited(**settings)`: a second app on the test's database with limits switched on
    (the suite's apps run without them), counting in memory unless told otherwise."""
    built: list[Flask] = []

    def make(**settings: Any) -> Flask:
        config = {
            **{key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "UPLOAD_DIR")},
            "TESTING": True,
            "SECRET_KEY": "limits-secret",
            "WEBHOOK_SECRET": "limits-webhook-secret",
            "MATTERFLOW_SECRET_KEYS": app.config["MATTERFLOW_SECRET_KEYS"],
            "PASSWORD_HASH_METHOD": app.config["PASSWORD_HASH_METHOD"],
            "EMBEDDED_WORKER": False,
            "NOTIFICATIONS_ENABLED": False,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            **settings,
        }
        built.append(create_app(config))
        return built[-1]

    yield make
    for other in built:
        with other.app_context():
            db.engine.dispose()


def sign_in(client: Any, email: str, password: str) -> Any:
    page = client.get("/login")
    token = CSRF_META.search(page.get_data(as_text=True)).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})
