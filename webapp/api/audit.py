"""A matter's audit trail with its hash chain, as JSON or CSV, for a regulator or a court.
Streamed a page at a time (services/audit.matter_trail): a matter of 20,000 rows is never
built in memory."""

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, request, stream_with_context
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.api.blueprint import api
from webapp.api.schemas import Schema
from webapp.api.spec import endpoint, one_of
from webapp.persistence.audit_chain import canonical_json
from webapp.services import audit


class AuditRow(Schema):
    """One audit row as its hash covers it: `createdAt` is the hashed text, `payload` the
    row's JSON; `hash` is sha256 over `prevHash` (empty at the chain's start), a newline
    and the canonical row (docs/engine.md, "Tamper-evident audit")."""

    id: int
    org_id: int
    matter_id: int | None
    instance_id: int | None
    step_id: int | None
    template_id: int | None
    actor_id: int | None
    event_type: str
    old_status: str | None
    new_status: str | None
    payload: dict[str, Any]
    request_id: str | None
    created_at: datetime
    prev_hash: str | None
    hash: str


class AuditTrail(Schema):
    matter_id: int
    reference: str
    items: list[AuditRow]
    total: int


@endpoint(
    api,
    "/matters/<int:matter_id>/audit",
    "GET",
    summary="Export a matter's audit trail with its hash chain (staff only; CSV or JSON)",
    tag="Matters",
    query={"format": one_of("json (default) or csv", "json", "csv")},
    response=AuditTrail,
    media=("application/json", "text/csv"),
)
def export_audit(matter_id: int) -> ResponseReturnValue:
    trail = audit.matter_trail(current_user, matter_id)
    if request.args.get("format") == "csv":  # json or csv: check_query refuses the rest
        body, mimetype, suffix = _csv(trail.rows), "text/csv", "csv"
    else:
        body, mimetype, suffix = _json(trail), "application/json", "json"
    response = Response(stream_with_context(body), mimetype=mimetype)
    name = f"matter-{trail.matter.id}-audit.{suffix}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _json(trail: audit.Trail) -> Iterator[str]:
    head = {"matterId": trail.matter.id, "reference": trail.matter.reference}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "items": ['
    for n, row in enumerate(trail.rows):
        yield ("," if n else "") + json.dumps(row, ensure_ascii=False)
    yield f'], "total": {trail.total}}}'


def _csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([name for name, _column in audit.EXPORT_FIELDS])
    for row in rows:
        writer.writerow(
            canonical_json(value) if name == "payload" else ("" if value is None else value)
            for name, value in row.items()
        )
        if buffer.tell() > 16_384:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
