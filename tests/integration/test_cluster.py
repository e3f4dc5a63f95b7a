"""A cluster on one machine (issue 17, point 8): two gunicorn servers and three
`flask worker` processes on one PostgreSQL database and one Redis. Load spread over both
servers completes every step once, a schedule fires once among the three workers, rate
limits count across both servers, and a worker killed mid-batch loses nothing.

The cluster is started once for the module (starting five processes is most of the cost);
the worker-kill test runs last, as it leaves two workers."""

import signal
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select, update

from tests.integration.cluster_support import Cluster, bearer, poll_until, redis_reachable
from tests.integration.engine_support import (
    HttpScript,
    by_key,
    fresh,
    http_server,
    make_firm,
    publish,
    start,
    step,
)
from tests.integration.test_rate_limits import web_sign_in
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import (
    StepAttempt,
    Trigger,
    TriggerFiring,
    WorkerHeartbeat,
    WorkflowEvent,
    WorkflowInstance,
)
from webapp.services.auth import create_token

SHORT_LEASE = 2  # the doomed worker's lease: its jobs are taken over this soon after it dies


@pytest.fixture(scope="module")
def running_cluster(
    apps: dict[str, Flask], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    if "postgresql" not in apps:
        pytest.skip("a cluster shares one PostgreSQL database")
    if not redis_reachable():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    cluster = Cluster(apps["postgresql"], tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start_server()
        cluster.start_server()
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.start_worker("doomed", WORKER_LEASE_SECONDS=str(SHORT_LEASE))
        cluster.wait_until_serving()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(dialect: str, request: pytest.FixtureRequest) -> Cluster:
    if dialect != "postgresql":
        pytest.skip("a cluster shares one PostgreSQL database (SKIP LOCKED)")
    return request.getfixturevalue("running_cluster")


@pytest.fixture
def firm(make_org, make_user, make_matter, api_as):
    return make_firm(make_org, make_user, make_matter, api_as, Role.ADMIN)


def events(kind: str) -> Counter[int]:
    """How many `kind` audit rows each step has."""
    fresh()
    rows = db.session.execute(
        select(WorkflowEvent.step_id, func.count())
        .where(WorkflowEvent.event_type == kind)
        .group_by(WorkflowEvent.step_id)
    ).all()
    return Counter(dict(rows))


def all_completed(instance_ids: list[int]) -> bool:
    fresh()
    statuses = db.session.scalars(
        select(WorkflowInstance.status).where(WorkflowInstance.id.in_(instance_ids))
    ).all()
    return len(statuses) == len(instance_ids) and set(statuses) == {"Completed"}


HUMAN = [f"review_{n}" for n in range(4)]


def test_load_over_both_servers_completes_every_step_once(cluster, firm):
    template = publish(
        firm.api,
        "Review",
        [
            *[step(key, "CHECKLIST", config={"items": ["Read it"]}, dependsOn=[]) for key in HUMAN],
            step("file", dependsOn=HUMAN),  # an echo step: the workers' part
        ],
    )
    instances = [start(firm.api, template, firm.matter.id) for _ in range(8)]
    token = create_token(firm.lawyer.email)
    answers: list[tuple[str, int]] = []
    failures: list[str] = []

    def complete_many(mine: list[int]) -> None:
        session = requests.Session()
        for n, step_id in enumerate(mine):
            base = cluster.bases[n % 2]  # alternate between the two servers
            try:
                response = session.post(
                    f"{base}/api/v1/steps/{step_id}/complete",
                    json={"checkedItems": ["Read it"]},
                    headers=bearer(token),
                    timeout=60,
                )
                answers.append((base, response.status_code))
                if response.status_code != HTTPStatus.OK:
                    failures.append(f"{base} {response.status_code} {response.text[:300]}")
            except requests.RequestException as error:
                failures.append(f"{base} {error}")

    # Each thread takes whole instances, so the threads compete for servers, workers and
    # the database, not for one instance's lock.
    threads = [
        threading.Thread(
            target=complete_many,
            args=([by_key(instance, key)["id"] for instance in instances[t::4] for key in HUMAN],),
        )
        for t in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    per_server = Counter(base for base, _ in answers)
    assert per_server == {cluster.bases[0]: 16, cluster.bases[1]: 16}

    instance_ids = [instance["id"] for instance in instances]
    poll_until(lambda: all_completed(instance_ids), 60, "the workers to finish the echo steps")
    steps = [s["id"] for instance in instances for s in instance["steps"]]
    completions = events("step.complete")
    assert {step_id: completions[step_id] for step_id in steps} == dict.fromkeys(steps, 1)
    ran_by = set(db.session.scalars(select(StepAttempt.worker_id)).all())
    assert ran_by <= {"w1", "w2", "doomed"} and ran_by, ran_by


def test_a_schedule_fires_once_per_due_time_among_three_workers(cluster, firm, api_as):
    publish(firm.api, "Intake", [step("welcome")], key="intake")
    admin = api_as(firm.people[Role.ADMIN])
    body = {
        "name": "Every minute",
        "kind": "schedule",
        "templateKey": "intake",
        "matter": {"id": firm.matter.id},
        "schedule": {"cron": "* * * * *", "timezone": "UTC", "missed": "fire_once"},
    }
    created = admin.post("/triggers", json=body)
    assert created.status_code == HTTPStatus.CREATED, created.json
    # Make the current minute due now rather than waiting up to a minute for the next.
    due = datetime.now(UTC).replace(second=0, microsecond=0)
    db.session.execute(
        update(Trigger).where(Trigger.id == created.json["id"]).values(next_fire_at=due)
    )
    db.session.commit()

    def firings() -> list[Any]:
        fresh()
        return db.session.execute(select(TriggerFiring.fired_at, TriggerFiring.outcome)).all()

    poll_until(firings, 30, "the schedule to fire")
    seen = datetime.now(UTC)
    # Every worker has looked at the schedules again since it fired: a second firing of
    # the same time, had any worker made one, would be there by now.
    poll_until(
        lambda: (
            fresh()
            or db.session.scalar(select(func.count()).where(WorkerHeartbeat.seen_at > seen)) >= 3
        ),
        30,
        "each worker to tick again",
    )
    fired = firings()
    assert [at for at, _ in fired].count(due) == 1
    assert len({at for at, _ in fired}) == len(fired)  # no due time twice
    assert all(at in (due, due + timedelta(minutes=1)) for at, _ in fired), fired
    started = db.session.scalar(select(func.count()).select_from(WorkflowInstance))
    assert started == len(fired)  # the test itself started none


def test_rate_limits_count_across_both_servers(cluster, firm):
    email = firm.lawyer.email
    sessions = [requests.Session(), requests.Session()]
    turns = [0, 1, 0]  # three wrong passwords (the limit set for the cluster), shared out
    answers = [
        web_sign_in(sessions[n], cluster.bases[n], email, "wrong").status_code for n in turns
    ]
    assert answers == [HTTPStatus.UNPROCESSABLE_ENTITY] * 3
    fourth = web_sign_in(sessions[1], cluster.bases[1], email, "wrong")
    assert fourth.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 1 <= int(fourth.headers["Retry-After"]) <= 60


def test_a_worker_killed_mid_batch_loses_nothing_and_completes_nothing_twice(cluster, firm):
    script = HttpScript(replies=[(200, '{"filed": true}')], hold=threading.Event())
    others = [cluster.workers["w1"], cluster.workers["w2"]]
    with http_server(script) as base:
        template = publish(firm.api, "E-file", [step("efile", "core.http", config={"url": base})])
        # All three pause while the jobs are queued; then the doomed worker alone goes on,
        # so it claims the whole batch.
        for worker in [*others, cluster.workers["doomed"]]:
            worker.send_signal(signal.SIGSTOP)
        try:
            instances = [start(firm.api, template, firm.matter.id) for _ in range(5)]
            cluster.workers["doomed"].send_signal(signal.SIGCONT)
            assert script.arrived.wait(30), "the doomed worker never called out"
            fresh()
            held = db.session.scalar(
                select(func.count()).where(
                    StepAttempt.worker_id == "doomed", StepAttempt.status == "RUNNING"
                )
            )
            assert held >= 1
            cluster.kill_worker("doomed")  # mid-call, with the rest of its batch leased
        finally:
            for worker in others:
                worker.send_signal(signal.SIGCONT)
        script.hold.set()  # calls are answered at once from now on
        instance_ids = [instance["id"] for instance in instances]
        poll_until(lambda: all_completed(instance_ids), 60, "the survivors to take over")
    steps = [by_key(instance, "efile")["id"] for instance in instances]
    completions = events("step.complete")
    assert {step_id: completions[step_id] for step_id in steps} == dict.fromkeys(steps, 1)
    fresh()
    attempts = db.session.execute(
        select(StepAttempt.step_id, StepAttempt.status, StepAttempt.worker_id)
    ).all()
    succeeded = Counter(step_id for step_id, status, _ in attempts if status == "SUCCEEDED")
    assert succeeded == dict.fromkeys(steps, 1)
    assert {worker for _, status, worker in attempts if status == "SUCCEEDED"} <= {"w1", "w2"}
    abandoned = [a for a in attempts if a.worker_id == "doomed"]
    assert abandoned and {status for _, status, _ in abandoned} == {"FAILED"}
