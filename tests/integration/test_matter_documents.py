"""A matter's documents: the Documents tab and its API — staff upload (checked by content,
streamed with the cap), versions, sharing with the client, downloads authorised on every
request, and the files of a deleted matter removed from storage."""

import io
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import PDF, snapshot
from webapp.adapters import storage
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import (
    Document,
    DocumentSource,
    InstanceStep,
    Job,
    MatterMember,
    WorkflowEvent,
)
from webapp.services import documents, matters, steps
from webapp.services.documents import PURGE_FILES, file_document
from webapp.worker import drain

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def stored_files(app: Any) -> set[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def multipart(*files: tuple[bytes, str], **fields: str) -> dict[str, Any]:
    return {"file": [(io.BytesIO(data), name) for data, name in files], **fields}


def api_upload(client: Any, matter_id: int, *files: tuple[bytes, str], query: str = "") -> Any:
    return client.post(
        f"/matters/{matter_id}/documents{query}",
        data=multipart(*files),
        content_type="multipart/form-data",
    )


@pytest.fixture
def filed(demo: Any) -> dict[str, Document]:
    """A letter in two versions, shared with the client, and a private memo."""
    lawyer = demo.user(Role.LAWYER)
    [letter] = documents.upload_documents(lawyer, demo.matter.id, [_file(PDF, "letter.pdf")])
    [letter_v2] = documents.upload_documents(
        lawyer, demo.matter.id, [_file(PDF + b"%v2\n", "letter.pdf")], replaces_id=letter.id
    )
    documents.share_document(lawyer, letter.id, True)
    [memo] = documents.upload_documents(lawyer, demo.matter.id, [_file(b"Strategy\n", "memo.txt")])
    return {"letter": letter, "letter_v2": letter_v2, "memo": memo}


def _file(data: bytes, name: str) -> storage.IncomingFile:
    return storage.IncomingFile(name, "application/octet-stream", data)


@pytest.fixture
def screened_lawyer(demo: Any, make_user: Any) -> Any:
    lawyer = make_user(demo.org, Role.LAWYER, "Walled Lawyer")
    db.session.add(MatterMember(matter_id=demo.matter.id, user_id=lawyer.id, role=Role.LAWYER))
    db.session.commit()
    matters.perform(demo.user(Role.ADMIN), demo.matter.id, matters.Screen(lawyer.id, "Conflict"))
    return lawyer


def test_documents_tab_lists_versions_and_staff_upload_and_share_when_used_from_the_page(
    app, demo, login_as
):
    lawyer = login_as(demo.user(Role.LAWYER))
    first = lawyer.post(
        f"/matters/{demo.matter.id}/documents",
        data=multipart((PDF, "engagement.pdf"), (b"Notes\n", "notes.txt")),
        content_type="multipart/form-data",
    )
    assert first.status_code == HTTPStatus.SEE_OTHER, first.get_data(as_text=True)[:400]
    engagement = db.session.scalar(db.select(Document).where(Document.name == "engagement.pdf"))
    assert engagement.content_type == "application/pdf"
    again = lawyer.post(
        f"/matters/{demo.matter.id}/documents",
        data=multipart((PDF + b"%2\n", "engagement-v2.pdf"), replaces=str(engagement.id)),
        content_type="multipart/form-data",
    )
    assert again.status_code == HTTPStatus.SEE_OTHER
    shared = lawyer.post(f"/documents/{engagement.id}/share", data={"shared": "yes"})
    assert shared.status_code == HTTPStatus.SEE_OTHER

    page = lawyer.get(f"/matters/{demo.matter.id}/documents").get_data(as_text=True)
    assert "engagement-v2.pdf" in page and "1 earlier version" in page
    assert "notes.txt" in page and "Not shared" in page and "Stop sharing" in page
    versions = db.session.scalars(
        db.select(Document).where(Document.lineage_id == engagement.id).order_by(Document.version)
    ).all()
    assert [(d.version, d.shared_with_client) for d in versions] == [(1, True), (2, True)]
    shares = db.session.scalars(
        db.select(WorkflowEvent).where(WorkflowEvent.event_type == "document.shared")
    ).all()
    assert [e.payload["documentId"] for e in shares] == [engagement.id]

    client = login_as(demo.user(Role.CLIENT)).get(f"/matters/{demo.matter.id}/documents")
    text = client.get_data(as_text=True)
    assert "engagement-v2.pdf" in text and "notes.txt" not in text
    assert "Upload documents" not in text


def test_client_sees_and_downloads_only_what_is_shared_when_listing_and_downloading(
    demo, api_as, login_as, filed
):
    client = api_as(demo.user(Role.CLIENT))
    listed = client.get(f"/matters/{demo.matter.id}/documents").json
    listed_ids = {d["id"] for d in listed["items"]}
    assert {filed["letter"].id, filed["letter_v2"].id} <= listed_ids
    assert filed["memo"].id not in listed_ids
    assert all(d["sharedWithClient"] for d in listed["items"])
    assert client.get(f"/documents/{filed['memo'].id}/content").status_code == 404
    assert client.get(f"/documents/{filed['memo'].id}").status_code == 404
    web = login_as(demo.user(Role.CLIENT))
    assert web.get(f"/documents/{filed['memo'].id}").status_code == 404
    ok = client.get(f"/documents/{filed['letter_v2'].id}/content")
    assert ok.status_code == 200 and ok.data == PDF + b"%v2\n"

    documents.share_document(demo.user(Role.LAWYER), filed["letter"].id, False)
    assert client.get(f"/documents/{filed['letter_v2'].id}/content").status_code == 404


def test_download_is_not_found_when_the_document_is_another_firms_or_the_person_is_screened(
    demo, api_as, login_as, filed, second_firm, screened_lawyer
):
    outsider = api_as(second_firm["lawyer"])
    assert outsider.get(f"/documents/{filed['letter'].id}/content").status_code == 404
    assert outsider.get(f"/documents/{filed['letter'].id}").status_code == 404

    walled = api_as(screened_lawyer)
    assert walled.get(f"/documents/{filed['memo'].id}/content").status_code == 404
    assert walled.get(f"/matters/{demo.matter.id}/documents").status_code == 404
    page = login_as(screened_lawyer).get(f"/matters/{demo.matter.id}/documents")
    assert page.status_code == 404
    assert "memo.txt" not in page.get_data(as_text=True)
    assert login_as(screened_lawyer).get(f"/documents/{filed['memo'].id}").status_code == 404


def test_a_client_of_another_matter_gets_404_when_downloading_a_shared_document(
    demo, api_as, filed, make_user, make_matter
):
    other_client = make_user(demo.org, Role.CLIENT, "Other Client")
    make_matter(demo.user(Role.LAWYER), other_client, reference="OTHER-1")
    response = api_as(other_client).get(f"/documents/{filed['letter'].id}/content")
    assert response.status_code == 404


def test_download_carries_the_sniffed_type_nosniff_and_attachment_when_served(demo, api_as, filed):
    lawyer = api_as(demo.user(Role.LAWYER))
    memo = lawyer.get(f"/documents/{filed['memo'].id}/content")
    assert memo.headers["Content-Type"].startswith("text/plain")
    assert memo.headers["X-Content-Type-Options"] == "nosniff"
    assert memo.headers["Content-Disposition"].startswith("attachment")
    inline = lawyer.get(f"/documents/{filed['letter'].id}/content?inline=true")
    assert inline.headers["Content-Type"] == "application/pdf"
    assert inline.headers["Content-Disposition"].startswith("inline")
    assert "frame-ancestors 'self'" in inline.headers["Content-Security-Policy"]
    text_inline = lawyer.get(f"/documents/{filed['memo'].id}/content?inline=true")
    assert text_inline.headers["Content-Disposition"].startswith("attachment")


def test_exe_named_pdf_is_refused_with_the_clear_message_and_nothing_stored_when_uploaded(
    app, demo, api_as, login_as
):
    before, files_before = snapshot(), stored_files(app)
    message = "x.pdf is not a PDF: its content is a Windows program."

    response = api_upload(api_as(demo.user(Role.LAWYER)), demo.matter.id, (EXE, "x.pdf"))
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert message in response.json["error"]["message"]

    web = login_as(demo.user(Role.LAWYER))
    page = web.post(
        f"/matters/{demo.matter.id}/documents",
        data={"file": [(io.BytesIO(EXE), "x.pdf", "application/pdf")]},
        content_type="multipart/form-data",
    )
    assert page.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert message in page.get_data(as_text=True)
    assert snapshot() == before
    assert stored_files(app) == files_before


def test_upload_over_the_cap_is_refused_while_streaming_when_the_file_is_larger(
    app, demo, api_as, monkeypatch
):
    """The copy stops one chunk past the cap: the temporary file never holds the rest."""
    cap = 3 * storage.CHUNK
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", cap)
    largest: list[int] = []
    real_copy = storage.copy_capped

    def watched(stream: Any, target: Any, max_bytes: int | None) -> tuple[str, int]:
        try:
            return real_copy(stream, target, max_bytes)
        finally:
            largest.append(target.tell())

    monkeypatch.setattr(storage, "copy_capped", watched)
    before, files_before = snapshot(), stored_files(app)
    big = PDF + b"0" * (20 * storage.CHUNK)

    response = api_upload(api_as(demo.user(Role.LAWYER)), demo.matter.id, (big, "big.pdf"))

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json["error"]["details"] == {"maxBytes": cap}
    assert "big.pdf" in response.json["error"]["message"]
    assert largest and max(largest) <= cap + storage.CHUNK
    assert snapshot() == before
    assert stored_files(app) == files_before


def test_body_over_max_content_length_is_refused_with_413_before_auth_when_sent_to_the_api(
    app, monkeypatch
):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    body = b'{"name": "' + b"x" * (50 * 1024 * 1024) + b'"}'
    response = app.test_client().post(
        "/api/v1/templates", data=body, content_type="application/json"
    )
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json["error"]["code"] == "request_entity_too_large"
    page = app.test_client().post("/login", data=body, content_type="text/plain")
    assert page.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert page.mimetype == "text/html"


def test_client_and_outsiders_are_refused_when_uploading_or_sharing(
    demo, api_as, filed, screened_lawyer
):
    before = snapshot()
    client = api_as(demo.user(Role.CLIENT))
    assert api_upload(client, demo.matter.id, (PDF, "mine.pdf")).status_code == 403
    patch = client.patch(f"/documents/{filed['letter'].id}", json={"sharedWithClient": False})
    assert patch.status_code == 403
    walled = api_as(screened_lawyer)
    assert api_upload(walled, demo.matter.id, (PDF, "w.pdf")).status_code == 404
    assert snapshot() == before


def test_api_upload_files_shared_and_lists_every_version_when_staff_send_files(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    created = api_upload(lawyer, demo.matter.id, (PNG, "scan.png"), query="?shared=true")
    assert created.status_code == HTTPStatus.CREATED, created.json
    [scan] = created.json["items"]
    assert scan["contentType"] == "image/png" and scan["sharedWithClient"] is True
    newer = api_upload(
        lawyer, demo.matter.id, (PNG + b"1", "scan.png"), query=f"?replaces={scan['id']}"
    )
    assert newer.status_code == HTTPStatus.CREATED, newer.json
    assert newer.json["items"][0]["version"] == 2
    assert newer.json["items"][0]["lineageId"] == scan["id"]
    assert newer.json["items"][0]["sharedWithClient"] is True
    listed = lawyer.get(f"/matters/{demo.matter.id}/documents").json
    assert [d["version"] for d in listed["items"]][:2] == [2, 1]
    unshared = lawyer.patch(f"/documents/{scan['id']}", json={"sharedWithClient": False})
    assert unshared.status_code == 200 and unshared.json["sharedWithClient"] is False


def test_deleting_a_matter_removes_its_files_but_keeps_those_another_matter_names(
    app, demo, make_matter, filed, monkeypatch
):
    monkeypatch.setattr(documents, "RECENT_WRITE_SECONDS", 0)
    other = make_matter(demo.user(Role.LAWYER), reference="KEEP-1")
    kept = file_document(
        org_id=demo.org.id,
        matter_id=other.id,
        name="copy.txt",
        data=b"Strategy\n",  # the memo's bytes: one stored file for both
        content_type="text/plain",
        source=DocumentSource.UPLOAD,
    )
    db.session.commit()
    root = Path(app.config["UPLOAD_DIR"])
    letter_file = root / filed["letter"].storage_path
    memo_file = root / kept.storage_path
    assert letter_file.is_file() and memo_file.is_file()

    matters.delete_matter(demo.user(Role.ADMIN), demo.matter.id)
    assert db.session.scalar(db.select(Job).where(Job.kind == PURGE_FILES)) is not None
    drain("test-worker")

    assert not letter_file.exists()
    assert memo_file.is_file()


def test_a_clients_upload_to_a_request_is_shared_with_them_when_filed(demo, api_as):
    def step(key: str) -> InstanceStep:
        db.session.expire_all()
        return db.session.scalar(db.select(InstanceStep).where(InstanceStep.key == key))

    conflict = step("conflict_check")
    for item in conflict.action_config["items"]:
        steps.perform(demo.user(Role.PARALEGAL), conflict.id, steps.Tick(item, True))
    approval = step("engagement_approval")
    steps.perform(demo.user(Role.LAWYER), approval.id, steps.Complete({"approved": True}))
    upload = steps.IncomingFile("passport.png", "image/png", PNG)
    steps.perform(demo.user(Role.CLIENT), step("identity_documents").id, steps.Upload([upload]))

    listed = api_as(demo.user(Role.CLIENT)).get(f"/matters/{demo.matter.id}/documents").json
    mine = [d for d in listed["items"] if d["name"] == "passport.png"]
    assert len(mine) == 1 and mine[0]["sharedWithClient"] is True
    assert (
        mine[0]["contentType"] == "image/png"
        and mine[0]["uploadedById"] == demo.user(Role.CLIENT).id
    )
