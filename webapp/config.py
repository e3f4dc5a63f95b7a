"""Settings, read from environment variables (each is documented in README.md)."""

import base64
import json
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `make run` writes random secrets here on first start (write_instance_secrets); later
# starts read them back. An environment variable of the same name always wins.
SECRETS_FILE = Path(os.environ.get("SECRETS_FILE", str(ROOT / "instance" / "secrets.json")))
# What a laptop gets when nothing is set: public, so a server on PostgreSQL refuses them
# (webapp/security/secrets.py).
PUBLIC_DEFAULTS = {"SECRET_KEY": "dev-only-change-me", "WEBHOOK_SECRET": "dev-webhook-secret"}
# The firms' secrets are encrypted with these keys; no public default: a key everyone
# knows would encrypt nothing.
KEYS_NAME = "MATTERFLOW_SECRET_KEYS"


def instance_secrets(path: Path = SECRETS_FILE) -> dict[str, str]:
    try:
        stored = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {k: v for k, v in stored.items() if isinstance(v, str) and v}


def secret(name: str, path: Path = SECRETS_FILE) -> str:
    """The environment's value, else the instance file's, else the public default."""
    return os.environ.get(name) or instance_secrets(path).get(name) or PUBLIC_DEFAULTS[name]


def secret_keys(path: Path = SECRETS_FILE) -> list[str]:
    """The Fernet keys of the firms' secrets, newest first: the environment's
    MATTERFLOW_SECRET_KEYS (comma-separated), else the instance file's; none on a server
    that set neither (it refuses to start, webapp/security/secrets.py)."""
    value = os.environ.get(KEYS_NAME) or instance_secrets(path).get(KEYS_NAME, "")
    return [key.strip() for key in value.split(",") if key.strip()]


def _new_value(name: str) -> str:
    if name == KEYS_NAME:
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()  # a Fernet key
    return secrets.token_hex(32)


def write_instance_secrets(path: Path = SECRETS_FILE) -> list[str]:
    """Random values for the secrets the file lacks, readable by this user only; the names
    written (none on later starts: a rotated key would sign everyone out, and a new
    secrets key could not read the firms' secrets)."""
    stored = instance_secrets(path)
    missing = [name for name in (*PUBLIC_DEFAULTS, KEYS_NAME) if name not in stored]
    if not missing:
        return []
    stored.update({name: _new_value(name) for name in missing})
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(stored, file, indent=2)
    return missing


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    SECRET_KEY = secret("SECRET_KEY")
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
    # The largest request body (Flask's MAX_CONTENT_LENGTH): a few files at the cap. A
    # larger one is refused with 413 before it is read, whoever sends it.
    MAX_CONTENT_LENGTH = int(
        os.environ.get("MAX_REQUEST_BYTES", str(5 * MAX_UPLOAD_BYTES + 1024 * 1024))
    )
    # Where documents' bytes live (adapters/storage.py): "local", the UPLOAD_DIR folder.
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    WEBHOOK_SECRET = secret("WEBHOOK_SECRET")
    # Where the payment and e-signature SDKs send their calls; empty: the SDK's own
    # address (a test or a staging proxy sets its own).
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
    DROPBOX_SIGN_API_BASE = os.environ.get("DROPBOX_SIGN_API_BASE", "")
    # Dropbox Sign test mode: requests are free and carry no legal weight.
    DROPBOX_SIGN_TEST_MODE = _bool("DROPBOX_SIGN_TEST_MODE", False)
    # Fernet keys for the firms' secrets (adapters/cipher.py), newest first, comma-separated:
    # the first encrypts, all decrypt, so a key can be rotated in (`flask rotate-secret-keys`).
    MATTERFLOW_SECRET_KEYS = secret_keys()
    SMTP_HOST = os.environ.get("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "1025"))
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_STARTTLS = _bool("SMTP_STARTTLS", False)
    MAIL_FROM = os.environ.get("MAIL_FROM", "Matterflow <no-reply@matterflow.test>")
    # The most a core.email step may attach, all files together (many servers take 20 MB).
    EMAIL_ATTACHMENT_MAX_BYTES = int(
        os.environ.get("EMAIL_ATTACHMENT_MAX_BYTES", str(15 * 1024 * 1024))
    )
    NOTIFICATIONS_ENABLED = _bool("NOTIFICATIONS_ENABLED", True)
    # No person gets more than one immediate notification email per this many minutes;
    # what comes meanwhile waits and goes as one combined email when the window ends.
    EMAIL_THROTTLE_MINUTES = float(os.environ.get("EMAIL_THROTTLE_MINUTES", "10"))
    # Where people reach the app: the start of the links in invitation emails and in the
    # create-firm command's output (the worker sends them with no request to read it from).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://localhost:5000")
    # How long an invitation link works.
    INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS", "7"))
    # How long a client's one-step link (/c/<token>) in a READY email works.
    CLIENT_LINK_DAYS = float(os.environ.get("CLIENT_LINK_DAYS", "7"))
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
    SECURITY_EVENT_RETENTION_DAYS = float(os.environ.get("SECURITY_EVENT_RETENTION_DAYS", "365"))
    # How long a retry with the same X-Request-ID finds the change it made (receipts.py).
    REQUEST_RECEIPT_RETENTION_DAYS = float(os.environ.get("REQUEST_RECEIPT_RETENTION_DAYS", "1"))
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
    # Slack's Web API (slack.post_message); a local stand-in in the tests.
    SLACK_API_URL = os.environ.get("SLACK_API_URL", "https://slack.com/api/")
    SLACK_TIMEOUT_SECONDS = float(os.environ.get("SLACK_TIMEOUT_SECONDS", "10"))
    SUBWORKFLOW_MAX_DEPTH = int(os.environ.get("SUBWORKFLOW_MAX_DEPTH", "3"))
    # How many workflows started by events may follow each other before a chain is stopped.
    TRIGGER_EVENT_MAX_DEPTH = int(os.environ.get("TRIGGER_EVENT_MAX_DEPTH", "3"))
    # How long a process trusts its list of the events a firm's triggers wait for.
    EVENT_TYPES_TTL = float(os.environ.get("EVENT_TYPES_TTL", "5"))
    # werkzeug's default (scrypt); tests choose a cheap method to stay fast.
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    # A form's CSRF token expires (seconds); an expired form says so in plain words.
    WTF_CSRF_TIME_LIMIT = int(os.environ.get("CSRF_TIME_LIMIT", str(8 * 3600)))
    # A session unused this long ends; the sign-in page says why (webapp/security/sessions.py).
    SESSION_IDLE_MINUTES = float(os.environ.get("SESSION_IDLE_MINUTES", str(8 * 60)))
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
    # Redis out of reach: count in this process's memory until it is back, never a 500.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # A moving window: "5 per minute" means any 60 seconds, not the minute on the clock.
    RATELIMIT_STRATEGY = "moving-window"
    # Wrong passwords only; each tier waits longer: the increasing delay.
    SIGN_IN_ACCOUNT_LIMIT = os.environ.get(
        "SIGN_IN_ACCOUNT_LIMIT", "5 per minute; 10 per 15 minutes; 20 per hour"
    )
    SIGN_IN_ADDRESS_LIMIT = os.environ.get("SIGN_IN_ADDRESS_LIMIT", "20 per minute; 100 per hour")
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "60 per minute")
    HOOK_RATE_LIMIT = os.environ.get("HOOK_RATE_LIMIT", "30 per minute")
    CLIENT_LINK_RATE_LIMIT = os.environ.get("CLIENT_LINK_RATE_LIMIT", "30 per minute")
    # Start-up's objects kept out of the garbage collector's full passes (webapp/__init__.py);
    # tests, which build many apps in one process, leave it off.
    FREEZE_HEAP = _bool("FREEZE_HEAP", True)
    TESTING = False
