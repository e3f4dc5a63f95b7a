"""The built-in sandbox provider's pages: clearly not a real signature or payment. Its
button delivers a signed webhook to our own endpoint, so the step completes through
the same verified path a real provider uses."""

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.services import providers
from webapp.web.reads import sandbox as reads

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


@bp.get("/esign/<session_id>")
def esign(session_id: str) -> Any:
    session = reads.sandbox_session(current_user, session_id)
    return render_template("sandbox/esign.html", session=session, reference=session_id)


@bp.post("/esign/<session_id>")
def sign(session_id: str) -> Any:
    return _completed("esign", session_id, "Signed in the sandbox. The step is complete.")


@bp.get("/pay/<intent_id>")
def pay_page(intent_id: str) -> Any:
    session = reads.sandbox_session(current_user, intent_id)
    return render_template("sandbox/pay.html", session=session, reference=intent_id)


@bp.post("/pay/<intent_id>")
def pay(intent_id: str) -> Any:
    return _completed("payments", intent_id, "Paid in the sandbox. The step is complete.")


def _completed(kind: str, reference: str, message: str) -> Any:
    session = reads.sandbox_session(current_user, reference)
    providers.complete_in_sandbox(current_user, kind, reference)
    flash(message, "success")
    return redirect(
        url_for("web.runner.show", matter_id=session.matter.id, instance_id=session.instance.id),
        code=303,
    )
