"""Outgoing HTTP for `core.http`: hardened sessions that refuse private addresses unless
allowed, bounded bodies, and failures as ActionFailed."""

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from requests_hardened import Config as HardenedConfig
from requests_hardened import HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress

from webapp.engine.actions.automated import ActionFailed
from webapp.engine.actions.http import MAX_BODY_CHARS, host_allowed, refused_address

PRIVATE_HINT = "loopback, private and link-local addresses are refused (HTTP_ALLOW_PRIVATE)"


def call_http(request: dict[str, Any]) -> dict[str, Any]:
    config = current_app.config
    url = request["url"]
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host_allowed(host, config["HTTP_ALLOWED_HOSTS"]):
        raise ActionFailed(f"core.http may not call {host}: it is not in HTTP_ALLOWED_HOSTS.")
    allow_private = config["HTTP_ALLOW_PRIVATE"]
    if not allow_private:
        check_destination(host, parts.port or (443 if parts.scheme == "https" else 80))
    try:
        response = _session(allow_private).request(
            request.get("method", "GET"),
            url,
            headers=request.get("headers") or {},
            timeout=float(request.get("timeout", 10)),
            allow_redirects=False,
            stream=True,
            **_body(request.get("body")),
        )
        with response:
            return {
                "status": response.status_code,
                "headers": _headers(response),
                "body": _read_body(response),
            }
    except InvalidIPAddress as error:
        raise ActionFailed(f"core.http refused {host} ({error}): {PRIVATE_HINT}.") from None
    except requests.Timeout:
        raise ActionFailed(
            f"{url} did not answer within {request.get('timeout')} s.", True
        ) from None
    except requests.ConnectionError as error:
        raise ActionFailed(f"Could not connect to {host}: {failure_reason(error)}", True) from None
    except requests.RequestException as error:
        raise ActionFailed(f"The request to {url} failed: {failure_reason(error)}") from None


def check_destination(host: str, port: int) -> None:
    """Every address the host resolves to must be public: one private answer among
    public ones is how DNS tricks reach internal services."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ActionFailed(f"Could not resolve {host}.", True) from None
    for info in infos:
        reason = refused_address(str(info[4][0]))
        if reason:
            raise ActionFailed(f"core.http refused {host}: {reason}; {PRIVATE_HINT}.")


def _session(allow_private: bool) -> requests.Session:
    # The hardened session connects to the address it checked (no re-resolution between
    # the check and the connection) and never follows redirects.
    session = HTTPSession(
        HardenedConfig(
            ip_filter_enable=not allow_private,
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=(5, 30),
        )
    )
    session.trust_env = False  # no proxy from the environment may relay to private hosts
    return session


def _body(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if isinstance(body, dict | list):
        return {"json": body}
    return {"data": str(body).encode()}


def _headers(response: requests.Response) -> dict[str, str]:
    wanted = ("content-type", "location", "retry-after")
    return {name: response.headers[name] for name in wanted if name in response.headers}


def _read_body(response: requests.Response) -> Any:
    raw = b""
    for chunk in response.iter_content(8192):
        raw += chunk
        if len(raw) > MAX_BODY_CHARS:
            break
    text = raw[:MAX_BODY_CHARS].decode(response.encoding or "utf-8", errors="replace")
    if "json" in response.headers.get("content-type", "") and len(raw) <= MAX_BODY_CHARS:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def failure_reason(error: Exception) -> str:
    text = str(error)
    return text if len(text) < 300 else text[:300] + "…"
