"""A local stand-in of an outside API on loopback: records each request with its headers,
answers from a script, and dedupes an Idempotency-Key as providers do (a second request
with a key it has answered gets the first answer again, and is counted)."""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.integration.engine_support import serving

Reply = tuple[int, dict[str, str], Any]  # status, headers, JSON body


@dataclass
class StandIn:
    """`answer(request)` makes the reply; `hold` keeps each request waiting until set."""

    answer: Callable[[dict[str, Any]], Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    answered: dict[str, Reply] = field(default_factory=dict)
    hold: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)

    def keys(self) -> list[str | None]:
        return [r["headers"].get("idempotency-key") for r in self.requests]


@contextmanager
def stand_in(script: StandIn) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            request = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": raw,
            }
            script.requests.append(request)
            key = request["headers"].get("idempotency-key")
            if key and key in script.answered:
                status, headers, body = script.answered[key]
            else:
                status, headers, body = script.answer(request)
                if key and status < 500:
                    script.answered[key] = (status, headers, body)
            # Done on this side before the caller hears of it: a caller killed while it
            # waits has had its effect.
            script.arrived.set()
            if script.hold is not None:
                script.hold.wait(30)
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the caller went away (a killed worker)
                pass

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler, script.hold) as url:
        yield url
