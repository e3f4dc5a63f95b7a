"""Bench data, created through the same services a person's requests go through."""

from dataclasses import dataclass

from sqlalchemy import select

from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, Organization, User
from webapp.persistence.transaction import transactional
from webapp.services.auth import create_token, new_user
from webapp.services.instances import instantiate
from webapp.services.matters import create_matter
from webapp.services.templates import create_template, publish_template

CHECKLIST_ITEMS = ["Read the file", "Check the facts", "Sign off"]
COMPLETE_PAYLOAD = {"checkedItems": CHECKLIST_ITEMS}
PASSWORD = "bench-password"


@dataclass(frozen=True)
class Firm:
    org_id: int
    lawyer_id: int
    matter_id: int
    token: str


@transactional
def _people_and_matter() -> tuple[int, int]:
    org = Organization(name="Bench Law LLP")
    db.session.add(org)
    db.session.flush()
    lawyer = new_user(org.id, "lawyer@bench.test", "Bench Lawyer", Role.LAWYER, PASSWORD)
    new_user(org.id, "admin@bench.test", "Bench Admin", Role.ADMIN, PASSWORD)
    matter = create_matter(lawyer, "BENCH-001", "Bench v. Clock")
    db.session.flush()
    return lawyer.id, matter.id


def create_firm() -> Firm:
    """A firm with a lawyer who owns one matter, and an API token for that lawyer."""
    lawyer_id, matter_id = _people_and_matter()
    lawyer = db.session.get(User, lawyer_id)
    token = create_token(lawyer.email, "bench")
    return Firm(lawyer.org_id, lawyer_id, matter_id, token)


def lawyer_of(firm: Firm) -> User:
    return db.session.get(User, firm.lawyer_id)


def checklist_chain(count: int) -> list[StepDefinition]:
    """`count` checklist steps, each waiting on the one before it (dependsOn null)."""
    return [
        StepDefinition(
            key=f"check_{n}",
            title=f"Check {n}",
            action_type="CHECKLIST",
            action_config={"items": CHECKLIST_ITEMS},
            role_scope=Role.LAWYER,
        )
        for n in range(1, count + 1)
    ]


def echo_fan_out(count: int) -> list[StepDefinition]:
    """`count` automated echo steps with no prerequisite: all due at once."""
    return [
        StepDefinition(
            key=f"echo_{n}",
            title=f"Echo {n}",
            action_type="core.echo",
            action_config={"message": f"hi {n}"},
            role_scope=Role.LAWYER,
            depends_on=[],
        )
        for n in range(1, count + 1)
    ]


def published_template(firm: Firm, name: str, steps: list[StepDefinition]) -> int:
    lawyer = lawyer_of(firm)
    template = create_template(lawyer, name, steps)
    publish_template(lawyer, template.id)
    return template.id


@transactional
def start_instances(firm: Firm, template_id: int, count: int) -> list[int]:
    """`count` running instances in one commit (the bench's setup, not what it measures)."""
    lawyer = lawyer_of(firm)
    ids = []
    for n in range(count):
        instance, _ = instantiate(lawyer, template_id, firm.matter_id, title=f"Bench {n}")
        ids.append(instance.id)
    return ids


def refresh_statistics() -> None:
    """ANALYZE, as autovacuum (PostgreSQL) would soon after a bulk load on a live
    database: without statistics the planner guesses row counts for the fresh rows."""
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def open_chains(instance_ids: list[int]) -> list[list[int]]:
    """Per instance, the ids of its READY step and of the PENDING steps after it, in order:
    completing them one after another is a run of real transitions, never a repeat."""
    rows = db.session.execute(
        select(InstanceStep.instance_id, InstanceStep.id, InstanceStep.action_state)
        .where(InstanceStep.instance_id.in_(instance_ids))
        .where(InstanceStep.action_state.in_(("READY", "PENDING")))
        .order_by(InstanceStep.instance_id, InstanceStep.order)
    ).all()
    chains: dict[int, list[int]] = {}
    for instance_id, step_id, _state in rows:
        chains.setdefault(instance_id, []).append(step_id)
    return [chains[i] for i in instance_ids if i in chains]
