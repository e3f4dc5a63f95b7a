"""No public defaults: `make run` writes random secrets (and a Fernet key for the firms'
secrets) into instance/ once and reads them back, the environment wins, and a server on
PostgreSQL refuses a missing or default secret, naming the variable. A worker whose key
opens no stored secret refuses to start; rotation re-encrypts with the new key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import TEST_SECRET_KEY
from tests.integration.test_worker_processes import flask
from webapp import create_app
from webapp.adapters.cipher import CipherUnavailable
from webapp.config import (
    KEYS_NAME,
    PUBLIC_DEFAULTS,
    secret,
    secret_keys,
    write_instance_secrets,
)
from webapp.extensions import db
from webapp.security.secrets import UnsafeSecret
from webapp.services import secrets

ROOT = Path(__file__).resolve().parents[2]
# Never connected to: the refusal comes before any connection.
POSTGRES = "postgresql+psycopg://matterflow@127.0.0.1:1/unused"
GOOD = {"SECRET_KEY": "a" * 64, "WEBHOOK_SECRET": "b" * 64, KEYS_NAME: [TEST_SECRET_KEY]}


def test_first_start_writes_random_secrets_that_later_starts_read_back(tmp_path, monkeypatch):
    for name in (*PUBLIC_DEFAULTS, KEYS_NAME):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "instance" / "secrets.json"
    assert write_instance_secrets(path) == ["SECRET_KEY", "WEBHOOK_SECRET", KEYS_NAME]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    first = {name: secret(name, path) for name in PUBLIC_DEFAULTS}
    assert write_instance_secrets(path) == []  # a later start keeps them
    assert {name: secret(name, path) for name in PUBLIC_DEFAULTS} == first
    for name, value in first.items():
        assert len(value) == 64
        assert value != PUBLIC_DEFAULTS[name]
    other = tmp_path / "other.json"
    write_instance_secrets(other)
    assert secret("SECRET_KEY", other) != first["SECRET_KEY"]


def test_environment_wins_over_the_instance_file(tmp_path, monkeypatch):
    path = tmp_path / "secrets.json"
    write_instance_secrets(path)
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert secret("SECRET_KEY", path) == "from-the-environment"


@pytest.mark.parametrize("name", sorted(PUBLIC_DEFAULTS))
@pytest.mark.parametrize("value", ["", "default"])
def test_server_on_postgresql_refuses_to_start_when_a_secret_is_missing_or_default(name, value):
    config = {**GOOD, "SQLALCHEMY_DATABASE_URI": POSTGRES}
    config[name] = PUBLIC_DEFAULTS[name] if value == "default" else ""
    with pytest.raises(UnsafeSecret, match=name):
        create_app(config)


def test_laptop_on_sqlite_starts_with_the_defaults(tmp_path):
    app = create_app(
        {**PUBLIC_DEFAULTS, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'laptop.db'}"}
    )
    assert app.config["SECRET_KEY"] == PUBLIC_DEFAULTS["SECRET_KEY"]


def test_server_process_exits_naming_the_variable_when_started_without_a_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in PUBLIC_DEFAULTS}
    env.update(
        {
            "DATABASE_URL": POSTGRES,
            "SECRETS_FILE": str(tmp_path / "none.json"),
            "WEBHOOK_SECRET": "w" * 64,
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", "from webapp import create_app; create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is the public default" in result.stderr


# ---- the keys of the firms' secrets (MATTERFLOW_SECRET_KEYS) --------------------------------


def test_first_start_writes_a_fernet_key_that_later_starts_read_back(tmp_path, monkeypatch):
    monkeypatch.delenv(KEYS_NAME, raising=False)
    path = tmp_path / "secrets.json"
    write_instance_secrets(path)
    keys = secret_keys(path)
    assert len(keys) == 1
    Fernet(keys[0])  # a real key, not any random text
    write_instance_secrets(path)
    assert secret_keys(path) == keys
    monkeypatch.setenv(KEYS_NAME, f" {TEST_SECRET_KEY} , {keys[0]} ")
    assert secret_keys(path) == [TEST_SECRET_KEY, keys[0]]  # the environment wins, in order


@pytest.mark.parametrize("keys", [[], None])
def test_server_on_postgresql_refuses_to_start_without_the_secret_keys(keys):
    config = {**GOOD, "SQLALCHEMY_DATABASE_URI": POSTGRES, KEYS_NAME: keys}
    with pytest.raises(UnsafeSecret, match=KEYS_NAME):
        create_app(config)


def test_server_process_exits_naming_the_keys_variable_when_started_without_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != KEYS_NAME}
    env.update(
        {
            "DATABASE_URL": POSTGRES,
            "SECRETS_FILE": str(tmp_path / "none.json"),
            "SECRET_KEY": "s" * 64,
            "WEBHOOK_SECRET": "w" * 64,
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", "from webapp import create_app; create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"{KEYS_NAME} is not set" in result.stderr


def test_worker_with_the_wrong_key_refuses_to_start_naming_the_variable(app, make_org):
    org = make_org()
    secrets.store(org.id, "API_TOKEN", "value")
    db.session.commit()
    wrong = Fernet.generate_key().decode()
    worker = flask(app, "worker", "--until-idle", MATTERFLOW_SECRET_KEYS=wrong)
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode != 0
    assert "The worker will not start" in output and KEYS_NAME in output
    right = flask(app, "worker", "--until-idle")
    output, _ = right.communicate(timeout=60)
    assert right.returncode == 0, output


def test_rotation_re_encrypts_every_secret_so_the_new_key_alone_reads_them(app, make_org):
    org = make_org()
    secrets.store(org.id, "API_TOKEN", "first value")
    secrets.store(org.id, "OTHER", "second value")
    db.session.commit()
    old = list(app.config[KEYS_NAME])
    new = Fernet.generate_key().decode()
    runner = app.test_cli_runner()
    try:
        app.config[KEYS_NAME] = [new, *old]
        result = runner.invoke(args=["rotate-secret-keys"])
        assert result.exit_code == 0, result.output
        assert "Re-encrypted 2 secret(s)" in result.output
        app.config[KEYS_NAME] = [new]
        db.session.expire_all()
        assert secrets.reveal(org.id, "API_TOKEN") == "first value"
        assert secrets.reveal(org.id, "OTHER") == "second value"
        app.config[KEYS_NAME] = old
        with pytest.raises(CipherUnavailable, match=KEYS_NAME):
            secrets.reveal(org.id, "API_TOKEN")
    finally:
        app.config[KEYS_NAME] = old


def test_the_workers_key_check_leaves_no_transaction_open(app, make_org):
    """The check runs in the command's own app context, which lives as long as the worker:
    a read left open there held a lock on `secrets` for good (a TRUNCATE waited on it)."""
    secrets.store(make_org().id, "API_TOKEN", "value")
    db.session.commit()
    secrets.check_keys()
    assert not db.session().in_transaction()
