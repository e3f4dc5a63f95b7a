"""/admin/providers: which provider takes the firm's payments and signatures, and what
each still needs from Admin → Secrets. Admins only."""

from typing import Any

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.engine.errors import Unprocessable
from webapp.services import providers
from webapp.web.htmx import redirect_to

bp = Blueprint("providers", __name__, url_prefix="/admin/providers")
PAGE = "admin/providers.html"
HINTS = {
    ("sandbox", "payment"): "Opens the sandbox payment page — no real money moves.",
    ("stripe", "payment"): "Opens Stripe's secure payment page.",
    ("sandbox", "esign"): "Opens the sandbox signing page — not a legal signature.",
    ("dropbox_sign", "esign"): "Dropbox Sign emails you the document to sign.",
}


def provider_hint(name: str, area: str) -> str:
    """What the step's button leads to, by provider (a template global)."""
    return HINTS.get((name, area), f"Opens the {name} page.")


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


@bp.get("")
def page() -> Any:
    return render_template(PAGE, firm=providers.firm_providers(current_user), problems={})


@bp.post("")
def choose() -> Any:
    form = request.form
    try:
        providers.choose_providers(current_user, form.get("payments", ""), form.get("esign", ""))
    except Unprocessable as error:
        problems = {d["field"]: d["message"] for d in error.details or [] if isinstance(d, dict)}
        firm = providers.firm_providers(current_user)
        return render_template(PAGE, firm=firm, problems=problems), 422
    flash("The firm's providers are saved.", "success")
    return redirect_to(url_for(".page"))
