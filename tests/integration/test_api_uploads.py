"""Uploads to a document request: type, content and size are checked before anything is
stored; a refused upload leaves no row and no file behind; an accepted one keeps its sha256."""

import hashlib
import io
from http import HTTPStatus
from pathlib import Path

import pytest

from tests.integration.support import PDF, snapshot
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document, InstanceStep

ONE_REQUEST = {
    "name": "Identity check",
    "steps": [
        {
            "key": "identity",
            "title": "Upload identity document",
            "actionType": "REQUEST_DOC_CLIENT",
            "actionConfig": {"requestText": "Passport", "acceptedTypes": ["pdf", "png"]},
            "roleScope": "CLIENT",
        }
    ],
}


@pytest.fixture
def request_step(demo, api_as) -> dict:
    lawyer = api_as(demo.user(Role.LAWYER))
    draft = lawyer.post("/templates", json=ONE_REQUEST).json
    lawyer.post(f"/templates/{draft['id']}/publish")
    instance = lawyer.post(
        f"/templates/{draft['id']}/instantiate", json={"matterId": demo.matter.id}
    ).json
    [step] = instance["steps"]
    assert step["actionState"] == "READY"
    return step


def stored_files(app) -> set[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def upload(client, step_id: int, *files: tuple[bytes, str]) -> object:
    data = {"file": [(io.BytesIO(content), name) for content, name in files]}
    if not files:
        data = {"note": "no file here"}
    return client.post(f"/steps/{step_id}/complete", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("files", "status", "message"),
    [
        ([(b"just text", "notes.txt")], HTTPStatus.UNPROCESSABLE_ENTITY, "only pdf, png files"),
        (
            [(b"MZ\x90\x00binary", "passport.pdf")],
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "passport.pdf is not a PDF: its content is a Windows program",
        ),
        (
            [(PDF, "passport.pdf"), (b"<html>", "scan.png")],
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "scan.png",
        ),
        ([(b"", "empty.pdf")], HTTPStatus.UNPROCESSABLE_ENTITY, "empty"),
        ([], HTTPStatus.UNPROCESSABLE_ENTITY, "Attach at least one file"),
    ],
    ids=["wrong-type", "content-not-pdf", "one-bad-of-two", "empty-file", "no-file"],
)
def test_upload_is_refused_and_nothing_is_stored_when_the_file_is_not_acceptable(
    app, demo, api_as, request_step, files, status, message
):
    client = api_as(demo.user(Role.CLIENT))
    before, files_before = snapshot(), stored_files(app)

    response = upload(client, request_step["id"], *files)

    assert response.status_code == status, response.json
    assert message in response.json["error"]["message"]
    assert snapshot() == before
    assert stored_files(app) == files_before


def test_upload_is_refused_with_413_and_nothing_is_stored_when_over_the_size_limit(
    app, demo, api_as, request_step, monkeypatch
):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1024)
    client = api_as(demo.user(Role.CLIENT))
    big = PDF + b"0" * 1024
    before, files_before = snapshot(), stored_files(app)

    response = upload(client, request_step["id"], (big, "passport.pdf"))

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json["error"]["code"] == "too_large"
    assert response.json["error"]["details"] == {"maxBytes": 1024}
    assert snapshot() == before
    assert stored_files(app) == files_before


def test_upload_stores_each_file_with_its_sha256_and_completes_the_step_when_accepted(
    app, demo, api_as, request_step
):
    client = api_as(demo.user(Role.CLIENT))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    response = upload(client, request_step["id"], (PDF, "passport.pdf"), (png, "scan.png"))

    assert response.status_code == HTTPStatus.OK, response.json
    assert response.json["status"] == "Completed"
    documents = db.session.scalars(
        db.select(Document).where(Document.step_id.is_not(None)).order_by(Document.id)
    ).all()
    assert [(d.name, d.size, d.uploaded_by_id) for d in documents] == [
        ("passport.pdf", len(PDF), demo.user(Role.CLIENT).id),
        ("scan.png", len(png), demo.user(Role.CLIENT).id),
    ]
    for document, content in zip(documents, (PDF, png), strict=True):
        assert document.sha256 == hashlib.sha256(content).hexdigest()
        assert (Path(app.config["UPLOAD_DIR"]) / document.storage_path).read_bytes() == content
    step = db.session.get(InstanceStep, request_step["id"])
    assert step.action_state == "COMPLETED"
    assert [f["sha256"] for f in step.action_data["files"]] == [d.sha256 for d in documents]


def test_upload_is_refused_with_403_when_a_lawyer_sends_the_clients_file(
    demo, api_as, request_step
):
    before = snapshot()
    response = upload(api_as(demo.user(Role.LAWYER)), request_step["id"], (PDF, "passport.pdf"))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot() == before


def test_upload_is_refused_with_422_when_the_step_is_not_a_document_request(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    instance = lawyer.get("/instances").json["items"][0]
    checklist = lawyer.get(f"/instances/{instance['id']}").json["steps"][0]
    before = snapshot()
    response = upload(api_as(demo.user(Role.PARALEGAL)), checklist["id"], (PDF, "a.pdf"))
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "document request" in response.json["error"]["message"]
    assert snapshot() == before
