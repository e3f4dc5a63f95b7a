"""Rate limits: wrong passwords per account and per address with a growing wait, the API
per token, hooks per trigger; 429 with Retry-After, the JSON error body in the API and
plain words on the sign-in page. With Redis, two real server processes share the counts."""

import os
import subprocess
import sys
import time
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from tests.integration.engine_support import free_port
from tests.integration.security_support import CSRF_META, sign_in
from webapp.engine.roles import Role
from webapp.services.auth import create_token
from webapp.services.seed import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"


def retry_after(response: Any) -> int:
    return int(response.headers["Retry-After"])


def test_sixth_wrong_password_is_refused_with_retry_after_when_one_account_fails_five_times(
    limited, demo
):
    client = limited().test_client()
    email = demo.user(Role.LAWYER).email
    answers = [sign_in(client, email, "wrong-password").status_code for _ in range(5)]
    assert answers == [HTTPStatus.UNPROCESSABLE_ENTITY] * 5

    sixth = sign_in(client, email, "wrong-password")
    assert sixth.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 1 <= retry_after(sixth) <= 60
    page = sixth.get_data(as_text=True)
    assert "Too many wrong passwords for this account." in page
    assert "Try again in" in page
    # While the account waits, even the right password is not checked.
    right = sign_in(client, email, DEMO_PASSWORD)
    assert right.status_code == HTTPStatus.TOO_MANY_REQUESTS
    # Another account from the same address is not held back by this one.
    other = sign_in(client, demo.user(Role.PARALEGAL).email, DEMO_PASSWORD)
    assert other.status_code == HTTPStatus.FOUND


def test_right_passwords_never_count_when_someone_signs_in_many_times(limited, demo):
    app = limited(SIGN_IN_ACCOUNT_LIMIT="2 per minute")
    email = demo.user(Role.LAWYER).email
    for _ in range(4):
        assert sign_in(app.test_client(), email, DEMO_PASSWORD).status_code == HTTPStatus.FOUND


class FakeTime:
    """The rate-limit storage's clock, moved by the test instead of waiting."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


def test_wait_grows_when_an_account_keeps_failing_after_its_first_wait(limited, demo, monkeypatch):
    clock = FakeTime()
    monkeypatch.setattr("limits.storage.memory.time", clock)
    monkeypatch.setattr("webapp.security.limits.time", clock)
    client = limited().test_client()
    email = demo.user(Role.LAWYER).email
    for _ in range(5):
        sign_in(client, email, "wrong-password")
    first = sign_in(client, email, "wrong-password")
    assert first.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert retry_after(first) <= 60

    clock.now += 61  # the first wait is over: five more tries
    answers = [sign_in(client, email, "wrong-password").status_code for _ in range(5)]
    assert answers == [HTTPStatus.UNPROCESSABLE_ENTITY] * 5
    second = sign_in(client, email, "wrong-password")
    assert second.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 13 * 60 < retry_after(second) <= 15 * 60  # ten in a quarter of an hour


def test_address_is_refused_when_it_tries_many_accounts(limited, demo):
    client = limited(SIGN_IN_ADDRESS_LIMIT="3 per minute").test_client()
    for n in range(3):
        assert sign_in(client, f"nobody{n}@firm.test", "guess").status_code == 422
    refused = sign_in(client, "nobody9@firm.test", "guess")
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "from this address" in refused.get_data(as_text=True)


def test_api_refuses_a_token_with_the_error_body_when_it_calls_too_often(limited, demo):
    app = limited(API_RATE_LIMIT="3 per minute")
    client = app.test_client()
    busy = {"Authorization": f"Bearer {create_token(demo.user(Role.LAWYER).email)}"}
    calm = {"Authorization": f"Bearer {create_token(demo.user(Role.ADMIN).email)}"}
    answers = [client.get("/api/v1/matters", headers=busy).status_code for _ in range(3)]
    assert answers == [HTTPStatus.OK] * 3

    refused = client.get("/api/v1/matters", headers=busy)
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 1 <= retry_after(refused) <= 60
    error = refused.json["error"]
    assert error["code"] == "too_many_requests"
    assert error["message"].startswith("Too many requests for this token.")
    assert error["details"] == {"retryAfter": retry_after(refused)}
    assert client.get("/api/v1/matters", headers=calm).status_code == HTTPStatus.OK


def test_hook_is_refused_per_trigger_when_deliveries_come_too_often(limited):
    client = limited(HOOK_RATE_LIMIT="2 per minute").test_client()
    unsigned = [client.post("/api/v1/hooks/7", json={}).status_code for _ in range(2)]
    assert HTTPStatus.TOO_MANY_REQUESTS not in unsigned
    refused = client.post("/api/v1/hooks/7", json={})
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert refused.json["error"]["message"].startswith("Too many deliveries for this trigger.")
    assert "Retry-After" in refused.headers
    # Another trigger has its own count.
    assert client.post("/api/v1/hooks/8", json={}).status_code != HTTPStatus.TOO_MANY_REQUESTS


def test_limits_count_in_memory_when_redis_is_out_of_reach(limited, demo):
    app = limited(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", API_RATE_LIMIT="2 per minute")
    client = app.test_client()
    email = demo.user(Role.LAWYER).email
    answers = [sign_in(client, email, "wrong-password").status_code for _ in range(6)]
    assert answers == [HTTPStatus.UNPROCESSABLE_ENTITY] * 5 + [HTTPStatus.TOO_MANY_REQUESTS]
    token = {"Authorization": f"Bearer {create_token(demo.user(Role.ADMIN).email)}"}
    calls = [client.get("/api/v1/matters", headers=token).status_code for _ in range(3)]
    assert calls == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]


def test_wrong_passwords_are_never_refused_when_limits_are_off(app, demo):
    client = app.test_client()
    email = demo.user(Role.LAWYER).email
    answers = {sign_in(client, email, "wrong-password").status_code for _ in range(8)}
    assert answers == {HTTPStatus.UNPROCESSABLE_ENTITY}


# ---- two processes, one count --------------------------------------------------------------


def redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def serve(app: Flask, port: int, prefix: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WERKZEUG_"))}
    env.update(
        {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "two-process-secret",
            "WEBHOOK_SECRET": "two-process-webhook-secret",
            "MATTERFLOW_SECRET_KEYS": ",".join(app.config["MATTERFLOW_SECRET_KEYS"]),
            "PASSWORD_HASH_METHOD": app.config["PASSWORD_HASH_METHOD"],
            "EMBEDDED_WORKER": "false",
            "NOTIFICATIONS_ENABLED": "false",
            "REDIS_URL": REDIS_URL,
            "RATELIMIT_KEY_PREFIX": prefix,
        }
    )
    command = [sys.executable, "-m", "flask", "--app", "webapp", "run", "--port", str(port)]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )


def wait_until_serving(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)  # a real process starting up, not the code under test's clock
    raise AssertionError(f"{base} never answered")


def web_sign_in(session: requests.Session, base: str, email: str, password: str) -> Any:
    page = session.get(f"{base}/login", timeout=10)
    token = CSRF_META.search(page.text).group(1)
    return session.post(
        f"{base}/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )


def test_two_server_processes_share_the_count_when_redis_is_set(app, demo):
    if not redis_reachable():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefix = f"test-{uuid.uuid4().hex}"
    ports = [free_port(), free_port()]
    servers = [serve(app, port, prefix) for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, server in zip(bases, servers, strict=True):
            wait_until_serving(base, server)
        email = demo.user(Role.LAWYER).email
        sessions = [requests.Session(), requests.Session()]
        turns = [0, 1, 0, 1, 0]  # five wrong passwords, shared out between the two
        answers = [web_sign_in(sessions[n], bases[n], email, "wrong").status_code for n in turns]
        assert answers == [HTTPStatus.UNPROCESSABLE_ENTITY] * 5
        sixth = web_sign_in(sessions[1], bases[1], email, "wrong")
        assert sixth.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert 1 <= int(sixth.headers["Retry-After"]) <= 60
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
