"""Document templates through the API: a Word template with a loop and a condition filled
for a matter (read back with python-docx and pypdf), publishing refused while a field is
unknown, versions, and the refusals (unknown, other firm, bad format, wrong role)."""

from http import HTTPStatus

import pytest
from sqlalchemy import func, select

from tests.integration.document_template_support import (
    text_of_docx,
    text_of_pdf,
    upload,
    word_file,
)
from tests.integration.engine_support import publish, run_worker, start, step
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document, DocumentTemplate, WorkflowEvent


@pytest.fixture
def office(make_org, make_user, make_matter, api_as):
    org = make_org("Hale & Partners")
    lawyer = make_user(org, Role.LAWYER, "Lena Lawyer")
    client = make_user(org, Role.CLIENT, "Carla Client")
    other_client = make_user(org, Role.CLIENT, "Omar Other")
    paralegal = make_user(org, Role.PARALEGAL, "Paul Paralegal")
    matter = make_matter(lawyer, client, other_client, paralegal, reference="HP-042")
    matter.title = "Estate of Ada Lovelace"
    db.session.commit()
    return {
        "org": org,
        "matter": matter,
        "lawyer": api_as(lawyer),
        "client": api_as(client),
        "paralegal": api_as(paralegal),
        "people": {"lawyer": lawyer, "client": client, "other": other_client},
    }


def render(api, template_id: int, matter_id: int, fmt: str, **extra):
    return api.post(
        f"/document-templates/{template_id}/render",
        json={"matterId": matter_id, "format": fmt, **extra},
    )


def test_word_template_with_a_loop_and_a_condition_fills_the_matters_values_when_rendered(
    office,
):
    lawyer, matter = office["lawyer"], office["matter"]
    created = upload(lawyer, "Client letter", word_file())
    assert created.status_code == HTTPStatus.CREATED, created.json
    assert created.json["format"] == "docx" and created.json["status"] == "DRAFT"
    assert {"path": "matter.parties[].name", "known": True} in created.json["fields"]

    docx = render(lawyer, created.json["id"], matter.id, "docx")
    assert docx.status_code == HTTPStatus.OK, docx.get_data(as_text=True)[:300]
    assert docx.mimetype.endswith("wordprocessingml.document")
    text = text_of_docx(docx.data)
    for value in (
        office["org"].name,
        "Re: Estate of Ada Lovelace (HP-042)",
        "Party: Carla Client <",
        "Party: Omar Other <",
        "Assisted by Paul Paralegal.",
        "Responsible lawyer: Lena Lawyer",
        "Retainer: USD 1,250.00",
    ):
        assert value in text
    assert "No paralegal on this matter." not in text  # the condition's other branch
    assert "{{" not in text and "{%" not in text

    pdf = render(lawyer, created.json["id"], matter.id, "pdf")
    assert pdf.status_code == HTTPStatus.OK
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    pdf_text = text_of_pdf(pdf.data)
    for value in ("Estate of Ada Lovelace (HP-042)", "Carla Client", "Omar Other", "Lena Lawyer"):
        assert value in pdf_text
    assert "{{" not in pdf_text
    # A preview changes nothing: no document is filed.
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_html_template_renders_to_pdf_with_escaped_values_when_previewed(office):
    lawyer, matter = office["lawyer"], office["matter"]
    matter.title = "Smith <& Sons>"
    db.session.commit()
    body = (
        "<h1>{{ matter.title }}</h1><p>{% for p in matter.parties %}{{ p.name }}; {% endfor %}</p>"
    )
    created = lawyer.post(
        "/document-templates", json={"name": "Note", "format": "html", "body": body}
    )
    assert created.status_code == HTTPStatus.CREATED, created.json
    pdf = render(lawyer, created.json["id"], matter.id, "pdf")
    assert pdf.status_code == HTTPStatus.OK
    text = text_of_pdf(pdf.data)
    assert "Smith <& Sons>" in text and "Carla Client; Omar Other;" in text


def test_publishing_a_template_that_uses_an_unknown_field_is_refused_and_names_it(office):
    lawyer = office["lawyer"]
    body = "<p>{{ matter.title }} {{ matter.nonexistent }}</p>"
    created = lawyer.post(
        "/document-templates", json={"name": "Bad", "format": "html", "body": body}
    )
    assert created.status_code == HTTPStatus.CREATED, created.json
    fields = lawyer.get(f"/document-templates/{created.json['id']}/fields")
    assert fields.status_code == HTTPStatus.OK
    assert fields.json["unknown"] == ["matter.nonexistent"]
    assert {"path": "matter.title", "known": True} in fields.json["items"]

    published = lawyer.post(f"/document-templates/{created.json['id']}/publish")
    assert published.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, published.json
    assert "matter.nonexistent" in published.json["error"]["message"]
    assert published.json["error"]["details"][0]["field"] == "matter.nonexistent"
    assert db.session.get(DocumentTemplate, created.json["id"]).status == "DRAFT"


def test_editing_a_published_template_creates_the_next_draft_when_patched(office):
    lawyer = office["lawyer"]
    created = lawyer.post(
        "/document-templates",
        json={"name": "Memo", "format": "html", "body": "<p>{{ matter.title }}</p>"},
    )
    template_id = created.json["id"]
    assert lawyer.post(f"/document-templates/{template_id}/publish").status_code == HTTPStatus.OK
    edited = lawyer.patch(
        f"/document-templates/{template_id}", json={"body": "<p>{{ matter.reference }}</p>"}
    )
    assert edited.status_code == HTTPStatus.CREATED, edited.json
    assert edited.json["version"] == 2 and edited.json["status"] == "DRAFT"
    assert edited.json["key"] == created.json["key"]
    first = lawyer.get(f"/document-templates/{template_id}").json
    assert first["body"] == "<p>{{ matter.title }}</p>" and first["status"] == "PUBLISHED"
    again = lawyer.patch(f"/document-templates/{template_id}", json={"name": "Memo 2"})
    assert again.status_code == HTTPStatus.CONFLICT  # the draft exists: edit that one
    events = db.session.scalars(
        select(WorkflowEvent.event_type).where(WorkflowEvent.org_id == office["org"].id)
    ).all()
    assert "document_template.published" in events
    assert "document_template.version_created" in events


def test_a_file_that_is_not_a_word_document_is_refused_with_a_clear_message(office):
    response = upload(office["lawyer"], "Fake", b"MZ\x90\x00 not a word file")
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json["error"]["message"] == "The file is not a Word document (.docx)."
    assert db.session.scalar(select(func.count()).select_from(DocumentTemplate)) == 0


def test_a_template_using_set_is_refused_when_created(office):
    body = "{% set x = matter.title %}{{ x }}"
    response = office["lawyer"].post(
        "/document-templates", json={"name": "Set", "format": "html", "body": body}
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "set" in response.json["error"]["message"]


@pytest.fixture
def html_template(office) -> int:
    created = office["lawyer"].post(
        "/document-templates",
        json={"name": "Memo", "format": "html", "body": "<p>{{ matter.title }}</p>"},
    )
    return created.json["id"]


def test_refusals_answer_in_plain_words_and_change_nothing_when_asked(
    office, html_template, second_firm, api_as
):
    lawyer, matter = office["lawyer"], office["matter"]
    assert lawyer.get("/document-templates/999999").status_code == HTTPStatus.NOT_FOUND
    assert render(lawyer, 999999, matter.id, "pdf").status_code == HTTPStatus.NOT_FOUND
    stranger = api_as(second_firm["lawyer"])
    assert stranger.get(f"/document-templates/{html_template}").status_code == HTTPStatus.NOT_FOUND
    assert render(stranger, html_template, second_firm["matter"].id, "pdf").status_code == 404
    assert stranger.post(f"/document-templates/{html_template}/publish").status_code == 404
    # A matter of another firm reads as not there.
    assert render(lawyer, html_template, second_firm["matter"].id, "pdf").status_code == 404

    bad_format = render(lawyer, html_template, matter.id, "odt")
    assert bad_format.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    html_to_word = render(lawyer, html_template, matter.id, "docx")
    assert html_to_word.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert html_to_word.json["error"]["message"] == "An HTML template renders to PDF only."
    bad_body = lawyer.post("/document-templates", json={"name": "X", "format": "pdf", "body": "x"})
    assert bad_body.status_code == HTTPStatus.UNPROCESSABLE_ENTITY

    for role in ("client", "paralegal"):
        api = office[role]
        assert api.get("/document-templates").status_code == HTTPStatus.FORBIDDEN
        assert render(api, html_template, matter.id, "pdf").status_code == HTTPStatus.FORBIDDEN
        refused = api.post(
            "/document-templates", json={"name": "Mine", "format": "html", "body": "<p>x</p>"}
        )
        assert refused.status_code == HTTPStatus.FORBIDDEN
    assert db.session.scalar(select(func.count()).select_from(DocumentTemplate)) == 1


def test_a_preview_against_a_matter_the_lawyer_is_not_on_reads_as_not_found(
    office, html_template, make_user, make_matter
):
    elsewhere = make_matter(make_user(office["org"], Role.LAWYER))
    assert render(office["lawyer"], html_template, elsewhere.id, "pdf").status_code == 404


def test_a_preview_with_a_workflow_reads_its_parameters_and_refuses_one_of_another_matter(
    office, make_matter
):
    lawyer, matter = office["lawyer"], office["matter"]
    body = "<p>{{ instance.title }}: {{ instance.parameters.court }} / {{ steps.note.message }}</p>"
    created = lawyer.post("/document-templates", json={"name": "W", "format": "html", "body": body})
    assert created.status_code == HTTPStatus.CREATED, created.json
    template_id = publish(lawyer, "Flow", [step("note", config={"message": "Filed"})])
    instance = start(lawyer, template_id, matter.id, title="Probate", parameters={"court": "Leeds"})
    run_worker()
    pdf = render(lawyer, created.json["id"], matter.id, "pdf", instanceId=instance["id"])
    assert pdf.status_code == HTTPStatus.OK, pdf.get_data(as_text=True)[:300]
    assert "Probate: Leeds / Filed" in text_of_pdf(pdf.data)

    without = render(lawyer, created.json["id"], matter.id, "pdf")
    assert without.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "court" in without.json["error"]["message"]

    other = make_matter(office["people"]["lawyer"])
    elsewhere = render(lawyer, created.json["id"], other.id, "pdf", instanceId=instance["id"])
    assert elsewhere.status_code == HTTPStatus.NOT_FOUND
