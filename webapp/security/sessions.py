"""Sessions that end: signing out ends every copy of the session cookie (the person's
session epoch moves on), a session unused for SESSION_IDLE_MINUTES ends and the sign-in
page says why, and an expired form says so in plain words instead of a 400 page."""

import time
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, request, session, url_for
from flask_wtf.csrf import CSRFError

from webapp.models import User

EPOCH = "epoch"  # the person's session epoch when this session began
SEEN = "seen"  # when this session last made a request (seconds since the epoch)
SIGNED_IN = ("_user_id", "_fresh", "_id", EPOCH, SEEN)
# "seen" is rewritten at most this often: not every request needs a new cookie.
SEEN_RESOLUTION = 60


def clock() -> float:
    """Seconds now; a test injects IDLE_CLOCK to move time without waiting."""
    injected = current_app.config.get("IDLE_CLOCK")
    return float(injected()) if injected is not None else time.time()


def begin(user: User) -> None:
    """After login_user: the session belongs to the person's current epoch."""
    session[EPOCH] = user.session_epoch
    session[SEEN] = int(clock())


def is_current(user: User) -> bool:
    """False for a session begun before the person last signed out (a copied cookie)."""
    return session.get(EPOCH) == user.session_epoch


def end() -> None:
    for key in SIGNED_IN:
        session.pop(key, None)


def idle_message(minutes: float) -> str:
    hours = minutes / 60
    span = f"{hours:g} hours" if hours >= 1 else f"{minutes:g} minutes"
    return f"You were signed out after {span} without activity. Please sign in again."


def register_sessions(app: Flask) -> None:
    @app.before_request
    def end_idle_session() -> None:
        if "_user_id" not in session or request.endpoint == "static":
            return
        now = clock()
        seen = session.get(SEEN)
        idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
        if isinstance(seen, int | float) and now - seen > idle:
            end()
            g.session_ended = True  # the sign-in redirect adds no second message
            flash(idle_message(current_app.config["SESSION_IDLE_MINUTES"]), "info")
            return
        if not isinstance(seen, int | float) or now - seen >= SEEN_RESOLUTION:
            session[SEEN] = int(now)


# ---- where a sign-in may lead -------------------------------------------------------------


def safe_next(target: str | None) -> str:
    """A path of this site, or the home page: never another host (`//evil.example`,
    `https://evil.example`, `/\\tevil` which browsers read as `//evil`) and never a
    control character (a CR/LF would split the Location header)."""
    home = url_for("web.home")
    if not target or not target.startswith("/") or target.startswith("//"):
        return home
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 or char == "\\" for char in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


# ---- an expired or missing CSRF token ---------------------------------------------------------


def csrf_message(error: CSRFError) -> str:
    if "expired" in str(error.description).lower():
        return "This page was open too long, so nothing was changed. Please try again."
    return "This form could not be checked, so nothing was changed. Reload the page and try again."


def same_site_referrer() -> str | None:
    """The page the form was on, when it is one of ours."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return None
    return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
