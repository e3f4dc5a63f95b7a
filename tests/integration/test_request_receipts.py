"""A retry with the same X-Request-ID finds the change it made (issue 17 point 5): the
answer that never came, or said "outcome unknown", is not a reason to make a change twice,
nor to claim nothing was changed. Without a receipt the change was never saved, and the
retry makes it."""

from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.conftest import ApiClient
from tests.integration.engine_support import by_key, make_firm, reload
from tests.integration.test_database_faults import (
    checklist_instance,
    completions_recorded,
    dropped_connections,
)
from webapp.extensions import db
from webapp.models import RequestReceipt, SecurityEvent, SecurityEventKind
from webapp.services import retention
from webapp.services.auth import create_token


@pytest.fixture
def firm(make_org, make_user, make_matter, api_as):
    return make_firm(make_org, make_user, make_matter, api_as)


def complete(firm: Any, step_id: int, request_id: str, items: list[str] | None = None) -> Any:
    return firm.api.post(
        f"/steps/{step_id}/complete",
        json={"checkedItems": ["Read it"] if items is None else items},
        headers={"X-Request-ID": request_id},
    )


def test_a_retry_with_the_same_request_id_gets_the_first_answer_and_changes_nothing(firm):
    instance_id, step_id = checklist_instance(firm)
    first = complete(firm, step_id, "retry-me-1")
    assert first.status_code == 200, first.json
    assert "Idempotent-Replayed" not in first.headers

    again = complete(firm, step_id, "retry-me-1")
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert completions_recorded(step_id) == 1
    # Without the id, the same call meets the step as it now is: already completed.
    assert firm.api.post(
        f"/steps/{step_id}/complete", json={"checkedItems": ["Read it"]}
    ).status_code in (409, 422)
    assert by_key(reload(firm.api, instance_id), "review")["actionState"] == "COMPLETED"


def test_a_request_id_used_for_another_request_is_refused(firm):
    _, step_id = checklist_instance(firm)
    assert complete(firm, step_id, "one-use").status_code == 200
    other = firm.api.post(
        "/templates",
        json={"name": "Other", "steps": []},
        headers={"X-Request-ID": "one-use"},
    )
    assert other.status_code == 409
    assert other.json["error"]["code"] == "request_id_reused"
    assert "/steps/" in other.json["error"]["message"]


def test_a_refused_change_leaves_no_receipt_and_may_be_sent_again(firm):
    _, step_id = checklist_instance(firm)
    refused = complete(firm, step_id, "fix-and-retry", items=[])
    assert refused.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(RequestReceipt)) == 0
    assert complete(firm, step_id, "fix-and-retry").status_code == 200
    assert completions_recorded(step_id) == 1


def test_a_note_written_after_a_refused_change_carries_no_receipt(firm, app):
    """Found by the chaos test: a token's first use is noted after the answer, in a commit
    of its own. The refused change's receipt must not ride along with that note, or its
    retry would be told "already made" while nothing was."""
    _, step_id = checklist_instance(firm)
    first_use = ApiClient(app.test_client(), create_token(firm.lawyer.email))
    refused = first_use.post(
        f"/steps/{step_id}/complete", json={"checkedItems": []}, headers={"X-Request-ID": "n1"}
    )
    assert refused.status_code == 422
    noted = select(func.count()).where(SecurityEvent.kind == SecurityEventKind.TOKEN_USED)
    assert db.session.scalar(noted) >= 1  # the note was written after the refusal
    assert db.session.scalar(select(func.count()).select_from(RequestReceipt)) == 0
    retried = first_use.post(
        f"/steps/{step_id}/complete",
        json={"checkedItems": ["Read it"]},
        headers={"X-Request-ID": "n1"},
    )
    assert retried.status_code == 200, retried.json
    assert "Idempotent-Replayed" not in retried.headers
    assert completions_recorded(step_id) == 1


def test_a_change_whose_answer_was_not_kept_is_still_found(firm):
    _, step_id = checklist_instance(firm)
    assert complete(firm, step_id, "answer-lost").status_code == 200
    # As when the process died between the commit and keeping the answer.
    db.session.execute(update(RequestReceipt).values(status_code=None, answer=None))
    db.session.commit()
    again = complete(firm, step_id, "answer-lost")
    assert again.status_code == 200
    assert again.json["replayed"] is True
    assert "already made" in again.json["message"]
    assert completions_recorded(step_id) == 1


def test_receipts_are_purged_after_their_retention(firm, app):
    from datetime import timedelta

    _, step_id = checklist_instance(firm)
    complete(firm, step_id, "old-one")
    receipt = db.session.scalar(select(RequestReceipt))
    days = app.config["REQUEST_RECEIPT_RETENTION_DAYS"]
    assert retention.purge(receipt.created_at + timedelta(days=days) / 2).request_receipts == 0
    assert (
        retention.purge(receipt.created_at + timedelta(days=days, seconds=1)).request_receipts == 1
    )


def test_an_unknown_outcome_then_a_retry_makes_the_change_exactly_once(firm, dialect):
    """The connection is cut before its COMMIT: the answer says the outcome is unknown; the
    retry with the same id finds no receipt (nothing was saved) and makes the change."""
    if dialect != "postgresql":
        pytest.skip("a connection the database drops is PostgreSQL's case")
    _, step_id = checklist_instance(firm)
    with dropped_connections("", times=1, at_commit=True):
        cut = complete(firm, step_id, "cut-off")
    assert cut.json["error"]["code"] == "outcome_unknown"
    assert "same X-Request-ID" in cut.json["error"]["message"]
    retried = complete(firm, step_id, "cut-off")
    assert retried.status_code == 200, retried.json
    assert "Idempotent-Replayed" not in retried.headers
    assert completions_recorded(step_id) == 1
    assert complete(firm, step_id, "cut-off").headers["Idempotent-Replayed"] == "true"
