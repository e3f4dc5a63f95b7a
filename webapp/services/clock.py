"""The services' clock: `CLOCK` in the app's config (a function returning an aware UTC
datetime) when a test sets one, the real time otherwise. Signatures' windows, fire times,
invitation links, token expiry, retention and heartbeats all read it, so a test moves time
without sleeping."""

from datetime import datetime

from flask import current_app

from webapp.models.base import utcnow


def now() -> datetime:
    clock = current_app.config.get("CLOCK")
    return clock() if clock is not None else utcnow()
