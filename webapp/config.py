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
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
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
    EMBEDDED_WORKER = _bool("EMBEDDED_WORKER", True)
    # Under a WSGI server such as gunicorn the thread starts only when this was asked for.
    EMBEDDED_WORKER_EXPLICIT = _bool("EMBEDDED_WORKER", False)
    WORKER_LEASE_SECONDS = float(os.environ.get("WORKER_LEASE_SECONDS", "120"))
    WORKER_POLL_SECONDS = float(os.environ.get("WORKER_POLL_SECONDS", "1"))
    WORKER_BATCH_SIZE = int(os.environ.get("WORKER_BATCH_SIZE", "10"))
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
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Secure is also set on any request that came over HTTPS (webapp/security/headers.py).
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    # How many reverse proxies in front are trusted for X-Forwarded-For/-Proto/-Host
    # (werkzeug's ProxyFix); 0: none, the headers are ignored.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset: it refuses all.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    # Rate limits (webapp/security/limits.py): limits' notation, tiers separated by ";".
    # Memory by default: each process counts alone; with Redis all of them share counts.
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "matterflow")
    # A moving window: "5 per minute" means any 60 seconds, not the minute on the clock.
    RATELIMIT_STRATEGY = "moving-window"
    # Wrong passwords only; each tier waits longer: the increasing delay.
    SIGN_IN_ACCOUNT_LIMIT = os.environ.get(
        "SIGN_IN_ACCOUNT_LIMIT", "5 per minute; 10 per 15 minutes; 20 per hour"
    )
    SIGN_IN_ADDRESS_LIMIT = os.environ.get("SIGN_IN_ADDRESS_LIMIT", "20 per minute; 100 per hour")
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "60 per minute")
    HOOK_RATE_LIMIT = os.environ.get("HOOK_RATE_LIMIT", "30 per minute")
    # Start-up's objects kept out of the garbage collector's full passes (webapp/__init__.py);
    # tests, which build many apps in one process, leave it off.
    FREEZE_HEAP = _bool("FREEZE_HEAP", True)
    TESTING = False
