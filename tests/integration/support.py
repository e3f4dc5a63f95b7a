"""Helpers for the API tests: what the database holds (to prove a refused request changed
nothing), a three-step template as a client would send it, and files to upload."""

from typing import Any

from sqlalchemy import func, select

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

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


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
