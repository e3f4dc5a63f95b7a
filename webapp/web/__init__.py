"""HTML blueprints: parse the form, call one service, render a page or a fragment."""

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, render_template, request
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from webapp.engine.errors import DomainError
from webapp.extensions import db

web = Blueprint("web", __name__)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def register_web(app: Flask) -> None:
    from webapp.web import auth  # noqa: F401  (registers the routes)

    app.register_blueprint(web)

    @app.get("/health")
    def health() -> Any:
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # the database is down: say so, do not crash
            db.session.rollback()
            return jsonify({"status": "unavailable", "database": "unreachable"}), 503
        return jsonify({"status": "ok", "database": db.engine.dialect.name})

    @app.get("/metrics")
    def metrics() -> Any:
        from webapp.services.metrics import render_metrics

        return Response(render_metrics(), mimetype="text/plain; version=0.0.4")

    register_error_pages(app)


def register_error_pages(app: Flask) -> None:
    from webapp.api import error_response, status_of

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Any:
        status = status_of(error)
        if wants_json():
            return error_response(status, error.code, error.message, error.details)
        return render_template("errors/error.html", status=status, message=error.message), status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if wants_json():
            return error_response(status, error.name.lower().replace(" ", "_"), error.description)
        return render_template(
            "errors/error.html", status=status, message=error.description
        ), status

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Any:
        app.logger.exception("Unhandled error")
        db.session.rollback()
        message = "Something went wrong on our side. Nothing was changed; please try again."
        if wants_json():
            return error_response(500, "internal_error", message)
        return render_template("errors/error.html", status=500, message=message), 500
