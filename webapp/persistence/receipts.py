"""Request receipts: an API change made under the caller's `X-Request-ID` leaves a receipt
in its own transaction, and its answer beside it once sent. A retry with the same id — the
answer was lost, or said the outcome was unknown — is answered from the receipt instead of
being carried out again: the same status and body when they were kept, otherwise a 200 that
says the change was made and when. No receipt means the change was never saved, and the
retry carries it out. (Stripe's idempotency keys work the same way.)"""

import json
import logging
from typing import Any

from flask import Response, g, has_request_context, request
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import RequestReceipt, User
from webapp.persistence.transaction import COMMIT_WATCHERS, transactional

log = logging.getLogger("matterflow.receipts")

HEADER = "X-Request-ID"
REPLAYED_HEADER = "Idempotent-Replayed"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# An answer larger than this is not kept: its replay says the change was made, and when.
MAX_KEPT_ANSWER = 256 * 1024

_EXPECTED = "receipt_expected"
_WRITTEN = "receipt_id"


def replay_or_expect(user: User) -> Response | None:
    """Before an API change: the kept answer when this caller already made a change under
    this request id; otherwise remember to write a receipt with the change."""
    offered = request.headers.get(HEADER)
    if request.method not in MUTATING or not offered or len(offered) > 100:
        return None
    receipt = db.session.scalar(
        select(RequestReceipt).where(
            RequestReceipt.user_id == user.id, RequestReceipt.request_id == offered
        )
    )
    if receipt is None:
        g.setdefault(_EXPECTED, (user.org_id, user.id, offered, request.method, request.path))
        return None
    if (receipt.method, receipt.path) != (request.method, request.path):
        return _answer(
            409,
            {
                "error": {
                    "code": "request_id_reused",
                    "message": (
                        f"{HEADER} {offered!r} was already used for {receipt.method} "
                        f"{receipt.path}. Send a new id with a new request."
                    ),
                    "details": None,
                }
            },
        )
    if receipt.status_code is not None and receipt.answer is not None:
        return _answer(receipt.status_code, receipt.answer)
    return _answer(
        200,
        {
            "replayed": True,
            "requestId": offered,
            "savedAt": receipt.created_at.isoformat(),
            "message": (
                f"This change was already made, at {receipt.created_at:%Y-%m-%d %H:%M:%S} UTC; "
                "its answer was not kept. Read the resource to see it."
            ),
        },
    )


def _answer(status: int, body: Any) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers[REPLAYED_HEADER] = "true"
    return response


def add_pending() -> RequestReceipt | None:
    """In the door, just before its commit: the receipt of the request's first change."""
    if not has_request_context() or g.get(_WRITTEN):
        return None
    expected = g.get(_EXPECTED)
    if expected is None:
        return None
    org_id, user_id, request_id, method, path = expected
    receipt = RequestReceipt(
        org_id=org_id, user_id=user_id, request_id=request_id, method=method, path=path
    )
    db.session.add(receipt)
    db.session.flush()
    return receipt


def committed(receipt: RequestReceipt | None) -> None:
    if receipt is not None and has_request_context():
        g.setdefault(_WRITTEN, receipt.id)


def keep_answer(response: Response) -> Response:
    """After the request: the answer beside its receipt, when the change was made. A fault
    here costs only the kept answer (the replay then says the change was made). The
    request's later commits (its security notes, written after the answer) carry no
    receipt: a refused or failed change has none, and its retry must carry it out."""
    if not has_request_context():
        return response
    g.pop(_EXPECTED, None)
    receipt_id = g.get(_WRITTEN)
    if receipt_id is None or response.status_code >= 400 or not response.is_json:
        return response
    body = response.get_data()
    if len(body) > MAX_KEPT_ANSWER:
        return response
    try:
        _keep(receipt_id, response.status_code, json.loads(body))
    except Exception as error:  # the change stands; only its replayed answer is lost
        log.warning("The answer of request receipt %s was not kept: %s", receipt_id, error)
        db.session.rollback()
    return response


@transactional
def _keep(receipt_id: int, status: int, answer: Any) -> None:
    receipt = db.session.get(RequestReceipt, receipt_id)
    if receipt is not None:
        receipt.status_code = status
        receipt.answer = answer


COMMIT_WATCHERS.append((add_pending, committed))
