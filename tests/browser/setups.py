"""Data the operations tests start from, made through the services (run them inside
`live_server.run`): a workflow whose automated step ran out of attempts."""

from sqlalchemy import select

from webapp.engine.definition import RetryPolicy, StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, User, WorkflowInstance
from webapp.services.instances import instantiate
from webapp.services.templates import create_template, publish_template
from webapp.worker import drain

# Loopback is refused unless HTTP_ALLOW_PRIVATE is set, so the call fails at once.
REFUSED_URL = "http://127.0.0.1:9/engagement"


def user(role: str) -> User:
    return db.session.scalar(select(User).where(User.role == role))


def demo_matter() -> Matter:
    return db.session.scalar(select(Matter).where(Matter.reference == "DEMO-001"))


def e_filing_steps() -> list[StepDefinition]:
    """A person's step beside an optional webhook call with a single attempt: when the
    call fails, its job is dead and the workflow stays open, so an admin may retry it."""
    return [
        StepDefinition(
            key="prepare_filing",
            title="Prepare the filing bundle",
            action_type="CHECKLIST",
            action_config={"items": ["Collate exhibits", "Paginate bundle"]},
            role_scope=Role.PARALEGAL,
            depends_on=[],
        ),
        StepDefinition(
            key="notify_court",
            title="Notify the e-filing service",
            action_type="core.http",
            action_config={"method": "POST", "url": REFUSED_URL, "timeout": 2},
            role_scope=Role.LAWYER,
            required=False,
            depends_on=[],
            retry=RetryPolicy(max_attempts=1, backoff_seconds=0),
        ),
    ]


def dead_letter_workflow() -> int:
    """Publish and start the e-filing workflow on DEMO-001, then let the worker fail it."""
    lawyer = user(Role.LAWYER)
    template = create_template(lawyer, "Court e-filing", e_filing_steps(), key="e_filing")
    publish_template(lawyer, template.id)
    instance, _created = instantiate(lawyer, template.id, demo_matter().id, title="E-filing")
    drain("browser-test-worker")
    return instance.id


def onboarding_id() -> int:
    return db.session.scalar(
        select(WorkflowInstance.id).where(WorkflowInstance.title == "Onboarding — Acme Corp")
    )
