"""Shared helpers of the engine tests: a firm, templates through the API, the worker,
and small real servers on loopback (HTTP, SMTP)."""

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.worker import drain


@dataclass
class Firm:
    lawyer: Any
    matter: Any
    api: Any  # the lawyer's API client
    people: dict[str, Any]  # the other people on the matter, by role


def make_firm(make_org: Any, make_user: Any, make_matter: Any, api_as: Any, *roles: str) -> Firm:
    """A lawyer owning a matter, plus one person of each of `roles` (hashing passwords
    is slow: ask only for the people a test needs)."""
    org = make_org("Engine Firm")
    lawyer = make_user(org, Role.LAWYER)
    people = {role: make_user(org, role) for role in roles}
    members = [p for role, p in people.items() if role != Role.ADMIN]
    matter = make_matter(lawyer, *members)
    return Firm(lawyer, matter, api_as(lawyer), people)


def step(key: str, action_type: str = "core.echo", **fields: Any) -> dict[str, Any]:
    body = {"key": key, "title": fields.pop("title", key.replace("_", " ").title())}
    body["actionType"] = action_type
    body["actionConfig"] = fields.pop(
        "config", {"message": key} if action_type == "core.echo" else {}
    )
    body.update(fields)
    return body


def publish(api: Any, name: str, steps: list[dict[str, Any]], key: str | None = None) -> int:
    body: dict[str, Any] = {"name": name, "steps": steps}
    if key:
        body["key"] = key
    created = api.post("/templates", json=body)
    assert created.status_code == 201, created.json
    published = api.post(f"/templates/{created.json['id']}/publish")
    assert published.status_code == 200, published.json
    return created.json["id"]


def start(api: Any, template_id: int, matter_id: int, **body: Any) -> dict[str, Any]:
    response = api.post(
        f"/templates/{template_id}/instantiate", json={"matterId": matter_id, **body}
    )
    assert response.status_code == 201, response.json
    return response.json


def reload(api: Any, instance_id: int) -> dict[str, Any]:
    response = api.get(f"/instances/{instance_id}")
    assert response.status_code == 200, response.json
    return response.json


def by_key(instance: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in instance["steps"] if s["key"] == key)


def states(instance: dict[str, Any]) -> dict[str, str]:
    return {s["key"]: s["actionState"] for s in instance["steps"]}


def run_worker(name: str = "test-worker") -> int:
    """Drain the queue; the test's session then reads what the worker wrote (the tests
    keep one app context, so its session and identity map live across requests)."""
    processed = drain(name, until_idle=True)
    fresh()
    return processed


def fresh() -> None:
    """End the test session's read transaction (SQLite keeps its snapshot until then)
    and forget loaded rows, so the next read sees what other sessions committed."""
    db.session.commit()
    db.session.expire_all()


# --- a scripted HTTP server on loopback ----------------------------------------------------


@dataclass
class HttpScript:
    """Answers requests in turn from `replies` (status, body); the last one repeats."""

    replies: list[tuple[int, str]]
    requests: list[dict[str, Any]] = field(default_factory=list)
    hold: threading.Event | None = None  # when set, requests wait until it is set
    arrived: threading.Event = field(default_factory=threading.Event)

    def next_reply(self) -> tuple[int, str]:
        index = min(len(self.requests) - 1, len(self.replies) - 1)
        return self.replies[index]


@contextmanager
def http_server(script: HttpScript) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            script.requests.append({"method": self.command, "path": self.path, "body": body})
            script.arrived.set()
            if script.hold is not None:
                script.hold.wait(30)
            status, text = script.next_reply()
            payload = text.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the caller went away (a killed worker)
                pass

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler, script.hold) as url:
        yield url


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], hold: threading.Event | None) -> Iterator[str]:
    """A threaded HTTP server on loopback answering with `handler`; its URL. On leaving, a
    request still held (`hold`) is let go before the server stops."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        if hold is not None:
            hold.set()
        server.shutdown()
        server.server_close()


# --- a real SMTP server on loopback ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.received = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"rcpt": list(envelope.rcpt_tos), "message": message})
        self.received.set()
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 10, interval: float = 0.05) -> bool:
    event = threading.Event()
    waited = 0.0
    while waited < timeout:
        if predicate():
            return True
        event.wait(interval)
        waited += interval
    return predicate()
