from typing import Any

from flask import Response, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from webapp.models import User
from webapp.security import sessions
from webapp.services.auth import authenticate
from webapp.services.security import (
    end_sessions,
    record_sign_in,
    record_sign_in_failed,
    record_signed_out,
)
from webapp.web.blueprint import web


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")])


def start_session(user: User) -> None:
    """Sign the person in: the session belongs to their current epoch (a later sign-out
    ends it everywhere) and the sign-in is a security event."""
    login_user(user)
    sessions.begin(user)
    record_sign_in(user)


@web.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            start_session(user)
            return redirect(sessions.safe_next(request.args.get("next")))
        g.sign_in_failed = True  # counts against the sign-in limits (security/limits.py)
        record_sign_in_failed(form.email.data or "")
        form.password.errors = [
            *form.password.errors,
            "That email and password do not match an account.",
        ]
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


def sign_in_refused(message: str, status: int = 429) -> Response:
    """The sign-in page again, saying in plain words why nothing was checked: too many
    wrong passwords (429), or a form that expired (400)."""
    form = LoginForm()  # the email stays as typed; a password field never shows its value
    return make_response(render_template("auth/login.html", form=form, refusal=message), status)


@web.post("/logout")
@login_required
def logout() -> Any:
    end_sessions(current_user.id)  # a copy of this session's cookie no longer signs in
    record_signed_out(current_user)
    logout_user()
    sessions.end()
    flash("You are signed out.", "info")
    return redirect(url_for("web.login"))


@web.get("/")
@login_required
def home() -> Any:
    return redirect(url_for("web.inbox"))
