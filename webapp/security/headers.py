"""Security headers on every answer, the session cookie's flags, and no server banner.

The Content-Security-Policy allows scripts and styles from this origin only: no inline
`<script>`, no `style=` attribute, no `on…=` handler (STYLE.md). htmx would add its
indicator styles inline; base.html turns that off with its `htmx-config` meta tag."""

from http.server import BaseHTTPRequestHandler
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
# werkzeug's development server would say "Werkzeug/3.x Python/3.x" (it writes the header
# itself, before the app's); gunicorn says "gunicorn", without a version, and offers no
# setting to drop it (a reverse proxy can).
SERVER = "Matterflow"


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS (directly, or
    through a proxy trusted by TRUSTED_PROXIES), or when SESSION_COOKIE_SECURE says so."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or _is_secure(request)


def _is_secure(current: Request) -> bool:
    try:
        return current.is_secure
    except RuntimeError:  # outside a request: a cookie is never written there
        return False


def _banner(self: BaseHTTPRequestHandler) -> str:
    return SERVER


def hide_server_version() -> None:
    """`flask run` names no versions of werkzeug and Python to whoever asks."""
    WSGIRequestHandler.version_string = _banner  # type: ignore[method-assign]  # the dev server's banner has no setting


def register_headers(app: Flask) -> None:
    hide_server_version()
    app.session_interface = SessionInterface()
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # X-Forwarded-For/-Proto/-Host are believed only from this many proxies in front.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # WSGI middleware, Flask's documented way
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )

    @app.after_request
    def security_headers(response: Response) -> Any:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
