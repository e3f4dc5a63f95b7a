"""The `web` blueprint, apart from its package so that the modules whose routes sit on
it (auth, inbox) can import it without importing the package that registers them."""

from flask import Blueprint

web = Blueprint("web", __name__)
