"""The JSON API's blueprint, apart from its package so that each route module can
import it without importing the package that registers them (no import circle)."""

from flask import Blueprint

from webapp.extensions import csrf

api = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(api)
