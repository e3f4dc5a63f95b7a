"""A firm for the team and wall tests: an admin, the lawyer who owns a matter, a second
lawyer and a paralegal on it, a client; and a workflow on the matter whose first steps wait
on the lawyers and the paralegal."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from tests.integration.engine_support import by_key, publish, reload, start, step
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, WorkflowEvent


@dataclass
class Team:
    admin: Any
    owner: Any
    lawyer: Any  # a second lawyer on the matter
    paralegal: Any
    client: Any
    matter: Any
    api: dict[str, Any]  # API clients by name: admin, owner, lawyer, paralegal
    instance: dict[str, Any]  # a running workflow: approval (LAWYER), conflicts (PARALEGAL)


def make_team(make_org: Any, make_user: Any, make_matter: Any, api_as: Any) -> Team:
    org = make_org("Team Firm")
    admin = make_user(org, Role.ADMIN, "Ada Admin")
    owner = make_user(org, Role.LAWYER, "Olive Owner")
    lawyer = make_user(org, Role.LAWYER, "Larry Lawyer")
    paralegal = make_user(org, Role.PARALEGAL, "Pat Paralegal")
    client = make_user(org, Role.CLIENT, "Cleo Client")
    matter = make_matter(owner, lawyer, paralegal, reference="WALL-001")
    api = {
        "admin": api_as(admin),
        "owner": api_as(owner),
        "lawyer": api_as(lawyer),
        "paralegal": api_as(paralegal),
    }
    template = publish(
        api["owner"],
        "Intake",
        [
            step("approval", "APPROVAL_LAWYER", roleScope="LAWYER", config={"message": "Take it?"}),
            step(
                "conflicts",
                "CHECKLIST",
                roleScope="PARALEGAL",
                config={"items": ["Search"]},
                dependsOn=[],
            ),
        ],
    )
    instance = start(api["owner"], template, matter.id, title="Intake run")
    return Team(admin, owner, lawyer, paralegal, client, matter, api, instance)


def step_row(team: Team, key: str) -> InstanceStep:
    db.session.commit()  # read what the requests committed
    step_id = by_key(team.instance, key)["id"]
    found = db.session.get(InstanceStep, step_id)
    db.session.refresh(found)
    return found


def events_of(matter_id: int, *types: str) -> list[WorkflowEvent]:
    db.session.commit()
    return list(
        db.session.scalars(
            select(WorkflowEvent)
            .where(WorkflowEvent.matter_id == matter_id, WorkflowEvent.event_type.in_(types))
            .order_by(WorkflowEvent.id)
        )
    )


__all__ = ["Team", "by_key", "events_of", "make_team", "reload", "step_row"]
