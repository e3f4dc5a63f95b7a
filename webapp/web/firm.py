"""/admin/firm: the firm's calendar — timezone, jurisdiction, closure days and reminder
defaults — through services/firm_settings.py. Admins only."""

from typing import Any

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.engine.errors import Conflict, Unprocessable
from webapp.services import firm_settings
from webapp.web.account import form_errors
from webapp.web.htmx import redirect_to
from webapp.web.reads import firm_settings as reads

bp = Blueprint("firm", __name__, url_prefix="/admin/firm")
PAGE = "admin/firm.html"


@bp.before_request
@login_required
def require_admin() -> None:
    firm_settings.require_admin(current_user)


@bp.get("")
def page() -> Any:
    return render_template(PAGE, page=reads.firm_settings_page(current_user))


@bp.post("")
def update() -> Any:
    form = request.form
    settings = firm_settings.CalendarSettings(
        timezone=form.get("timezone", ""),
        country=form.get("country", ""),
        subdivision=form.get("subdivision"),
        remind_before=form.get("remind_before"),
        escalate_after=form.get("escalate_after"),
    )
    try:
        changes = firm_settings.update_calendar(current_user, settings)
    except Unprocessable as error:
        page = reads.firm_settings_page(current_user)
        page.form, page.errors = form.to_dict(), form_errors(error)
        return render_template(PAGE, page=page), 422
    flash(
        "The firm's calendar is saved: due dates counted from now on use it."
        if changes
        else "Nothing changed.",
        "success",
    )
    return redirect_to(url_for(".page"))


@bp.post("/closures")
def add_closure() -> Any:
    form = request.form
    try:
        closure = firm_settings.add_closure(
            current_user, form.get("day", ""), form.get("reason", "")
        )
    except (Unprocessable, Conflict) as error:
        page = reads.firm_settings_page(current_user)
        page.closure_form, page.closure_errors = form.to_dict(), form_errors(error)
        return render_template(PAGE, page=page), 422
    when = f"{closure.day:%A} {closure.day.day} {closure.day:%B %Y}"
    flash(f"The firm is closed on {when}: no due date lands on it.", "success")
    return redirect_to(url_for(".page") + "#closures")


@bp.post("/closures/<int:closure_id>/delete")
def remove_closure(closure_id: int) -> Any:
    closure = firm_settings.remove_closure(current_user, closure_id)
    when = f"{closure.day:%A} {closure.day.day} {closure.day:%B %Y}"
    flash(f"{when} is an open day again.", "success")
    return redirect_to(url_for(".page") + "#closures")
