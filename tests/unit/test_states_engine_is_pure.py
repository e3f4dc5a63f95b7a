"""The engine is pure domain code: loading every module of webapp/engine must not bring in
Flask, SQLAlchemy or any other part of the application."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"

# Runs in a fresh interpreter; a stand-in `webapp` package keeps webapp/__init__.py (which
# wires Flask) out, so anything Flask-like that shows up was imported by the engine itself.
PROBE = textwrap.dedent(
    f"""
    import importlib, json, pkgutil, sys, types
    package = types.ModuleType("webapp")
    package.__path__ = [{str(WEBAPP)!r}]
    sys.modules["webapp"] = package
    import webapp.engine
    loaded = ["webapp.engine"]
    for info in pkgutil.walk_packages(webapp.engine.__path__, "webapp.engine."):
        importlib.import_module(info.name)
        loaded.append(info.name)
    forbidden = ("flask", "sqlalchemy", "flask_sqlalchemy", "flask_login", "werkzeug")
    leaked = sorted(
        name for name in sys.modules
        if name.split(".")[0] in forbidden
        or (name.startswith("webapp.") and not name.startswith("webapp.engine"))
    )
    print(json.dumps({{"loaded": loaded, "leaked": leaked}}))
    """
)


def test_engine_imports_no_flask_sqlalchemy_or_app_module_when_loaded_alone() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(result.stdout)
    assert "webapp.engine.states" in report["loaded"]
    assert "webapp.engine.actions.checklist" in report["loaded"]
    assert report["leaked"] == []
