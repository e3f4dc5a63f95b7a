"""/metrics: counters and histograms added where the work happens, and only once it has
committed; gauges of the outbox and the workers read from the database at scrape time;
a scrape needs the bearer token. The counters live as long as the test process, so each
test compares a scrape after its work with one before it."""

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http import HTTPStatus

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.engine_support import (
    by_key,
    free_port,
    fresh,
    publish,
    reload,
    run_worker,
    smtp_server,
    start,
    step,
    wait_for,
)
from tests.integration.test_worker_processes import ROOT, finish, flask, worker_env
from tests.integration.trigger_support import signed_post, webhook_trigger
from webapp.engine.errors import Conflict
from webapp.observability import metrics
from webapp.persistence.journal import enqueue
from webapp.persistence.transaction import transactional
from webapp.services import outbox, steps

METRICS_TOKEN = "test-metrics-token"
Sample = tuple[str, tuple[tuple[str, str], ...]]


@pytest.fixture(autouse=True)
def metrics_token(app) -> Iterator[None]:
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    yield
    app.config["METRICS_TOKEN"] = ""


def samples(client) -> dict[Sample, float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == HTTPStatus.OK
    values = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def key(name: str, **labels: str) -> Sample:
    return (name, tuple(sorted(labels.items())))


def grew(before: dict[Sample, float], after: dict[Sample, float], sample: Sample) -> float:
    return after.get(sample, 0.0) - before.get(sample, 0.0)


def steps_total(action_type: str, outcome: str) -> Sample:
    return key("matterflow_steps_total", action_type=action_type, outcome=outcome)


def cycle_count(action_type: str) -> Sample:
    return key("matterflow_step_cycle_seconds_count", action_type=action_type)


def complete(api, step_id: int, items: list[str]) -> None:
    response = api.post(f"/steps/{step_id}/complete", json={"checkedItems": items})
    assert response.status_code == HTTPStatus.OK, response.json


def test_a_workflow_run_shows_in_every_counter_and_histogram(app, tfirm, clock, monkeypatch):
    client = app.test_client()
    review = {"items": ["Read the file"]}
    template = publish(
        tfirm.api,
        "Matter review",
        [
            step("review", "CHECKLIST", roleScope="LAWYER", config=review),
            step("approve", "CHECKLIST", roleScope="LAWYER", config=review),
            step("announce"),
            step("check", "CHECKLIST", roleScope="LAWYER", config=review),
        ],
    )
    trigger = webhook_trigger(tfirm)
    before = samples(client)

    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        monkeypatch.setitem(app.config, "NOTIFICATIONS_ENABLED", True)
        instance = start(tfirm.lawyer_api, template, tfirm.matter.id)
        run_worker()
        for name in ("review", "approve"):
            current = by_key(reload(tfirm.lawyer_api, instance["id"]), name)
            complete(tfirm.lawyer_api, current["id"], review["items"])
        run_worker()  # runs `announce`; `check` becomes READY
        check = by_key(reload(tfirm.lawyer_api, instance["id"]), "check")
        assert tfirm.lawyer_api.post(f"/steps/{check['id']}/start").status_code == 200
        failed = tfirm.lawyer_api.post(f"/steps/{check['id']}/fail", json={"reason": "Conflict"})
        assert failed.status_code == HTTPStatus.OK, failed.json
        payload = {"matterReference": "INT-001", "client": "Ada", "priority": "low"}
        fired = signed_post(app.test_client(), trigger, payload, at=clock())
        assert fired.json["outcome"] == "started", fired.json
        run_worker()  # the intake: `welcome` runs, `urgent` is skipped by its condition
    after = samples(client)

    assert grew(before, after, steps_total("CHECKLIST", "completed")) == 2
    assert grew(before, after, steps_total("CHECKLIST", "failed")) == 1
    assert grew(before, after, steps_total("core.echo", "completed")) == 2
    assert grew(before, after, steps_total("core.echo", "skipped")) == 1
    assert grew(before, after, cycle_count("CHECKLIST")) == 2
    assert grew(before, after, cycle_count("core.echo")) == 2
    assert grew(before, after, key("matterflow_transitions_total", event="complete")) == 4
    assert grew(before, after, key("matterflow_transitions_total", event="fail")) == 1
    assert grew(before, after, key("matterflow_transitions_total", event="bypass")) == 1
    firing = key("matterflow_trigger_firings_total", kind="webhook", outcome="started")
    assert grew(before, after, firing) == 1
    assert inbox.messages, "the notification of a READY step was not sent"
    emails = key("matterflow_emails_total", outcome="sent")
    assert grew(before, after, emails) == len(inbox.messages)
    job_runs = key("matterflow_job_runs_total", kind="step.run", outcome="done")
    assert grew(before, after, job_runs) == 2
    route = "/api/v1/steps/<int:step_id>/complete"
    latency = key(
        "matterflow_http_request_duration_seconds_count", method="POST", route=route, status="2xx"
    )
    assert grew(before, after, latency) == 2
    assert not any(f"/steps/{check['id']}/" in labels for _name, labels in after)
    assert after[key("matterflow_outbox_jobs", status="PENDING", when="due")] == 0
    assert after[key("matterflow_dead_letters")] == 0
    assert after[key("matterflow_outbox_oldest_due_seconds")] == 0


def test_a_change_that_rolls_back_is_not_counted(app, tfirm):
    template = publish(
        tfirm.api, "One check", [step("review", "CHECKLIST", config={"items": ["Read"]})]
    )
    instance = start(tfirm.api, template, tfirm.matter.id)
    review = by_key(instance, "review")
    client = app.test_client()
    before = samples(client)

    @transactional
    def complete_then_fail() -> None:
        steps.perform(tfirm.lawyer, review["id"], steps.Complete({"checkedItems": ["Read"]}))
        raise Conflict("Something else went wrong in the same change.")

    with pytest.raises(Conflict):
        complete_then_fail()
    fresh()
    after = samples(client)

    assert by_key(reload(tfirm.api, instance["id"]), "review")["actionState"] == "READY"
    assert grew(before, after, steps_total("CHECKLIST", "completed")) == 0
    assert grew(before, after, key("matterflow_transitions_total", event="complete")) == 0
    assert grew(before, after, cycle_count("CHECKLIST")) == 0

    steps.perform(tfirm.lawyer, review["id"], steps.Complete({"checkedItems": ["Read"]}))
    fresh()
    committed = samples(client)
    assert grew(after, committed, steps_total("CHECKLIST", "completed")) == 1
    assert grew(after, committed, cycle_count("CHECKLIST")) == 1


def test_outbox_depth_oldest_due_job_and_dead_letters_are_read_at_scrape_time(app, clock):
    now = clock()

    @transactional
    def queue() -> None:
        enqueue("test.due", {}, run_at=now - timedelta(seconds=90), dedupe_key="a")
        enqueue("test.due", {}, run_at=now - timedelta(seconds=30), dedupe_key="b")
        enqueue("test.later", {}, run_at=now + timedelta(hours=1), dedupe_key="c")
        enqueue("test.dead", {}, run_at=now - timedelta(days=2), dedupe_key="d")

    queue()
    _kill("d")
    fresh()
    found = samples(app.test_client())

    assert found[key("matterflow_outbox_jobs", status="PENDING", when="due")] == 2
    assert found[key("matterflow_outbox_jobs", status="PENDING", when="waiting")] == 1
    assert found[key("matterflow_outbox_jobs", status="RUNNING", when="due")] == 0
    assert found[key("matterflow_outbox_oldest_due_seconds")] == 90
    assert found[key("matterflow_dead_letters")] == 1
    assert found[key("matterflow_workers_alive")] == 0

    run_worker("metrics-worker")  # writes its heartbeat (the unknown kinds fail an attempt)
    seen = samples(app.test_client())
    assert seen[key("matterflow_workers_alive")] == 1
    assert seen[key("matterflow_worker_heartbeat_age_seconds")] == 0


@transactional
def _kill(dedupe_key: str) -> None:
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Job

    job = db.session.scalars(select(Job).where(Job.dedupe_key == dedupe_key)).one()
    outbox.mark_dead(job, "Gave up.")


def test_metrics_refuse_a_scrape_when_the_token_is_missing_or_wrong(app):
    client = app.test_client()
    missing = client.get("/metrics")
    assert missing.status_code == HTTPStatus.UNAUTHORIZED
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"matterflow_" not in missing.data
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == HTTPStatus.UNAUTHORIZED


def test_metrics_refuse_every_scrape_when_no_token_is_set(app):
    app.config["METRICS_TOKEN"] = ""
    refused = app.test_client().get("/metrics", headers={"Authorization": "Bearer "})
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert b"METRICS_TOKEN" in refused.data
    assert b"matterflow_" not in refused.data


def test_processes_sharing_a_multiprocess_directory_add_up_at_scrape(app, dialect, tfirm, tmp_path):
    """Two `flask worker` processes each run one workflow's steps, then a gunicorn server
    answers requests and a scrape of it adds up all three processes' figures."""
    if dialect != "postgresql":
        pytest.skip("several processes on one database are a PostgreSQL setup")
    directory = tmp_path / "prometheus"
    directory.mkdir()
    extra = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "METRICS_TOKEN": METRICS_TOKEN}
    template = publish(tfirm.api, "Echoes", [step("one"), step("two"), step("three")])
    for worker in ("a", "b"):  # one after the other: each runs one workflow's 3 steps
        start(tfirm.lawyer_api, template, tfirm.matter.id)
        finish(flask(app, "worker", "--until-idle", "--id", worker, **extra), timeout=30)
    assert len(list(directory.glob("counter_*.db"))) == 2  # one file per process

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *("--workers", "1", "--bind", f"127.0.0.1:{port}"),
            *("--log-level", "warning", "webapp:create_app()"),
        ],
        cwd=ROOT,
        env=worker_env(app, **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _answers(f"{base}/health"), timeout=20), "gunicorn never answered"
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: _answers(f"{base}/health"), range(10)))
        assert all(answers)
        scraped = _scrape(f"{base}/metrics")
    finally:
        server.terminate()
        server.wait(timeout=15)

    assert scraped[steps_total("core.echo", "completed")] == 6  # 3 by each worker process
    assert scraped[cycle_count("core.echo")] == 6
    health = key(
        "matterflow_http_request_duration_seconds_count",
        method="GET",
        route="/health",
        status="2xx",
    )
    assert scraped[health] >= 10  # and the waits for it to start
    assert len(list(directory.glob("histogram_*.db"))) == 3  # two workers', the server's


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == HTTPStatus.OK
    except OSError:
        return False


def _scrape(url: str) -> dict[Sample, float]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_grafana_dashboard_and_the_operations_guide_show_every_metric(app):
    counted = {family.name for family in metrics.REGISTRY.collect()}
    scraped = {name for name, _labels in samples(app.test_client())}
    gauges = {name for name in scraped if not name.startswith(tuple(counted))}
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    queries = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    guide = (ROOT / "docs" / "operations.md").read_text()
    assert len(counted) == 7
    assert len(gauges) >= 4
    for name in counted | gauges:
        assert name in queries, f"no panel shows {name}"
        assert f"`{name}" in guide, f"docs/operations.md does not list {name}"
