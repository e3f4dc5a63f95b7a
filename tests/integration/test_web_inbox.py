"""/inbox: the READY steps the signed-in person may act on, across matters, oldest first,
with due dates (overdue highlighted)."""

from datetime import timedelta

from sqlalchemy import select

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, WorkflowInstance, WorkflowTemplate
from webapp.models.base import utcnow
from webapp.services.instances import instantiate


def test_inbox_lists_ready_steps_oldest_first_when_paralegal_has_several(demo, login_as) -> None:
    template = db.session.scalar(select(WorkflowTemplate))
    instantiate(demo.user(Role.LAWYER), template.id, demo.matter.id, title="Second intake")
    page = login_as(demo.user(Role.PARALEGAL)).get("/inbox").get_data(as_text=True)
    assert "2 steps waiting for you, soonest due first." in page
    assert page.index("Onboarding — Acme Corp") < page.index("Second intake")
    assert "Due " in page


def test_inbox_highlights_a_step_when_it_is_overdue(demo, login_as) -> None:
    step = db.session.scalar(select(InstanceStep).where(InstanceStep.key == "conflict_check"))
    step.due_at = utcnow() - timedelta(days=1)
    db.session.commit()
    page = login_as(demo.user(Role.PARALEGAL)).get("/inbox").get_data(as_text=True)
    assert 'class="inbox-item is-overdue"' in page and "Overdue · Due" in page


def test_inbox_is_empty_when_nothing_is_ready_for_a_client(demo, login_as) -> None:
    page = login_as(demo.user(Role.CLIENT)).get("/inbox").get_data(as_text=True)
    assert "You are all caught up" in page and "Run conflict check" not in page


def test_inbox_leaves_out_steps_an_admin_could_only_skip_when_admin_looks(demo, login_as) -> None:
    page = login_as(demo.user(Role.ADMIN)).get("/inbox").get_data(as_text=True)
    assert "Run conflict check" not in page
    assert db.session.scalar(select(WorkflowInstance.status)) == "Running"
