import ipaddress
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import Field, field_validator

from webapp.engine.actions.automated import (
    ActionFailed,
    AutomatedHandler,
    Call,
    Created,
    Done,
    RunContext,
    idempotency_key,
)
from webapp.engine.actions.base import ActionConfig, Category
from webapp.engine.actions.registry import register
from webapp.engine.definition import RetryPolicy
from webapp.engine.secret_refs import MASK
from webapp.engine.templating import is_template

# Statuses worth another attempt: the server is busy, down or timed out.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BODY_CHARS = 64 * 1024


def check_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("url must be an http:// or https:// address with a host")
    return value.strip()


class HttpConfig(ActionConfig):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = Field(
        default="GET", description="HTTP method"
    )
    url: str = Field(min_length=1, max_length=2000, description="http(s) address to call")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Request headers. Write a credential as {{ secrets.NAME }} (Admin → "
        "Secrets), never the token itself: a typed token is stored in the template and shown "
        "as ••••",
    )
    body: dict[str, Any] | list[Any] | str | None = Field(
        default=None, description="JSON value (sent as JSON) or text"
    )
    timeout: float = Field(default=10, gt=0, le=60, description="Seconds before giving up")

    @field_validator("url")
    @classmethod
    def url_is_http(cls, value: str) -> str:
        return value if is_template(value) else check_url(value)

    @field_validator("headers")
    @classmethod
    def no_masked_value(cls, value: dict[str, str]) -> dict[str, str]:
        """A config read back shows a typed credential as ••••: sending that back would
        replace the credential with the mask."""
        for name, item in value.items():
            if item == MASK:
                raise ValueError(
                    f"The {name} header reads {MASK}: the value typed before is hidden. Store "
                    "it under Admin → Secrets and write {{ secrets.NAME }} here, or type it again."
                )
        return value


def host_allowed(host: str, allowed_hosts: list[str]) -> bool:
    """An empty list allows any host; `*.example.com` allows its subdomains."""
    if not allowed_hosts:
        return True
    host = host.lower().rstrip(".")
    for entry in (h.lower().rstrip(".") for h in allowed_hosts):
        if host == entry or (entry.startswith("*.") and host.endswith(entry[1:])):
            return True
    return False


def refused_address(address: str) -> str | None:
    """Why an address may not be called unless private addresses are allowed, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    kinds = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),  # shared (100.64/10), documentation, …
    )
    kind = next((name for name, flag in kinds if flag), None)
    return f"{ip} is a {kind} address" if kind else None


@register
class HttpHandler(AutomatedHandler):
    type = "core.http"
    category = Category.INTEGRATION
    label = "HTTP call"
    description = (
        "Calls a web address (allowed hosts only; no private addresses by default). Other "
        "methods than GET send an Idempotency-Key, the same on every retry of the step; "
        "what the answer names as created (an id, a Location) is recorded with the step. "
        "Credentials: write {{ secrets.NAME }}, never the token itself."
    )
    Config = HttpConfig
    example = {
        "method": "POST",
        "url": "https://crm.example.com/api/matters",
        "headers": {"Authorization": "Bearer {{ secrets.CRM_TOKEN }}"},
        "body": {"reference": "{{ matter.reference }}"},
        "timeout": 10,
    }
    default_retry = RetryPolicy(max_attempts=3, backoff_seconds=2, backoff_factor=2)

    def run(self, ctx: RunContext) -> Call:
        request = dict(ctx.config)
        if not sends_key(request):
            return Call("http", request)
        key = key_of(ctx)
        headers = {**(request.get("headers") or {})}
        if given_key(headers) is None:
            headers[KEY_HEADER] = key
        return Call("http", {**request, "headers": headers}, provider=PROVIDER, key=key)

    def finish(self, ctx: RunContext, result: dict[str, Any]) -> Done:
        status = int(result["status"])
        if status >= 400:
            retryable = status in RETRYABLE_STATUSES
            raise ActionFailed(f"{ctx.config['url']} answered HTTP {status}", retryable)
        created = created_by(ctx, result) if sends_key(ctx.config) else None
        return Done(result, created)


PROVIDER = "http"
KEY_HEADER = "Idempotency-Key"


def sends_key(config: dict[str, Any]) -> bool:
    return config.get("method", "GET") not in ("GET", "HEAD")


def given_key(headers: dict[str, Any]) -> str | None:
    """An Idempotency-Key the config sets itself: sent and recorded as written."""
    return next((str(v) for k, v in headers.items() if k.lower() == KEY_HEADER.lower()), None)


def key_of(ctx: RunContext) -> str:
    return given_key(ctx.config.get("headers") or {}) or idempotency_key(
        ctx.step_id, ctx.run, PROVIDER
    )


def created_by(ctx: RunContext, result: dict[str, Any]) -> Created | None:
    """What a successful answer says it created: an `id` in its JSON body, else its
    Location header (a link out either way when Location is given)."""
    location = str((result.get("headers") or {}).get("location") or "")
    body = result.get("body")
    found = body.get("id") if isinstance(body, dict) else None
    external = str(found) if isinstance(found, str | int) and str(found) else location
    if not external:
        return None
    url = urljoin(ctx.config["url"], location) if location else ""
    if urlsplit(url).scheme not in ("http", "https"):
        url = ""
    return Created(PROVIDER, "resource", external, key_of(ctx), url)
