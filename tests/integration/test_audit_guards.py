"""What keeps the record a record. On PostgreSQL the app connects as a role that owns no
table (`flask grant-app-role`): it appends to the audit trail and the services work as
before, but the database refuses it UPDATE, DELETE and TRUNCATE of the audit table and
any way to disable or drop the triggers; even the owner's TRUNCATE is refused by a
trigger. Step attempts and dead letters are kept the same way, with the app's own paths
(closing an attempt, retrying a dead job, deleting a matter) still working. On both
databases every template edit writes an audit row."""

import uuid
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.conftest import TEST_SECRET_KEY
from tests.integration.support import three_step_template
from webapp import create_app
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, Job, StepAttempt, WorkflowEvent
from webapp.persistence.audit_chain import verify_chains
from webapp.services import dead_letters, matters
from webapp.services import templates as template_service
from webapp.services.auth import new_user
from webapp.services.seed import DEMO_PASSWORD


@pytest.fixture
def postgres(dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("roles, owners and triggers are PostgreSQL's")


@pytest.fixture
def app_role(app: Flask, postgres: None) -> Iterator[str]:
    role = f"mf_app_{uuid.uuid4().hex[:12]}"
    result = app.test_cli_runner().invoke(args=["grant-app-role", role])
    assert result.exit_code == 0, result.output
    yield role
    with db.engine.begin() as connection:
        connection.exec_driver_sql(f"DROP OWNED BY {role}")
        connection.exec_driver_sql(f"DROP ROLE {role}")


@pytest.fixture
def as_role(app_role: str) -> Iterator[Any]:
    """A connection to the same database as the app role (trust authentication here)."""
    url = make_url(db.engine.url).set(username=app_role, password=None)
    engine = create_engine(url)
    yield engine
    engine.dispose()


REFUSED_TO_THE_APP = [
    ("UPDATE workflow_events SET event_type = event_type", "permission denied"),
    ("DELETE FROM workflow_events", "permission denied"),
    ("TRUNCATE workflow_events", "permission denied"),
    ("UPDATE instance_changes SET change_type = change_type", "permission denied"),
    ("TRUNCATE instance_changes", "permission denied"),
    (
        "ALTER TABLE workflow_events DISABLE TRIGGER workflow_events_append_only",
        "must be owner",
    ),
    ("ALTER TABLE workflow_events DISABLE TRIGGER ALL", "must be owner"),
    ("DROP TRIGGER workflow_events_append_only ON workflow_events", "must be owner"),
    ("DROP TRIGGER workflow_events_no_truncate ON workflow_events", "must be owner"),
    ("DROP FUNCTION matterflow_append_only() CASCADE", "must be owner"),
    ("DROP TABLE workflow_events", "must be owner"),
    ("SET session_replication_role = replica", "permission denied"),
    ("UPDATE alembic_version SET version_num = version_num", "permission denied"),
]


@pytest.mark.parametrize(("statement", "refusal"), REFUSED_TO_THE_APP)
def test_database_refuses_the_app_role_when_it_tries_to_rewrite_the_audit_trail(
    demo: Any, as_role: Any, statement: str, refusal: str
) -> None:
    before = db.session.scalar(select(db.func.count()).select_from(WorkflowEvent))
    db.session.commit()
    with as_role.connect() as connection, pytest.raises(DBAPIError, match=refusal):
        connection.exec_driver_sql(statement)
    assert db.session.scalar(select(db.func.count()).select_from(WorkflowEvent)) == before
    with db.engine.connect() as owner:
        assert (
            owner.execute(
                text(
                    "SELECT tgenabled FROM pg_trigger WHERE tgname = 'workflow_events_append_only'"
                )
            ).scalar()
            == "O"
        )  # still enabled


@pytest.mark.parametrize("table", ["workflow_events", "instance_changes"])
def test_truncate_of_an_audit_table_is_refused_by_a_trigger_even_to_the_owner(
    demo: Any, postgres: None, table: str
) -> None:
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(f"TRUNCATE {table} CASCADE"))
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(WorkflowEvent)) > 0


def test_app_works_through_the_services_when_it_connects_as_the_app_role(
    app: Flask, app_role: str, tmp_path: Path
) -> None:
    url = make_url(db.engine.url).set(username=app_role, password=None)
    role_app = create_app(
        {
            "TESTING": True,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "SECRET_KEY": "test-secret",
            "WEBHOOK_SECRET": "test-webhook-secret",
            "MATTERFLOW_SECRET_KEYS": [TEST_SECRET_KEY],
            "UPLOAD_DIR": str(tmp_path),
            "EMBEDDED_WORKER": False,
            "NOTIFICATIONS_ENABLED": False,
        }
    )
    with role_app.app_context():
        assert db.session.execute(text("SELECT current_user")).scalar() == app_role
        org = _firm()
        lawyer = new_user(org, "owner@role.test", "Role Lawyer", Role.LAWYER, DEMO_PASSWORD)
        db.session.commit()
        matter = matters.create_matter(lawyer, "ROLE-1", "Run as the app role")
        matters.perform(lawyer, matter.id, matters.Update(None, "Renamed as the app role"))
        matter_id = matter.id
        db.session.remove()
        db.engine.dispose()
    with db.engine.connect() as owner:
        verified = verify_chains(owner, matter_id)
    assert verified.rows == 2 and verified.broken == []


def _firm() -> int:
    from webapp.models import Organization

    org = Organization(name="Role Firm")
    db.session.add(org)
    db.session.commit()
    return org.id


# ---- step attempts and dead letters ---------------------------------------------------------


@pytest.fixture
def attempt(demo: Any, postgres: None) -> StepAttempt:
    step = db.session.scalar(select(InstanceStep).limit(1))
    row = StepAttempt(
        org_id=demo.org.id,
        instance_id=step.instance_id,
        step_id=step.id,
        number=1,
        status="RUNNING",
        inputs={"url": "https://example.test"},
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_an_open_attempt_is_closed_once_and_never_changed_after_when_on_postgresql(
    attempt: StepAttempt,
) -> None:
    attempt.status, attempt.output = "SUCCEEDED", {"status": 200}
    db.session.commit()  # closing the open attempt: the worker's path

    for statement in (
        "UPDATE step_attempts SET output = '{}'",
        "UPDATE step_attempts SET status = 'RUNNING'",
        "DELETE FROM step_attempts",
    ):
        with pytest.raises(DBAPIError, match="step_attempts is append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.get(StepAttempt, attempt.id).output == {"status": 200}


def test_attempts_go_with_their_matter_when_an_admin_deletes_it(
    demo: Any, attempt: StepAttempt
) -> None:
    matters.perform(demo.user(Role.ADMIN), demo.matter.id, matters.Delete())
    assert db.session.scalar(select(db.func.count()).select_from(StepAttempt)) == 0


@pytest.fixture
def dead_job(demo: Any, postgres: None) -> Job:
    job = Job(
        org_id=demo.org.id,
        kind="notify.step_ready",
        payload={"stepId": 1},
        status="DEAD",
        attempts=5,
        last_error="SMTP server refused the message",
    )
    db.session.add(job)
    db.session.commit()
    return job


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE jobs SET last_error = 'nothing happened' WHERE status = 'DEAD'",
        "UPDATE jobs SET payload = '{}' WHERE status = 'DEAD'",
        "UPDATE jobs SET status = 'DONE' WHERE status = 'DEAD'",
        "DELETE FROM jobs WHERE status = 'DEAD'",
    ],
)
def test_a_dead_letter_is_kept_when_anything_but_a_retry_touches_it(
    dead_job: Job, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="dead letter"):
        db.session.execute(text(statement))
    db.session.rollback()
    kept = db.session.get(Job, dead_job.id)
    assert (kept.status, kept.last_error) == ("DEAD", "SMTP server refused the message")


def test_an_admin_still_retries_a_dead_letter_when_it_is_kept(demo: Any, dead_job: Job) -> None:
    job = dead_letters.retry_job(demo.user(Role.ADMIN), dead_job.id)
    assert (job.status, job.attempts) == ("PENDING", 0)


# ---- template edits -----------------------------------------------------------------------------


def template_rows(template_key: str) -> list[tuple[str, dict[str, Any]]]:
    db.session.commit()
    return [
        (row.event_type, row.payload)
        for row in db.session.execute(
            select(WorkflowEvent.event_type, WorkflowEvent.payload)
            .where(WorkflowEvent.event_type.like("template.%"))
            .order_by(WorkflowEvent.id)
        )
        if row.payload.get("key") == template_key
    ]


def test_every_template_edit_writes_an_audit_row_when_made_through_the_api_or_the_door(
    demo: Any, api_as: Any
) -> None:
    lawyer = demo.user(Role.LAWYER)
    api = api_as(lawyer)
    created = api.post("/templates", json=three_step_template("Audited"))
    assert created.status_code == HTTPStatus.CREATED
    template = created.json
    key, template_id = template["key"], template["id"]

    renamed = api.patch(f"/templates/{template_id}", json={"name": "Audited intake"})
    assert renamed.status_code == HTTPStatus.OK
    steps = [{k: v for k, v in s.items() if k not in ("id", "order")} for s in template["steps"]]
    api.patch(f"/templates/{template_id}", json={"steps": steps[:2], "description": "Shorter."})
    api.patch(f"/templates/{template_id}", json={"name": "Audited intake"})  # no change
    step_ids = [s.id for s in template_service.get_template(template_id, lawyer).steps]
    template_service.perform(lawyer, template_id, template_service.ReorderSteps(step_ids[::-1]))

    rows = template_rows(key)
    assert [event for event, _ in rows] == [
        "template.created",
        "template.updated",
        "template.updated",
        "template.steps_reordered",
    ]
    assert rows[1][1]["name"] == {"from": "Audited", "to": "Audited intake"}
    assert rows[2][1]["steps"]["to"] == [s["key"] for s in steps[:2]]
    assert rows[2][1]["description"]["to"] == "Shorter."
    with db.engine.connect() as connection:
        assert verify_chains(connection).broken == []
