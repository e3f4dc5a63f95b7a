"""No public defaults on a server: the default SECRET_KEY would let anyone forge a session
cookie for any person of any firm, the default WEBHOOK_SECRET a provider's "paid"; and no
server without the keys of the firms' secrets (MATTERFLOW_SECRET_KEYS)."""

from flask import Flask
from sqlalchemy.engine import make_url

from webapp.config import KEYS_NAME, PUBLIC_DEFAULTS

MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


class UnsafeSecret(RuntimeError):
    """The app will not start: a secret is missing or is the public default."""


def refuse_public_secrets(app: Flask) -> None:
    """On PostgreSQL (a server, not a laptop's SQLite file) each secret must be set and
    must not be the default printed in README.md."""
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "postgresql":
        return
    for name, public in PUBLIC_DEFAULTS.items():
        value = app.config.get(name)
        if not value or value == public:
            problem = "is not set" if not value else "is the public default"
            raise UnsafeSecret(
                f"{name} {problem}: a server on PostgreSQL needs its own. Set the {name} "
                f"environment variable to a long random value, e.g. from {MAKE_ONE}."
            )


MAKE_KEY = (
    "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


def refuse_missing_secret_keys(app: Flask) -> None:
    """On PostgreSQL the firms' secrets need MATTERFLOW_SECRET_KEYS: never a silent store
    that cannot encrypt. A laptop's SQLite gets a key from `make run` (instance/)."""
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "postgresql":
        return
    if not app.config.get(KEYS_NAME):
        raise UnsafeSecret(
            f"{KEYS_NAME} is not set: a server on PostgreSQL needs the keys that encrypt the "
            f"firms' secrets. Set {KEYS_NAME} to one or more Fernet keys, newest first and "
            f"comma-separated, e.g. from {MAKE_KEY}."
        )
