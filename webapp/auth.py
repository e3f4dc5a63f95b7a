"""Flask-Login wiring: browser sessions and Bearer API tokens."""

from flask import Flask, Request, g

from webapp.extensions import db, login_manager
from webapp.models import User
from webapp.security.sessions import is_current
from webapp.services.auth import user_for_token


def register_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        """The session's person, read on every request: a deactivated one is refused at
        their next request (Flask-Login itself checks `is_active` only at sign-in)."""
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        if user is None or not user.active:
            return None
        # Sessions that end (webapp/security/sessions.py): one begun before the person
        # last signed out is refused, whoever holds a copy of its cookie.
        return user if is_current(user) else None

    @login_manager.request_loader
    def load_user_from_token(request: Request) -> User | None:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        # Unknown, expired and revoked tokens, and a deactivated person's, find no one.
        user = user_for_token(header[7:].strip())
        if user is not None:
            g.token_auth = True
        return user
