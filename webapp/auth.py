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
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        # Sessions that end (webapp/security/sessions.py): one begun before the person
        # last signed out is refused, whoever holds a copy of its cookie.
        if user is not None and not is_current(user):
            return None
        return user

    @login_manager.request_loader
    def load_user_from_token(request: Request) -> User | None:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        user = user_for_token(header[7:].strip())
        if user is not None:
            g.token_auth = True
        return user
