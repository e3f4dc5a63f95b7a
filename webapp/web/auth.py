from typing import Any

from flask import Response, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from webapp.services.auth import authenticate
from webapp.web.blueprint import web


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")])


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("web.home")


@web.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        g.sign_in_failed = True  # counts against the sign-in limits (security/limits.py)
        form.password.errors = [
            *form.password.errors,
            "That email and password do not match an account.",
        ]
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


def sign_in_refused(message: str) -> Response:
    """The sign-in page again, saying why no password is checked for now (429)."""
    form = LoginForm()
    return make_response(render_template("auth/login.html", form=form, refusal=message), 429)


@web.post("/logout")
@login_required
def logout() -> Any:
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("web.login"))


@web.get("/")
@login_required
def home() -> Any:
    return redirect(url_for("web.inbox"))
