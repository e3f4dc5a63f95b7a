"""The evidence that an ethical wall held: each refused attempt of a screened person on
the matter they are screened from.

The refusal rolls back whatever the request was doing, so the hit cannot be written in
that transaction. It is noted when the refusal happens and written after the response is
made, in its own short transaction (`register`): a refused request still leaves its
trace. The worker and the command line act for nobody in particular and are not walled."""

import logging

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy import insert

from webapp.extensions import db
from webapp.models import SecurityEventKind, WallHit
from webapp.models.base import utcnow
from webapp.persistence.transaction import transactional
from webapp.services.security import record_security_event

log = logging.getLogger("matterflow.walls")
_PENDING = "matterflow_wall_hits"


def note(org_id: int, matter_id: int, user_id: int) -> None:
    """Remember that this person was refused this matter by its wall."""
    if not has_request_context():
        return
    attempted = f"{request.method} {request.path}"[:300]
    pending: list[dict] = g.setdefault(_PENDING, [])
    if any(row["matter_id"] == matter_id and row["user_id"] == user_id for row in pending):
        return  # one request, one attempt, however many times it asked
    pending.append(
        {
            "org_id": org_id,
            "matter_id": matter_id,
            "user_id": user_id,
            "attempted": attempted,
            "created_at": utcnow(),
        }
    )
    # The firm's security log (/admin/security) lists wall hits beside the other refusals.
    record_security_event(
        org_id, SecurityEventKind.WALL_HIT, user_id, {"matterId": matter_id, "attempted": attempted}
    )


@transactional
def _write(rows: list[dict]) -> None:
    db.session.execute(insert(WallHit), rows)


def register(app: Flask) -> None:
    @app.after_request
    def write_wall_hits(response: Response) -> Response:
        rows = g.pop(_PENDING, None)
        if rows:
            try:
                _write(rows)
            except Exception:  # the answer stands; the failure to keep the evidence is logged
                log.exception("Could not record %d wall hit(s)", len(rows))
        return response
