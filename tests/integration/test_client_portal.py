"""The client's view is a portal, not a staff page (issue 14, point 5): what is asked of
them, what they have done and what happens next, in plain words — never engine statuses,
staff audit entries, template keys or "Claim for me"; each action confirms what was sent;
after an upload they can add another file (docs/client-links.md)."""

import io
import re
from http import HTTPStatus

from sqlalchemy import select, update

from tests.integration.engine_support import fresh
from tests.integration.support import PDF, count
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document, InstanceStep, WorkflowEvent, WorkflowInstance
from webapp.services import steps

TAGS = re.compile(r"<[^>]+>")
# Engine statuses (and their staff labels), staff-only controls and records, template keys.
FORBIDDEN = (
    "Failed",
    "Waiting for input",
    "WaitingForInput",
    "IN_PROGRESS",
    "In progress",
    "READY",
    "PENDING",
    "COMPLETED",
    "Running",
    "Claim for me",
    "Audit trail",
    "changed the workflow status",
    "client_onboarding",
    "identity_documents",
    "conflict_check",
    "engagement_approval",
)


def text_of(response) -> str:
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", TAGS.sub(" ", html.split("<main", 1)[1]))


def _step(key: str) -> InstanceStep:
    found = db.session.scalar(select(InstanceStep).where(InstanceStep.key == key))
    db.session.refresh(found)
    return found


def runner_path(demo) -> str:
    instance = db.session.scalar(select(WorkflowInstance))
    return f"/matters/{demo.matter.id}/workflows/{instance.id}"


def pages(web, demo) -> dict[str, str]:
    paths = ("/inbox", "/matters", f"/matters/{demo.matter.id}/workflows", runner_path(demo))
    found = {}
    for path in paths:
        response = web.get(path)
        assert response.status_code == HTTPStatus.OK, path
        found[path] = text_of(response)
    return found


def forbidden_on(found: dict[str, str]) -> list[str]:
    return [
        f"{path}: {word!r}" for path, text in found.items() for word in FORBIDDEN if word in text
    ]


def up_to_the_upload(demo) -> None:
    paralegal, lawyer = demo.user(Role.PARALEGAL), demo.user(Role.LAWYER)
    conflicts = _step("conflict_check")
    for item in conflicts.action_config["items"]:
        steps.perform(paralegal, conflicts.id, steps.Tick(item, True))
    steps.perform(lawyer, _step("engagement_approval").id, steps.Complete({"approved": True}))
    fresh()


def send(web, path: str, name: str = "passport.pdf", data: bytes = PDF):
    return web.post(
        path,
        data={"csrf_token": web.csrf, "file": [(io.BytesIO(data), name)]},
        content_type="multipart/form-data",
    )


def test_client_pages_show_no_engine_words_keys_or_staff_controls_at_any_stage(demo, login_as):
    client = login_as(demo.user(Role.CLIENT))
    assert forbidden_on(pages(client, demo)) == []  # before anything is asked of them

    up_to_the_upload(demo)
    now = pages(client, demo)
    assert forbidden_on(now) == []
    runner = now[runner_path(demo)]
    assert "Asked of you" in runner and "Upload proof of identity" in runner
    assert "What happens next" in runner
    assert "Run conflict check" not in runner  # the firm's own steps are not theirs

    send(client, f"/steps/{_step('identity_documents').id}/upload")
    assert forbidden_on(pages(client, demo)) == []

    steps.perform(demo.user(Role.CLIENT), _step("engagement_letter").id, steps.Start())
    fresh()  # a signature started on the provider's page: in progress, in engine terms
    assert forbidden_on(pages(client, demo)) == []

    db.session.execute(update(WorkflowInstance).values(status="Failed"))
    fresh()
    failed = pages(client, demo)
    assert forbidden_on(failed) == []
    assert "the firm is looking into it" in failed[runner_path(demo)]


def test_upload_is_confirmed_with_the_file_its_size_and_when_it_was_received(demo, login_as):
    up_to_the_upload(demo)
    client = login_as(demo.user(Role.CLIENT))
    step = _step("identity_documents")
    answer = send(client, f"/steps/{step.id}/upload")
    assert answer.status_code == HTTPStatus.SEE_OTHER
    page = text_of(client.get(runner_path(demo)))
    [document] = db.session.scalars(select(Document).where(Document.step_id == step.id)).all()
    received = document.created_at
    assert (
        f"We received passport.pdf (65 bytes) on {received.day} {received:%b %Y} at "
        f"{received:%H:%M} UTC." in page
    )
    assert "What you have done" in page
    assert "Sign the engagement letter" in page.split("Asked of you", 1)[1]


def test_client_adds_another_file_after_the_upload_and_the_step_stays_done(demo, login_as):
    up_to_the_upload(demo)
    client = login_as(demo.user(Role.CLIENT))
    step = _step("identity_documents")
    send(client, f"/steps/{step.id}/upload")
    assert "Add another file" in text_of(client.get(runner_path(demo)))

    answer = send(client, f"/steps/{step.id}/files", "proof-of-address.pdf")
    assert answer.status_code == HTTPStatus.SEE_OTHER
    step = _step("identity_documents")
    assert step.action_state == "COMPLETED"
    assert [f["name"] for f in step.action_data["files"]] == [
        "passport.pdf",
        "proof-of-address.pdf",
    ]
    assert count(Document, Document.step_id == step.id) == 2
    [added] = db.session.scalars(
        select(WorkflowEvent).where(WorkflowEvent.event_type == "step.file_added")
    ).all()
    assert added.actor_id == demo.user(Role.CLIENT).id
    assert [f["name"] for f in added.payload["files"]] == ["proof-of-address.pdf"]
    page = text_of(client.get(runner_path(demo)))
    assert "We received proof-of-address.pdf" in page and "We received passport.pdf" in page


def test_adding_a_file_is_refused_and_changes_nothing_before_the_upload_or_for_staff(
    demo, login_as
):
    up_to_the_upload(demo)
    step = _step("identity_documents")
    client = login_as(demo.user(Role.CLIENT))
    before = count(Document)
    early = send(client, f"/steps/{step.id}/files", "early.pdf")
    assert early.status_code == HTTPStatus.CONFLICT  # not answered yet: upload first
    send(client, f"/steps/{step.id}/upload")
    lawyer = login_as(demo.user(Role.LAWYER))
    refused = send(lawyer, f"/steps/{step.id}/files", "lawyer.pdf")
    assert refused.status_code == HTTPStatus.FORBIDDEN
    wrong = send(client, f"/steps/{step.id}/files", "notes.txt", b"plain words")
    assert wrong.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert count(Document) == before + 1


def test_client_cannot_read_the_firms_audit_trail_of_a_workflow(demo, login_as):
    client = login_as(demo.user(Role.CLIENT))
    assert client.get(runner_path(demo) + "/audit?before=1000").status_code == HTTPStatus.NOT_FOUND


def test_api_adds_a_file_to_an_answered_request_and_refuses_an_unanswered_one(demo, api_as):
    up_to_the_upload(demo)
    step = _step("identity_documents")
    client = api_as(demo.user(Role.CLIENT))

    def files(name: str) -> object:
        return client.post(
            f"/steps/{step.id}/files",
            data={"file": [(io.BytesIO(PDF), name)]},
            content_type="multipart/form-data",
        )

    seeded = count(Document)  # the demo's engagement letter
    early = files("early.pdf")
    assert early.status_code == HTTPStatus.CONFLICT
    assert early.json["error"]["code"] == "conflict"
    assert count(Document) == seeded
    first = client.post(
        f"/steps/{step.id}/complete",
        data={"file": [(io.BytesIO(PDF), "passport.pdf")]},
        content_type="multipart/form-data",
    )
    assert first.status_code == HTTPStatus.OK
    more = files("utility-bill.pdf")
    assert more.status_code == HTTPStatus.OK
    answered = next(s for s in more.json["steps"] if s["id"] == step.id)
    assert answered["actionState"] == "COMPLETED"
    assert [f["name"] for f in answered["actionData"]["files"]] == [
        "passport.pdf",
        "utility-bill.pdf",
    ]
    empty = client.post(f"/steps/{step.id}/files", data={}, content_type="multipart/form-data")
    assert empty.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert count(Document) == seeded + 2
