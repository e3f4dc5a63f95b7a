"""Demo data: the firm, its four people, a matter, published templates (the engagement
letter's Word template among them), a running instance, and one trigger of each kind."""

import functools
from pathlib import Path

from sqlalchemy import func, select

from webapp.adapters.storage import IncomingFile
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import DocumentSource, MatterMember, Organization, User
from webapp.persistence.transaction import transactional
from webapp.services import triggers
from webapp.services.auth import new_user
from webapp.services.document_templates import (
    create_document_template,
    publish_document_template,
)
from webapp.services.documents import file_document
from webapp.services.instances import instantiate
from webapp.services.matters import create_matter
from webapp.services.templates import create_template, publish_template

DEMO_PASSWORD = "demo-password"
DEMO_PEOPLE = (
    ("admin@demo.test", "Avery Admin", Role.ADMIN),
    ("lawyer@demo.test", "Lee Lawyer", Role.LAWYER),
    ("paralegal@demo.test", "Pat Paralegal", Role.PARALEGAL),
    ("client@demo.test", "Casey Client", Role.CLIENT),
)

ONBOARDING_STEPS = [
    StepDefinition(
        key="conflict_check",
        title="Run conflict check",
        action_type="CHECKLIST",
        action_config={
            "items": ["Search client database", "Search adverse parties", "Record result"]
        },
        role_scope=Role.PARALEGAL,
        due_in="P2D",
    ),
    StepDefinition(
        key="engagement_approval",
        title="Approve engagement",
        action_type="APPROVAL_LAWYER",
        action_config={"message": "Approve taking on this matter?"},
        role_scope=Role.LAWYER,
    ),
    StepDefinition(
        key="identity_documents",
        title="Upload proof of identity",
        action_type="REQUEST_DOC_CLIENT",
        action_config={
            "requestText": "A passport or driving licence, as PDF or image.",
            "acceptedTypes": ["pdf", "png", "jpg"],
        },
        role_scope=Role.CLIENT,
    ),
    StepDefinition(
        key="engagement_letter",
        title="Sign the engagement letter",
        action_type="SIGNATURE_CLIENT",
        # seed_demo points it at a real document (signing_steps); this names the step a
        # render action would be, so the template reads sensibly on its own.
        action_config={"documentFrom": "draft_letter"},
        role_scope=Role.CLIENT,
    ),
    StepDefinition(
        key="retainer",
        title="Pay the retainer",
        action_type="PAYMENT_CLIENT",
        action_config={"amount": "1500.00", "currency": "USD"},
        role_scope=Role.CLIENT,
    ),
]


APPROVED = "steps.approve_letter.approved"
LETTER_TEMPLATE_KEY = "engagement_letter"
NEW_MATTER_ONBOARDING_KEY = "new_matter_onboarding"
# The render step's config wherever a demo template prepares the letter for its matter.
LETTER_RENDERING = {
    "templateKey": LETTER_TEMPLATE_KEY,
    "format": "pdf",
    "name": "Engagement letter {{ matter.reference }}",
    "shareWithClient": True,
}
# A Word template with merge fields, a loop over the parties and a condition (our own file).
LETTER_FILE = Path(__file__).resolve().parent.parent / "demo" / "engagement_letter.docx"
# Automation and branching: a decision, then the letter rendered from a Word template and
# emailed with it attached, a wait and a call — or an explanation.
ENGAGEMENT_LETTER_STEPS = [
    StepDefinition(
        key="approve_letter",
        title="Approve the engagement letter",
        action_type="APPROVAL_LAWYER",
        action_config={"message": "Send the engagement letter for {{ matter.reference }}?"},
        role_scope=Role.LAWYER,
    ),
    StepDefinition(
        key="render_letter",
        title="Prepare the engagement letter",
        action_type="core.render_document",
        action_config=LETTER_RENDERING,
        role_scope=Role.LAWYER,
        depends_on=["approve_letter"],
        condition=APPROVED,
    ),
    StepDefinition(
        key="send_letter",
        title="Email the engagement letter",
        action_type="core.email",
        action_config={
            "to": ["client@demo.test"],
            "subject": "Your engagement letter — {{ matter.title }}",
            "body": "Please find attached our engagement letter for {{ matter.reference }} "
            "({{ steps.render_letter.name }}): it sets out the terms on which we will act "
            "for you.",
            "attachments": ["{{ steps.render_letter.documentId }}"],
        },
        role_scope=Role.LAWYER,
        depends_on=["render_letter"],
        condition=APPROVED,
    ),
    StepDefinition(
        key="explain_decision",
        title="Tell the client we cannot take the matter on",
        action_type="core.email",
        action_config={
            "to": ["client@demo.test"],
            "subject": "About {{ matter.reference }}",
            "body": "{{ steps.approve_letter.comment or 'We are unable to act for you.' }}",
        },
        role_scope=Role.LAWYER,
        depends_on=["approve_letter"],
        condition=f"!{APPROVED}",
    ),
    StepDefinition(
        key="wait_for_reply",
        title="Give the client three days",
        action_type="core.delay",
        action_config={"duration": "P3D"},
        role_scope=Role.LAWYER,
        depends_on=["send_letter"],
        condition=APPROVED,
    ),
    StepDefinition(
        key="follow_up_call",
        title="Call the client about the letter",
        action_type="CHECKLIST",
        action_config={"items": ["Confirm the letter arrived", "Answer their questions"]},
        role_scope=Role.PARALEGAL,
        depends_on=["wait_for_reply"],
        condition=APPROVED,
    ),
]


REVIEW_STEPS = [
    StepDefinition(
        key="review",
        title="Review {{ matter.reference }}",
        action_type="CHECKLIST",
        action_config={"items": ["Check the open steps", "Update the client", "Record the time"]},
        role_scope=Role.LAWYER,
    ),
]


def demo_triggers(admin: User, lawyer: User) -> None:
    """A webhook that opens a matter from an intake form and starts its engagement
    letter, onboarding for each new matter (the intake's too), and a weekly review of
    every open demo matter."""
    definitions = [
        triggers.Definition(
            name="New intake",
            kind="webhook",
            template_key="engagement_letter",
            matter={"create": True, "ownerId": lawyer.id},
        ),
        triggers.Definition(
            name="Matter review",
            kind="schedule",
            template_key="matter_review",
            matter={"filter": 'matter.reference.startsWith("DEMO-")'},
            schedule={"cron": "0 9 * * 1", "timezone": "Europe/London", "missed": "skip"},
        ),
        triggers.Definition(
            name="Matter opened → onboarding",
            kind="event",
            template_key=NEW_MATTER_ONBOARDING_KEY,
            event={"type": "matter.created"},
        ),
    ]
    for definition in definitions:
        triggers.perform(admin, None, triggers.Create(definition))


RENDER_ACTION = "core.render_document"
DEMO_LETTER = """<html><head><style>
@page { size: A4; margin: 25mm; } body { font-family: serif; font-size: 12pt; line-height: 1.5; }
h1 { font-size: 16pt; } .from { color: #555; }
</style></head><body>
<p class="from">Demo Law LLP</p>
<h1>Engagement letter — DEMO-001, Acme Corp v. Widget Ltd</h1>
<p>Dear Casey Client,</p>
<p>Thank you for asking us to act for Acme Corp. This letter sets out the scope of our work,
who will do it and how we charge: Lee Lawyer is responsible for the matter, at the hourly
rates attached, with a retainer of USD 1,500.00 held on account.</p>
<p>Please sign this letter to confirm that you accept these terms.</p>
<p>Yours sincerely,<br>Lee Lawyer</p>
</body></html>"""


@functools.cache
def demo_letter_pdf() -> bytes:
    """The demo's engagement letter as a PDF, made once per process."""
    from weasyprint import HTML  # loaded on first use: it takes a second to import

    return bytes(HTML(string=DEMO_LETTER).write_pdf())


def signing_steps(steps: list[StepDefinition], document_id: int | None) -> list[StepDefinition]:
    """The signature step signs what the render step before it made, when the template
    has one (documentFrom); otherwise the document `document_id` of the demo matter."""
    rendered: str | None = None
    chosen = []
    for step in steps:
        if step.action_type == RENDER_ACTION:
            rendered = step.key
        if step.action_type == "SIGNATURE_CLIENT":
            source = {"documentFrom": rendered} if rendered else {"documentId": document_id}
            step = step.model_copy(update={"action_config": source})
        chosen.append(step)
    return chosen


def new_matter_onboarding_steps() -> list[StepDefinition]:
    """Onboarding for a matter the demo did not seed (the "matter opened" trigger starts
    it): the engagement letter is rendered for that matter just before the client signs
    it, where the seeded onboarding signs the letter already on DEMO-001."""
    prepare = StepDefinition(
        key="prepare_letter",
        title="Prepare the engagement letter",
        action_type=RENDER_ACTION,
        action_config=LETTER_RENDERING,
        role_scope=Role.LAWYER,
    )
    steps: list[StepDefinition] = []
    for step in ONBOARDING_STEPS:
        if step.action_type == "SIGNATURE_CLIENT":
            steps.append(prepare)
        steps.append(step)
    return signing_steps(steps, None)


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(Organization))


@transactional
def seed_demo() -> Organization:
    org = Organization(name="Demo Law LLP")
    db.session.add(org)
    db.session.flush()
    people = {
        role: new_user(org.id, email, name, role, DEMO_PASSWORD)
        for email, name, role in DEMO_PEOPLE
    }
    lawyer: User = people[Role.LAWYER]
    matter = create_matter(lawyer, "DEMO-001", "Acme Corp v. Widget Ltd")
    for role in (Role.ADMIN, Role.PARALEGAL, Role.CLIENT):
        matter.members.append(MatterMember(user_id=people[role].id, role=role))
    letter_pdf = file_document(
        org_id=org.id,
        matter_id=matter.id,
        name="Engagement letter.pdf",
        data=demo_letter_pdf(),
        content_type="application/pdf",
        source=DocumentSource.UPLOAD,
        uploaded_by_id=lawyer.id,
        shared_with_client=True,
    )
    template = create_template(
        lawyer,
        "Client onboarding",
        signing_steps(ONBOARDING_STEPS, letter_pdf.id),
        description="Conflict check, engagement approval, ID, engagement letter and retainer.",
        key="client_onboarding",
    )
    publish_template(lawyer, template.id)
    instantiate(lawyer, template.id, matter.id, title="Onboarding — Acme Corp")
    letter_file = IncomingFile("engagement_letter.docx", "", LETTER_FILE.read_bytes())
    letter_document = create_document_template(
        lawyer, "Engagement letter", "docx", upload=letter_file, key=LETTER_TEMPLATE_KEY
    )
    publish_document_template(lawyer, letter_document.id)
    onboarding = create_template(
        lawyer,
        "New matter onboarding",
        new_matter_onboarding_steps(),
        description="Started for each new matter: the onboarding, with the engagement letter "
        "prepared for the matter before the client signs it.",
        key=NEW_MATTER_ONBOARDING_KEY,
    )
    publish_template(lawyer, onboarding.id)
    letter = create_template(
        lawyer,
        "Engagement letter",
        ENGAGEMENT_LETTER_STEPS,
        description="Approve, then render the letter, email it, wait three days and call — "
        "or explain.",
        key="engagement_letter",
    )
    publish_template(lawyer, letter.id)
    review = create_template(
        lawyer,
        "Matter review",
        REVIEW_STEPS,
        description="A lawyer's weekly look at a matter.",
        key="matter_review",
    )
    publish_template(lawyer, review.id)
    demo_triggers(people[Role.ADMIN], lawyer)
    return org
