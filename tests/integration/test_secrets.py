"""No public defaults: `make run` writes random secrets into instance/ once and reads them
back, the environment wins, and a server on PostgreSQL refuses a missing or default
secret, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from webapp import create_app
from webapp.config import PUBLIC_DEFAULTS, secret, write_instance_secrets
from webapp.security.secrets import UnsafeSecret

ROOT = Path(__file__).resolve().parents[2]
# Never connected to: the refusal comes before any connection.
POSTGRES = "postgresql+psycopg://matterflow@127.0.0.1:1/unused"
GOOD = {"SECRET_KEY": "a" * 64, "WEBHOOK_SECRET": "b" * 64}


def test_first_start_writes_random_secrets_that_later_starts_read_back(tmp_path, monkeypatch):
    for name in PUBLIC_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "instance" / "secrets.json"
    assert write_instance_secrets(path) == ["SECRET_KEY", "WEBHOOK_SECRET"]
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
