"""Local HTTP stand-ins of Stripe's and Dropbox Sign's APIs, on loopback: each records
the requests it gets and answers with the shapes of the providers' documented objects.
Stripe's answers repeat for a repeated Idempotency-Key, as Stripe's do; Dropbox Sign has
no such header, so its stand-in counts requests per idempotency key in the metadata."""

import base64
import itertools
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

SIGNED_PDF = b"%PDF-1.4\n% signed by the stand-in\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]
    files: dict[str, list[bytes]] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)


class Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class StandIn:
    """A werkzeug server on a free loopback port, in a thread."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True, request_handler=Quiet)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        files = {k: [f.read() for f in request.files.getlist(k)] for k in request.files}
        recorded = Recorded(
            request.method,
            request.path,
            dict(request.headers),
            {k: request.form.getlist(k) for k in request.form},
            files,
            dict(request.args),
        )
        with self.lock:
            self.requests.append(recorded)
            response = self.answer(recorded)
        return response(environ, start_response)

    def answer(self, recorded: Recorded) -> Response:
        raise NotImplementedError

    def start(self) -> "StandIn":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class StripeStandIn(StandIn):
    """POST /v1/checkout/sessions: a Checkout Session; a repeated Idempotency-Key gets the
    first answer again, as Stripe keeps it for 24 hours."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1)

    def creates(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v1/checkout/sessions"]

    def answer(self, recorded: Recorded) -> Response:
        if recorded.headers.get("Authorization") != "Bearer sk_test_firm":
            return _json({"error": {"type": "invalid_request_error", "message": "bad key"}}, 401)
        if recorded.method != "POST" or recorded.path != "/v1/checkout/sessions":
            return _json({"error": {"type": "invalid_request_error", "message": "no"}}, 404)
        key = recorded.headers.get("Idempotency-Key", "")
        if key in self.by_key:
            return _json(self.by_key[key])
        form = {k: v[0] for k, v in recorded.form.items()}
        session_id = f"cs_test_{next(self.ids):04d}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
            "currency": form["line_items[0][price_data][currency]"],
            "client_reference_id": form.get("client_reference_id"),
            "metadata": {
                "stepId": form.get("metadata[stepId]"),
                "orgId": form.get("metadata[orgId]"),
            },
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "url": f"{self.base}/pay/{session_id}",
        }
        self.sessions[session_id] = session
        self.by_key[key] = session
        return _json(session)


class DropboxSignStandIn(StandIn):
    """/v3/signature_request/send, /list (query matched against the metadata, as the
    API's search does) and /files/{id}."""

    API_KEY = "dbs_firm_key"

    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[str, dict[str, Any]] = {}
        self.per_key: Counter[str] = Counter()
        self.ids = itertools.count(1)

    def sends(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v3/signature_request/send"]

    def answer(self, recorded: Recorded) -> Response:
        expected = "Basic " + base64.b64encode(f"{self.API_KEY}:".encode()).decode()
        if recorded.headers.get("Authorization") != expected:
            return _json(
                {"error": {"error_msg": "Unauthorized", "error_name": "unauthorized"}}, 401
            )
        if recorded.path == "/v3/signature_request/send" and recorded.method == "POST":
            return self._send(recorded)
        if recorded.path == "/v3/signature_request/list":
            query = recorded.args.get("query", "")
            found = [r for r in self.sent.values() if query and query in json.dumps(r["metadata"])]
            return _json(
                {
                    "signature_requests": found,
                    "list_info": {"num_pages": 1, "num_results": len(found), "page": 1},
                }
            )
        if recorded.path.startswith("/v3/signature_request/files/"):
            return Response(SIGNED_PDF, mimetype="application/pdf")
        return _json({"error": {"error_msg": "Not found", "error_name": "not_found"}}, 404)

    def _send(self, recorded: Recorded) -> Response:
        form = {k: v[0] for k, v in recorded.form.items()}
        metadata = json.loads(form.get("metadata", "{}"))
        self.per_key[metadata.get("idempotencyKey", "")] += 1
        request_id = f"fa5c8a0b0f492d768749333ad6fcc214c111e{next(self.ids):03d}"
        signers = json.loads(form.get("signers", "[]"))
        signature_request = {
            "signature_request_id": request_id,
            "title": form.get("title"),
            "metadata": metadata,
            "is_complete": False,
            "details_url": f"{self.base}/home/manage?guid={request_id}",
            "signatures": [
                {
                    "signature_id": f"sig{request_id[-6:]}",
                    "signer_email_address": s.get("email_address"),
                    "signer_name": s.get("name"),
                    "status_code": "awaiting_signature",
                }
                for s in signers
            ],
        }
        self.sent[request_id] = signature_request
        return _json({"signature_request": signature_request})


def file_bytes(recorded: Recorded) -> bytes:
    parts = recorded.files.get("files[0]") or recorded.files.get("files[]") or []
    return parts[0] if parts else b""


def running(stand_in: StandIn) -> Iterator[StandIn]:
    stand_in.start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


__all__ = ["DropboxSignStandIn", "StripeStandIn", "file_bytes", "running"]
