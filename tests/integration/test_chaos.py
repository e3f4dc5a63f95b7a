"""Chaos (issue 17, point 5): threads complete steps through the API of a gunicorn server
while workers run the automated steps, and meanwhile the database ends every backend of
the app again and again (`pg_terminate_backend`, as a restart or a failover does) and a
worker is SIGKILLed and started again. Every answer is JSON — 200, or 503 `unavailable` /
`outcome_unknown`, which the client tries again with the same request id — every step is
completed exactly once and no workflow fails because of the faults."""

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from tests.integration.cluster_support import Cluster, bearer, poll_until, redis_reachable
from tests.integration.engine_support import by_key, fresh, make_firm, publish, start, step
from webapp.extensions import db
from webapp.models import StepAttempt, WorkflowEvent, WorkflowInstance
from webapp.persistence import faults
from webapp.services.auth import create_token

HUMAN = ["read", "check", "sign"]
INSTANCES = 12
RETRY_CODES = {"unavailable", "outcome_unknown"}


@pytest.fixture
def cluster(
    app: Flask, dialect: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    if dialect != "postgresql":
        pytest.skip("a database that drops its connections is PostgreSQL's case")
    if not redis_reachable():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    cluster = Cluster(app, tmp_path_factory.mktemp("chaos"))
    try:
        cluster.start_server()
        for name in ("c1", "c2"):
            cluster.start_worker(name, WORKER_LEASE_SECONDS="3")
        cluster.wait_until_serving()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def firm(make_org, make_user, make_matter, api_as):
    return make_firm(make_org, make_user, make_matter, api_as)


class Client:
    """An API client that tries again when told to: a 503 with a code it knows, or a
    connection cut before an answer came. A 409 after an answer it could not be sure of
    means the first try did complete the step: it is noted, and checked in the audit."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers.update(bearer(token))
        self.answers: list[tuple[int, str]] = []
        self.problems: list[str] = []
        self.done_before: list[int] = []

    def complete(self, step_id: int) -> None:
        request_id = uuid.uuid4().hex
        unsure = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                response = self.session.post(
                    f"{self.base}/api/v1/steps/{step_id}/complete",
                    json={"checkedItems": ["Done"]},
                    headers={"X-Request-ID": request_id},
                    timeout=30,
                )
            except requests.RequestException:
                unsure = True
                continue
            code = self._note(response)
            if response.status_code == HTTPStatus.OK:
                return
            if response.status_code == HTTPStatus.SERVICE_UNAVAILABLE and code in RETRY_CODES:
                unsure = unsure or code == "outcome_unknown"
                time.sleep(0.1)  # the client's own back-off, as Retry-After asks
                continue
            if response.status_code == HTTPStatus.CONFLICT and unsure:
                self.done_before.append(step_id)
                return
            self.problems.append(f"step {step_id}: {response.status_code} {response.text[:300]}")
            return
        self.problems.append(f"step {step_id}: still refused after a minute")

    def _note(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            self.problems.append(f"not JSON: {response.status_code} {response.text[:300]}")
            return ""
        code = body.get("error", {}).get("code", "") if response.status_code >= 400 else ""
        self.answers.append((response.status_code, code))
        return code


class Chaos:
    """Ends every backend of the test database but its own, every `every` seconds; kills
    and restarts a worker every `kill_every` ends."""

    def __init__(self, cluster: Cluster, url: str, every: float = 0.15, kill_every: int = 8):
        self.cluster = cluster
        self.engine = create_engine(url, poolclass=NullPool)
        self.every = every
        self.kill_every = kill_every
        self.stop = threading.Event()
        self.ended = 0
        self.killed = 0
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._rounds()
        except BaseException as error:  # the test fails with it instead of waiting
            self.failed = error

    def _rounds(self) -> None:
        names = itertools.cycle(["c1", "c2"])
        with self.engine.connect() as own:
            for round_ in itertools.count(1):
                if self.stop.wait(self.every):
                    return
                self.ended += own.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
                own.commit()
                if round_ % self.kill_every == 0 and self.killed < 3:
                    name = next(names)
                    self.cluster.kill_worker(name)
                    self.cluster.start_worker(name, WORKER_LEASE_SECONDS="3")
                    self.killed += 1

    def __enter__(self) -> "Chaos":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(30)
        self.engine.dispose()


def audit_counts(kind: str) -> Counter[int]:
    fresh()
    rows = db.session.execute(
        select(WorkflowEvent.step_id, func.count())
        .where(WorkflowEvent.event_type == kind)
        .group_by(WorkflowEvent.step_id)
    ).all()
    return Counter(dict(rows))


def statuses(instance_ids: list[int]) -> list[str]:
    """The instances' statuses; none while the chaos has just ended this connection."""
    try:
        fresh()
        return list(
            db.session.scalars(
                select(WorkflowInstance.status).where(WorkflowInstance.id.in_(instance_ids))
            )
        )
    except DBAPIError:
        db.session.remove()
        return []


def test_every_step_completes_once_when_backends_and_workers_are_killed_under_load(
    app, cluster, firm
):
    template = publish(
        firm.api,
        "Engagement",
        [
            *[step(key, "CHECKLIST", config={"items": ["Done"]}, dependsOn=[]) for key in HUMAN],
            step("notify", dependsOn=HUMAN),
            step("archive", dependsOn=["notify"]),
        ],
    )
    instances = [start(firm.api, template, firm.matter.id) for _ in range(INSTANCES)]
    token = create_token(firm.lawyer.email)
    db.session.remove()  # the chaos ends this process's connections too
    clients = [Client(cluster.bases[0], token) for _ in range(3)]

    def work(client: Client, mine: list[dict[str, Any]]) -> None:
        for instance in mine:
            for key in HUMAN:
                client.complete(by_key(instance, key)["id"])

    threads = [
        threading.Thread(target=work, args=(client, instances[n::3]))
        for n, client in enumerate(clients)
    ]
    with Chaos(cluster, app.config["SQLALCHEMY_DATABASE_URI"]) as chaos:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        # Keep the faults coming while the workers finish the automated steps.
        instance_ids = [instance["id"] for instance in instances]
        poll_until(lambda: chaos.killed >= 3 or chaos.failed, 60, "three workers killed")
    assert chaos.failed is None, chaos.failed
    assert chaos.ended >= 10
    faults.close_session()
    db.engine.dispose()  # the pool may still hold connections the chaos ended

    problems = [problem for client in clients for problem in client.problems]
    assert problems == []
    answers = Counter(answer for client in clients for answer in client.answers)
    assert set(answers) <= {
        (200, ""),
        (503, "unavailable"),
        (503, "outcome_unknown"),
        (409, "conflict"),
    }, answers

    # A job the last killed worker held waits out its lease (3 s here) before another
    # worker takes it: allow for that and a worker's start on a busy machine.
    poll_until(
        lambda: set(statuses(instance_ids)) == {"Completed"},
        90,
        "every workflow to complete after the faults",
    )
    steps = [s["id"] for instance in instances for s in instance["steps"]]
    completions = audit_counts("step.complete")
    assert {step_id: completions[step_id] for step_id in steps} == dict.fromkeys(steps, 1)
    # A 409 the client took for "done" was a completion that had really happened.
    done_before = [step_id for client in clients for step_id in client.done_before]
    assert all(completions[step_id] == 1 for step_id in done_before)
    succeeded = Counter(
        db.session.scalars(select(StepAttempt.step_id).where(StepAttempt.status == "SUCCEEDED"))
    )
    automated = [by_key(i, key)["id"] for i in instances for key in ("notify", "archive")]
    assert {step_id: succeeded[step_id] for step_id in automated} == dict.fromkeys(automated, 1)
