"""Helpers of the notification tests: a firm whose matter has two lawyers, a lawyer
screened from it, a paralegal, a client and an admin; a real SMTP server on loopback;
and the queue's delayed jobs made due after the injected clock moved."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from tests.integration.engine_support import Inbox, fresh, publish, smtp_server, step
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Job, MatterScreen, Notification
from webapp.models.base import utcnow


@dataclass
class NotifyFirm:
    admin: Any
    owner: Any
    lawyer: Any
    screened: Any
    paralegal: Any
    client: Any
    matter: Any
    api: dict[str, Any]


def make_notify_firm(
    make_org: Any, make_user: Any, make_matter: Any, api_as: Any, name: str = "Hale & Partners"
) -> NotifyFirm:
    org = make_org(name)
    admin = make_user(org, Role.ADMIN, "Ada Admin")
    owner = make_user(org, Role.LAWYER, "Olive Owner")
    lawyer = make_user(org, Role.LAWYER, "Larry Lawyer")
    screened = make_user(org, Role.LAWYER, "Sam Screened")
    paralegal = make_user(org, Role.PARALEGAL, "Pat Paralegal")
    client = make_user(org, Role.CLIENT, "Cleo Client")
    matter = make_matter(owner, lawyer, screened, paralegal, client, reference="HALE-7")
    db.session.add(
        MatterScreen(
            org_id=org.id,
            matter_id=matter.id,
            user_id=screened.id,
            reason="Acted for the other side",
            screened_by_id=admin.id,
        )
    )
    db.session.commit()
    api = {
        "admin": api_as(admin),
        "owner": api_as(owner),
        "lawyer": api_as(lawyer),
        "client": api_as(client),
    }
    return NotifyFirm(admin, owner, lawyer, screened, paralegal, client, matter, api)


def lawyer_steps(api: Any, name: str, count: int = 1) -> int:
    """A template of `count` lawyers' checklists one after another."""
    steps = [
        step(
            f"check_{n}",
            "CHECKLIST",
            title=f"Check conflicts {n}",
            roleScope="LAWYER",
            config={"items": ["Search the register", "Note the result"]},
            dependsOn=[f"check_{n - 1}"] if n > 1 else [],
        )
        for n in range(1, count + 1)
    ]
    return publish(api, name, steps)


@contextmanager
def mail(app: Any, monkeypatch: Any) -> Iterator[Inbox]:
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        monkeypatch.setitem(app.config, "NOTIFICATIONS_ENABLED", True)
        monkeypatch.setitem(app.config, "PUBLIC_URL", "https://matters.example.test")
        monkeypatch.setitem(app.config, "MAIL_FROM", "Matterflow <no-reply@example.test>")
        yield inbox


def to(inbox: Inbox, person: Any) -> list[Any]:
    return [m["message"] for m in inbox.messages if person.email in m["rcpt"]]


def make_delayed_jobs_due() -> None:
    """The queue runs on real time and the tests move the services' clock: after moving
    it, the waiting email jobs are made due now; each checks the clock itself when it
    runs, and waits again if its time has not come."""
    db.session.execute(
        update(Job)
        .where(Job.status == "PENDING", Job.kind == "notify.email")
        .values(run_at=utcnow())
    )
    db.session.commit()


def notifications_of(person: Any) -> list[Notification]:
    fresh()
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == person.id).order_by(Notification.id)
        )
    )


def text_part(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message: Any) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
