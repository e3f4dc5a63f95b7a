"""(d) pages: server time and SQL statements of the pages a person works in.

The runner page, an HTMX completion and the same completion through the API on
instances of 5, 200 and 400 steps, and the inbox of a person with 300 ready steps. In
process through Flask's test client, signed in as a person would be: a figure is the
time from the WSGI call to the last byte of the answer (no network, no client), the
median and p95 of its samples, with the serving thread's CPU time (which a busy machine
inflates less than the wall clock; PostgreSQL's own work is not in it) and the SQL
statements the request sent. The sizes' requests are taken in turn, so a busy moment
weighs on all of them alike and the ratios stay fair.

The Documents tab of a matter holding DOCUMENTS documents (a fifth of them a second
version of another) is timed as the lawyer opens it.

The runner's instances are half done (their completed and pending groups both long);
each completion completes the READY step of a chain, never an instance's last step."""

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bench import seed
from bench.sqlcount import counting
from bench.stats import percentile
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document, DocumentSource, InstanceStep, User
from webapp.persistence.transaction import transactional
from webapp.services.auth import new_user
from webapp.services.documents import file_document
from webapp.services.matters import add_member, create_matter
from webapp.services.steps import Complete, perform

SIZES = (5, 200, 400)
INBOX_READY = 300
DOCUMENTS = 500
WARMUP = 3
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
OOB = re.compile(r'hx-swap-oob="true"')

# The targets of issue 11 (docs/benchmark.md, section (d)).
RUNNER_MS = 50.0
INBOX_MS = 50.0
DOCUMENTS_MS = 50.0
HTMX_MS = 30.0
HTMX_RATIO = 1.5
EXTRA_STATEMENTS = 2  # an HTMX completion over the API's, besides one read per region


@dataclass
class Figure:
    what: str  # "runner page", "HTMX completion", "API completion", "inbox"
    steps: int | None
    samples_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # the serving thread's CPU time
    statements: list[int] = field(default_factory=list)
    regions: int = 0  # regions an HTMX answer swapped
    size_bytes: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 0.95)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_ms)

    @property
    def statements_per_request(self) -> int:
        return int(statistics.median(self.statements))

    def as_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "steps": self.steps,
            "samples": len(self.samples_ms),
            "median_ms": self.median,
            "p95_ms": self.p95,
            "cpu_ms": self.cpu,
            "sql_statements": self.statements_per_request,
            "regions": self.regions,
            "bytes": self.size_bytes,
        }


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    ok: bool


@dataclass
class PagesResult:
    database: str
    figures: list[Figure]

    def find(self, what: str, steps: int | None = None) -> Figure | None:
        return next((f for f in self.figures if f.what == what and f.steps == steps), None)

    def verdicts(self) -> list[Verdict]:
        found: list[Verdict] = []
        large, small = max(SIZES), min(SIZES)
        page, page_small = self.find("runner page", large), self.find("runner page", small)
        if page and page_small:
            found.append(
                Verdict(
                    f"runner page, {large} steps ≤ {RUNNER_MS:.0f} ms",
                    f"{page.median:.1f} ms (p95 {page.p95:.1f})",
                    page.median <= RUNNER_MS,
                )
            )
            found.append(
                Verdict(
                    f"runner page: as many statements at {large} steps as at {small}",
                    f"{page.statements_per_request} and {page_small.statements_per_request}",
                    page.statements_per_request <= page_small.statements_per_request,
                )
            )
        htmx, htmx_small = self.find("HTMX completion", large), self.find("HTMX completion", small)
        api = self.find("API completion", large)
        if htmx and htmx_small:
            ratio = htmx.median / htmx_small.median
            found.append(
                Verdict(
                    f"HTMX completion, {large} steps ≤ {HTMX_MS:.0f} ms",
                    f"{htmx.median:.1f} ms (p95 {htmx.p95:.1f})",
                    htmx.median <= HTMX_MS,
                )
            )
            found.append(
                Verdict(
                    f"HTMX completion, {large} steps ≤ {HTMX_RATIO} times {small} steps",
                    f"{ratio:.2f} times",
                    ratio <= HTMX_RATIO,
                )
            )
        if htmx and api:
            allowed = api.statements_per_request + EXTRA_STATEMENTS + htmx.regions
            found.append(
                Verdict(
                    f"HTMX completion ≤ API's statements + {EXTRA_STATEMENTS} + one per region",
                    f"{htmx.statements_per_request} ≤ {api.statements_per_request} + "
                    f"{EXTRA_STATEMENTS} + {htmx.regions} = {allowed}",
                    htmx.statements_per_request <= allowed,
                )
            )
        inbox = self.find("inbox")
        if inbox:
            found.append(
                Verdict(
                    f"inbox, {INBOX_READY} ready steps ≤ {INBOX_MS:.0f} ms",
                    f"{inbox.median:.1f} ms (p95 {inbox.p95:.1f})",
                    inbox.median <= INBOX_MS,
                )
            )
        tab = self.find("documents tab", DOCUMENTS)
        if tab:
            found.append(
                Verdict(
                    f"documents tab, {DOCUMENTS} documents ≤ {DOCUMENTS_MS:.0f} ms",
                    f"{tab.median:.1f} ms (p95 {tab.p95:.1f}), "
                    f"{tab.statements_per_request} statements",
                    tab.median <= DOCUMENTS_MS,
                )
            )
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "figures": [f.as_dict() for f in self.figures],
            "targets": [v.__dict__ for v in self.verdicts()],
        }


# ---- the data -----------------------------------------------------------------------------


def parallel_steps(count: int, role: str) -> list[StepDefinition]:
    """`count` checklist steps for `role` with no prerequisite: all READY at once."""
    return [
        StepDefinition(
            key=f"task_{n}",
            title=f"Task {n}",
            action_type="CHECKLIST",
            action_config={"items": seed.CHECKLIST_ITEMS},
            role_scope=role,
            depends_on=[],
        )
        for n in range(1, count + 1)
    ]


@transactional
def _paralegal(firm: seed.Firm) -> int:
    lawyer = seed.lawyer_of(firm)
    person = new_user(
        firm.org_id, "paralegal@bench.test", "Bench Paralegal", Role.PARALEGAL, seed.PASSWORD
    )
    db.session.flush()
    add_member(lawyer, firm.matter_id, person.id, Role.PARALEGAL)
    return person.id


def ready_chain(instance_id: int) -> list[int]:
    """The READY step of a chain and the PENDING ones after it, in order, but the last."""
    ids = list(
        db.session.scalars(
            select(InstanceStep.id)
            .where(
                InstanceStep.instance_id == instance_id,
                InstanceStep.action_state.in_(("READY", "PENDING")),
            )
            .order_by(InstanceStep.order)
        )
    )
    return ids[:-1]


def half_done(app: Flask, firm: seed.Firm, steps: int, name: str) -> int:
    """An instance of a `steps`-long chain with its first half completed, as people would."""
    with app.app_context():
        template_id = seed.published_template(firm, name, seed.checklist_chain(steps))
        (instance_id,) = seed.start_instances(firm, template_id, 1)
        lawyer = seed.lawyer_of(firm)
        for step_id in ready_chain(instance_id)[: steps // 2]:
            perform(lawyer, step_id, Complete(seed.COMPLETE_PAYLOAD))
        db.session.remove()
    return instance_id


def completion_queue(app: Flask, firm: seed.Firm, steps: int, calls: int, name: str) -> list[int]:
    """Step ids to complete one after another: chains of half-done instances."""
    queue: list[int] = []
    n = 0
    while len(queue) < calls:
        instance_id = half_done(app, firm, steps, f"{name} {n}")
        with app.app_context():
            queue += ready_chain(instance_id)
            db.session.remove()
        n += 1
    return queue[:calls]


# ---- the measures -------------------------------------------------------------------------


def signed_in(app: Flask, email: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = CSRF_META.search(page).group(1)  # type: ignore[union-attr]  # the login page has one
    client.post("/login", data={"email": email, "password": seed.PASSWORD, "csrf_token": csrf})
    page = client.get("/inbox").get_data(as_text=True)
    return client, CSRF_META.search(page).group(1)  # type: ignore[union-attr]  # signed in


def measure(app: Flask, figures: list[Figure], requests: list[list[Callable[[], Any]]]) -> None:
    """Times each request and counts its statements, the figures' requests taken in turn
    (one of each, then the next of each) so a busy moment of the machine weighs on every
    figure alike; the first WARMUP rounds are not recorded."""
    with app.app_context():
        engine = db.engine
    for n, round_ in enumerate(zip(*requests, strict=False)):
        for figure, request in zip(figures, round_, strict=True):
            with counting(engine) as log:
                began, cpu = time.perf_counter(), time.thread_time()
                response = request()
                body = response.get_data()
                elapsed, cpu = time.perf_counter() - began, time.thread_time() - cpu
            if response.status_code >= 400:
                raise RuntimeError(f"{figure.what}: HTTP {response.status_code}: {body[:300]!r}")
            if n < WARMUP:
                continue
            figure.samples_ms.append(elapsed * 1000)
            figure.cpu_ms.append(cpu * 1000)
            figure.statements.append(len(log))
            figure.size_bytes = len(body)
            figure.regions = len(OOB.findall(body.decode()))


def bench_pages(app: Flask, firm: seed.Firm, label: str, samples: int) -> PagesResult:
    figures: list[Figure] = []
    calls = WARMUP + samples
    with app.app_context():
        lawyer_email = db.session.get(User, firm.lawyer_id).email
        db.session.remove()
    browser, csrf = signed_in(app, lawyer_email)
    api = app.test_client()
    api_headers = {"Authorization": f"Bearer {firm.token}"}
    form = {"checkedItems": seed.CHECKLIST_ITEMS, "csrf_token": csrf}
    htmx_headers = {"HX-Request": "true", "X-CSRFToken": csrf}
    pages, htmx, api_calls = [], [], []
    for steps in SIZES:
        url = (
            f"/matters/{firm.matter_id}/workflows/{half_done(app, firm, steps, f'Runner {steps}')}"
        )
        pages.append([lambda url=url: browser.get(url)] * calls)
        htmx.append(
            [
                (lambda s=s: browser.post(f"/steps/{s}/complete", data=form, headers=htmx_headers))
                for s in completion_queue(app, firm, steps, calls, f"HTMX {steps}")
            ]
        )
        api_calls.append(
            [
                (
                    lambda s=s: api.post(
                        f"/api/v1/steps/{s}/complete",
                        json=seed.COMPLETE_PAYLOAD,
                        headers=api_headers,
                    )
                )
                for s in completion_queue(app, firm, steps, calls, f"API {steps}")
            ]
        )
    for what, requests in (
        ("runner page", pages),
        ("HTMX completion", htmx),
        ("API completion", api_calls),
    ):
        measured = [Figure(what, steps) for steps in SIZES]
        measure(app, measured, requests)
        figures += measured
    with app.app_context():
        paralegal_id = _paralegal(firm)
        template_id = seed.published_template(
            firm, "Inbox", parallel_steps(INBOX_READY, Role.PARALEGAL)
        )
        seed.start_instances(firm, template_id, 1)
        seed.refresh_statistics()
        email = db.session.get(User, paralegal_id).email
        db.session.remove()
    person, _csrf = signed_in(app, email)
    inbox = Figure("inbox", None)
    measure(app, [inbox], [[lambda: person.get("/inbox")] * calls])
    figures.append(inbox)
    figures.append(bench_documents_tab(app, firm, browser, samples))
    return PagesResult(label, figures)


@transactional
def _documents(firm: seed.Firm, count: int) -> int:
    """A matter of its own holding `count` documents: every fifth a new version of the
    one before it. One stored file for all (storage is by content)."""
    lawyer = db.session.get(User, firm.lawyer_id)
    matter = create_matter(lawyer, "BENCH-DOCS", "Bench documents")
    db.session.flush()
    previous: Document | None = None
    for n in range(count):
        previous = file_document(
            org_id=firm.org_id,
            matter_id=matter.id,
            name=f"exhibit-{n}.pdf",
            data=b"%PDF-1.4\n%bench\n",
            content_type="application/pdf",
            source=DocumentSource.UPLOAD,
            uploaded_by_id=lawyer.id,
            shared_with_client=n % 2 == 0,
            replaces=previous if n % 5 == 4 else None,
        )
    return matter.id


def bench_documents_tab(
    app: Flask, firm: seed.Firm, browser: FlaskClient, samples: int, count: int = DOCUMENTS
) -> Figure:
    with app.app_context():
        matter_id = _documents(firm, count)
        seed.refresh_statistics()
        db.session.remove()
    tab = Figure("documents tab", count)
    url = f"/matters/{matter_id}/documents"
    measure(app, [tab], [[lambda: browser.get(url)] * (WARMUP + samples)])
    return tab
