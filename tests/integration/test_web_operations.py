"""Automated steps in the runner (attempts, errors, sub-workflow links, an admin's Retry)
and the admin operations page /admin/jobs: counts, dead letters, Retry — and refusals
that change nothing."""

import re
from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.browser.setups import dead_letter_workflow
from tests.integration.engine_support import fresh, run_worker
from tests.integration.support import snapshot
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, Job, WorkflowEvent, WorkflowInstance
from webapp.services import dead_letters, instances
from webapp.services.templates import create_template, publish_template
from webapp.web.htmx import INLINE_ERROR_HEADER
from webapp.web.reads.operations import job_counts


@pytest.fixture
def failed(demo) -> WorkflowInstance:
    """The e-filing workflow: its webhook step failed after its single attempt."""
    instance_id = dead_letter_workflow()
    fresh()
    return db.session.get(WorkflowInstance, instance_id)


def _runner(instance: WorkflowInstance) -> str:
    return f"/matters/{instance.matter_id}/workflows/{instance.id}"


def _dead_job() -> Job:
    return db.session.scalar(select(Job).where(Job.status == "DEAD"))


def _jobs() -> list[tuple[int, str, int]]:
    """Every job's status and attempts: a refused retry leaves them as they were."""
    db.session.expire_all()
    return [tuple(r) for r in db.session.execute(select(Job.id, Job.status, Job.attempts))]


def _webhook_step() -> InstanceStep:
    db.session.expire_all()
    return db.session.scalar(select(InstanceStep).where(InstanceStep.key == "notify_court"))


def _card(page: str, step_id: int) -> str:
    start = page.index(f'id="step-{step_id}"')
    return page[start : page.index("</article>", start)]


def test_runner_shows_attempts_and_the_error_when_an_automated_step_failed(
    demo, failed, login_as
) -> None:
    page = login_as(demo.user(Role.LAWYER)).get(_runner(failed)).get_data(as_text=True)
    card = _card(page, _webhook_step().id)
    assert "Failed" in card and "1 attempt" in card and '<span class="attempt-no">#1</span>' in card
    assert card.count("127.0.0.1 is a loopback address") == 2  # the step's error and attempt #1's
    assert "Retry step" not in card  # lawyers may not retry jobs
    ready = _card(page, next(s.id for s in failed.steps if s.key == "prepare_filing"))
    assert "Who can act" in ready and "Automated" not in ready


def test_runner_says_an_automated_step_runs_in_the_background_when_it_waits(demo, login_as) -> None:
    lawyer = demo.user(Role.LAWYER)
    steps = [
        StepDefinition(
            key="intake",
            title="Intake",
            action_type="CHECKLIST",
            action_config={"items": ["a"]},
            role_scope=Role.PARALEGAL,
        ),
        StepDefinition(
            key="echo",
            title="Log the intake",
            action_type="core.echo",
            action_config={"message": "ok"},
        ),
    ]
    template = create_template(lawyer, "Logged intake", steps)
    publish_template(lawyer, template.id)
    instance, _new = instances.instantiate(lawyer, template.id, demo.matter.id)
    page = login_as(lawyer).get(_runner(instance)).get_data(as_text=True)
    card = _card(page, next(s.id for s in instance.steps if s.key == "echo"))
    assert "Automated</span> Runs in the background, after Intake." in card
    assert "Who can act" not in card and "No one on this matter" not in card


def test_completed_automated_step_shows_its_outputs_compactly_when_it_succeeded(
    demo, login_as
) -> None:
    lawyer = demo.user(Role.LAWYER)
    echo = StepDefinition(
        key="echo", title="Echo", action_type="core.echo", action_config={"message": "hello"}
    )
    template = create_template(lawyer, "Echo once", [echo])
    publish_template(lawyer, template.id)
    instance, _new = instances.instantiate(lawyer, template.id, demo.matter.id)
    run_worker()
    page = login_as(lawyer).get(_runner(instance)).get_data(as_text=True)
    card = _card(page, instance.steps[0].id)
    assert "Succeeded" in card and "<code>{&#34;message&#34;: &#34;hello&#34;" in card


def test_step_waiting_on_a_sub_workflow_links_to_it_when_the_child_runs(demo, login_as) -> None:
    lawyer = demo.user(Role.LAWYER)
    child_step = StepDefinition(
        key="kyc", title="KYC", action_type="CHECKLIST", action_config={"items": ["ID"]}
    )
    publish_template(lawyer, create_template(lawyer, "KYC", [child_step], key="kyc").id)
    parent_step = StepDefinition(
        key="run_kyc",
        title="Run KYC",
        action_type="core.subworkflow",
        action_config={"templateKey": "kyc", "title": "KYC for Acme"},
    )
    parent_template = create_template(lawyer, "Intake with KYC", [parent_step])
    publish_template(lawyer, parent_template.id)
    parent, _new = instances.instantiate(lawyer, parent_template.id, demo.matter.id)
    run_worker()
    child = db.session.scalar(
        select(WorkflowInstance).where(WorkflowInstance.title == "KYC for Acme")
    )
    web = login_as(lawyer)
    card = _card(web.get(_runner(parent)).get_data(as_text=True), parent.steps[0].id)
    assert "Waiting for the sub-workflow" in card
    assert f'href="{_runner(child)}">KYC for Acme</a>' in card
    child_page = web.get(_runner(child)).get_data(as_text=True)
    assert f'Part of <a href="{_runner(parent)}">' in child_page and "“Run KYC”" in child_page


def test_admin_retries_a_failed_step_from_the_runner_when_its_job_is_dead(
    demo, failed, login_as
) -> None:
    admin = demo.user(Role.ADMIN)
    job = _dead_job()
    web = login_as(admin)
    card = _card(web.get(_runner(failed)).get_data(as_text=True), _webhook_step().id)
    assert f'hx-post="{_runner(failed)}/jobs/{job.id}/retry"' in card
    response = web.post(f"{_runner(failed)}/jobs/{job.id}/retry", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert re.search(r'id="group-ready"[^>]*hx-swap-oob="true"', body)
    assert "Notify the e-filing service" in body.split('id="group-ready"')[1]
    assert "Avery Admin</strong> retried" in body
    db.session.expire_all()
    assert (job.status, job.attempts) == ("PENDING", 0)
    assert _webhook_step().action_state == "READY"
    retry = db.session.scalar(select(WorkflowEvent).where(WorkflowEvent.event_type == "step.retry"))
    assert retry.actor_id == admin.id


def test_runner_retry_is_forbidden_and_changes_nothing_when_a_lawyer_posts(
    demo, failed, login_as
) -> None:
    job_id = _dead_job().id
    before, queue = snapshot(), _jobs()
    response = login_as(demo.user(Role.LAWYER)).post(
        f"{_runner(failed)}/jobs/{job_id}/retry", htmx=True
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot() == before and _jobs() == queue


def test_runner_retry_is_not_found_when_the_job_belongs_to_another_workflow(
    demo, failed, login_as
) -> None:
    onboarding = db.session.scalar(select(WorkflowInstance).where(WorkflowInstance.id != failed.id))
    queue = _jobs()
    response = login_as(demo.user(Role.ADMIN)).post(
        f"{_runner(onboarding)}/jobs/{_dead_job().id}/retry", htmx=True
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert _jobs() == queue


def test_jobs_page_lists_counts_and_dead_letters_when_an_admin_opens_it(
    demo, failed, login_as
) -> None:
    page = login_as(demo.user(Role.ADMIN)).get("/admin/jobs").get_data(as_text=True)
    assert 'href="/admin/jobs" aria-current="page">Jobs</a>' in page
    pending = job_counts(demo.user(Role.ADMIN).org_id)[
        "PENDING"
    ]  # emails and deadline notices waiting
    assert re.search(r'id="count-dead">1<', page)
    assert re.search(rf'id="count-pending">{pending}<', page)
    row = page[page.index(f'id="job-{_dead_job().id}"') :].split("</tr>")[0]
    assert "Automated step" in row and "Notify the e-filing service" in row
    assert f'href="{_runner(failed)}#step-{_webhook_step().id}"' in row
    assert "1 of 1" in row and "loopback address" in row and "DEMO-001" in row
    assert ">Retry</button>" in row


def test_jobs_page_and_its_nav_item_are_for_admins_only_when_a_lawyer_looks(
    demo, failed, login_as
) -> None:
    web = login_as(demo.user(Role.LAWYER))
    assert 'href="/admin/jobs"' not in web.get("/inbox").get_data(as_text=True)
    assert web.get("/admin/jobs").status_code == HTTPStatus.FORBIDDEN
    before, queue = snapshot(), _jobs()
    response = web.post(f"/admin/jobs/{_dead_job().id}/retry", htmx=True)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.headers[INLINE_ERROR_HEADER] == "403"
    assert snapshot() == before and _jobs() == queue


def test_retry_from_the_jobs_page_requeues_and_swaps_the_list_when_admin_clicks(
    demo, failed, login_as
) -> None:
    job = _dead_job()
    pending = job_counts(demo.user(Role.ADMIN).org_id)["PENDING"]
    response = login_as(demo.user(Role.ADMIN)).post(f"/admin/jobs/{job.id}/retry", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert body.lstrip().startswith('<section id="dead-letters"')
    assert f"Job #{job.id} is queued again" in body and "No dead letters" in body
    assert re.search(r'id="job-summary"[^>]*hx-swap-oob="true"', body)
    assert re.search(r'id="count-dead">0<', body)
    assert re.search(rf'id="count-pending">{pending + 1}<', body)
    db.session.expire_all()
    assert job.status == "PENDING" and _webhook_step().action_state == "READY"


def test_retrying_again_is_a_conflict_shown_in_place_when_the_job_was_already_retried(
    demo, failed, login_as
) -> None:
    job_id = _dead_job().id
    dead_letters.retry_job(demo.user(Role.ADMIN), job_id)  # e.g. from another tab
    before, queue = snapshot(), _jobs()
    response = login_as(demo.user(Role.ADMIN)).post(f"/admin/jobs/{job_id}/retry", htmx=True)
    assert response.status_code == HTTPStatus.CONFLICT
    assert "Only a dead job can be retried" in response.get_data(as_text=True)
    assert snapshot() == before and _jobs() == queue
