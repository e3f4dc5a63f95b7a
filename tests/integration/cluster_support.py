"""A cluster on one machine: gunicorn servers and `flask worker` processes on the run's
PostgreSQL database and the local Redis, as docs/operations.md describes for several
machines. The cluster and chaos tests start it; each process writes its output to a file
of its own (a pipe nobody reads would fill and stop it)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask

from tests.integration.engine_support import free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def cluster_env(app: Flask, prefix: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WERKZEUG_"))}
    env.update(
        {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "WEBHOOK_SECRET": app.config["WEBHOOK_SECRET"],
            "MATTERFLOW_SECRET_KEYS": ",".join(app.config["MATTERFLOW_SECRET_KEYS"]),
            "PASSWORD_HASH_METHOD": app.config["PASSWORD_HASH_METHOD"],
            "EMBEDDED_WORKER": "false",
            "NOTIFICATIONS_ENABLED": "false",
            "HTTP_ALLOW_PRIVATE": "true",
            "REDIS_URL": REDIS_URL,
            "RATELIMIT_KEY_PREFIX": prefix,
            "API_RATE_LIMIT": "100000 per minute",
            "SIGN_IN_ACCOUNT_LIMIT": "3 per minute",
            "WORKER_POLL_SECONDS": "0.1",
            "WORKER_HEARTBEAT_SECONDS": "0.2",
            "WORKER_RECONNECT_SECONDS": "0.1",
            "WORKER_LEASE_SECONDS": "60",
            **extra,
        }
    )
    return env


@dataclass
class Cluster:
    """The servers' base URLs and the worker processes by name."""

    app: Flask
    logs: Path
    prefix: str = field(default_factory=lambda: f"cluster-{uuid.uuid4().hex}")
    servers: list[subprocess.Popen] = field(default_factory=list)
    bases: list[str] = field(default_factory=list)
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    def _spawn(self, name: str, command: list[str], **extra: str) -> subprocess.Popen:
        output = open(self.logs / f"{name}.log", "a")  # noqa: SIM115 — the process keeps it
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=cluster_env(self.app, self.prefix, **extra),
            stdout=output,
            stderr=subprocess.STDOUT,
        )

    def start_server(self, **extra: str) -> str:
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "60",
            "--preload",  # the app is built once, then forked: a faster start
            "webapp:create_app()",
        ]
        server = self._spawn(f"server-{port}", command, **extra)
        base = f"http://127.0.0.1:{port}"
        self.servers.append(server)
        self.bases.append(base)
        return base

    def start_worker(self, name: str, **extra: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "flask", "--app", "webapp", "worker", "--id", name]
        worker = self._spawn(f"worker-{name}", command, **extra)
        self.workers[name] = worker
        return worker

    def kill_worker(self, name: str) -> None:
        worker = self.workers.pop(name)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)

    def wait_until_serving(self, timeout: float = 90) -> None:
        for base, server in zip(self.bases, self.servers, strict=True):
            deadline = time.monotonic() + timeout
            while not _answers(base):
                assert server.poll() is None, self.log(base)
                assert time.monotonic() < deadline, f"{base} never answered"
                time.sleep(0.2)  # a real process starting up: nothing to poll but the port

    def log(self, base: str) -> str:
        port = base.rsplit(":", 1)[1]
        return (self.logs / f"server-{port}.log").read_text()[-3000:]

    def stop(self) -> None:
        for process in [*self.servers, *self.workers.values()]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.servers, *self.workers.values()]:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def poll_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """The predicate's first true answer; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = predicate()
        if answer:
            return answer
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)  # other processes do the work; nothing to wake us sooner


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
