"""Helpers for the API tests: what the database holds (to prove a refused request changed
nothing), a three-step template as a client would send it, and files to upload."""

import functools
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from webapp.extensions import db
from webapp.models import (
    Document,
    InstanceChange,
    InstanceStep,
    Job,
    Matter,
    WorkflowEvent,
    WorkflowInstance,
    WorkflowTemplate,
)
from webapp.services import auth

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default scrypt hash costs ~0.13 s a person and every test seeds four; a cheap
    PBKDF2 keeps the suite fast. Sign-in still hashes and checks for real."""
    monkeypatch.setattr(
        auth,
        "generate_password_hash",
        functools.partial(generate_password_hash, method="pbkdf2:sha256:1000"),
    )


def count(model: type, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def rows_of(model: type) -> list[dict[str, Any]]:
    table = model.__table__
    return [dict(row) for row in db.session.execute(select(table).order_by(table.c.id)).mappings()]


def snapshot() -> dict[str, Any]:
    """Everything a workflow request could change, to compare before and after."""
    db.session.commit()  # read what is committed, as the next request will
    return {
        "events": count(WorkflowEvent),
        "jobs": count(Job),
        "changes": count(InstanceChange),
        "documents": count(Document),
        "instances": rows_of(WorkflowInstance),
        "steps": rows_of(InstanceStep),
        "matters": rows_of(Matter),
        "templates": rows_of(WorkflowTemplate),
    }


def three_step_template(name: str = "Engagement intake") -> dict[str, Any]:
    """CHECKLIST (PARALEGAL) -> APPROVAL_LAWYER (LAWYER) -> REQUEST_DOC_CLIENT (CLIENT)."""
    return {
        "name": name,
        "description": "Conflicts, approval, identity.",
        "steps": [
            {
                "key": "conflicts",
                "title": "Check conflicts",
                "actionType": "CHECKLIST",
                "actionConfig": {"items": ["Search clients", "Search adverse parties"]},
                "roleScope": "PARALEGAL",
            },
            {
                "key": "approval",
                "title": "Approve engagement",
                "actionType": "APPROVAL_LAWYER",
                "actionConfig": {"message": "Take the matter on?"},
                "roleScope": "LAWYER",
            },
            {
                "key": "identity",
                "title": "Upload identity document",
                "actionType": "REQUEST_DOC_CLIENT",
                "actionConfig": {"requestText": "Passport, as PDF", "acceptedTypes": ["pdf"]},
                "roleScope": "CLIENT",
            },
        ],
    }


def step_by_key(instance: dict[str, Any], key: str) -> dict[str, Any]:
    return next(step for step in instance["steps"] if step["key"] == key)
