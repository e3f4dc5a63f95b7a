"""Settings, read from environment variables (each is documented in README.md)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'matterflow.db'}"
    )
    # A pooled connection the database dropped (a restart, a failover) is replaced when
    # taken from the pool, instead of failing the request that takes it.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # PostgreSQL: the tables' owner, for `flask db upgrade` and `flask grant-app-role`;
    # the app itself connects as DATABASE_URL's role, which owns nothing (README).
    MIGRATION_DATABASE_URL = os.environ.get("MIGRATION_DATABASE_URL") or None
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(ROOT / "instance" / "uploads"))
    MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
    WEBHOOK_SECRET = os.environ.get("WEBHOOK_SECRET", "dev-webhook-secret")
    SMTP_HOST = os.environ.get("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "1025"))
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_STARTTLS = _bool("SMTP_STARTTLS", False)
    MAIL_FROM = os.environ.get("MAIL_FROM", "Matterflow <no-reply@matterflow.test>")
    NOTIFICATIONS_ENABLED = _bool("NOTIFICATIONS_ENABLED", True)
    # Where people reach the app: the start of the links in invitation emails and in the
    # create-firm command's output (the worker sends them with no request to read it from).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://localhost:5000")
    # How long an invitation link works.
    INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS", "7"))
    EMBEDDED_WORKER = _bool("EMBEDDED_WORKER", True)
    # Under a WSGI server such as gunicorn the thread starts only when this was asked for.
    EMBEDDED_WORKER_EXPLICIT = _bool("EMBEDDED_WORKER", False)
    WORKER_LEASE_SECONDS = float(os.environ.get("WORKER_LEASE_SECONDS", "120"))
    WORKER_POLL_SECONDS = float(os.environ.get("WORKER_POLL_SECONDS", "1"))
    WORKER_BATCH_SIZE = int(os.environ.get("WORKER_BATCH_SIZE", "10"))
    # A worker whose database went away looks again after this, then twice as long each
    # time, at most 30 s.
    # Retention (the worker deletes a batch at a time; 0 keeps for ever). Audit rows, step
    # attempts and dead letters are never deleted.
    JOB_RETENTION_DAYS = float(os.environ.get("JOB_RETENTION_DAYS", "14"))
    FIRING_RETENTION_DAYS = float(os.environ.get("FIRING_RETENTION_DAYS", "90"))
    FORM_TOKEN_RETENTION_DAYS = float(os.environ.get("FORM_TOKEN_RETENTION_DAYS", "30"))
    RETENTION_INTERVAL_SECONDS = float(os.environ.get("RETENTION_INTERVAL_SECONDS", "300"))
    # Each worker writes a heartbeat this often; /health/ready wants one no older than
    # WORKER_HEARTBEAT_MAX_AGE (0: readiness does not ask for a worker).
    WORKER_HEARTBEAT_SECONDS = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", "10"))
    WORKER_HEARTBEAT_MAX_AGE = float(os.environ.get("WORKER_HEARTBEAT_MAX_AGE", "60"))
    WORKER_RECONNECT_SECONDS = float(os.environ.get("WORKER_RECONNECT_SECONDS", "1"))
    HTTP_ALLOWED_HOSTS = [
        h.strip() for h in os.environ.get("HTTP_ALLOWED_HOSTS", "").split(",") if h.strip()
    ]
    HTTP_ALLOW_PRIVATE = _bool("HTTP_ALLOW_PRIVATE", False)
    SUBWORKFLOW_MAX_DEPTH = int(os.environ.get("SUBWORKFLOW_MAX_DEPTH", "3"))
    # How many workflows started by events may follow each other before a chain is stopped.
    TRIGGER_EVENT_MAX_DEPTH = int(os.environ.get("TRIGGER_EVENT_MAX_DEPTH", "3"))
    # How long a process trusts its list of the events a firm's triggers wait for.
    EVENT_TYPES_TTL = float(os.environ.get("EVENT_TYPES_TTL", "5"))
    # werkzeug's default (scrypt); tests choose a cheap method to stay fast.
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Start-up's objects kept out of the garbage collector's full passes (webapp/__init__.py);
    # tests, which build many apps in one process, leave it off.
    FREEZE_HEAP = _bool("FREEZE_HEAP", True)
    TESTING = False
