"""Demo data: the firm, its four people, a matter, a published template and a running instance."""

from sqlalchemy import func, select

from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import MatterMember, Organization, User
from webapp.services.auth import new_user
from webapp.services.base import transactional
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
        action_config={"documentId": "engagement-letter"},
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
    template = create_template(
        lawyer,
        "Client onboarding",
        ONBOARDING_STEPS,
        description="Conflict check, engagement approval, ID, engagement letter and retainer.",
        key="client_onboarding",
    )
    publish_template(lawyer, template.id)
    instantiate(lawyer, template.id, matter.id, title="Onboarding — Acme Corp")
    return org
