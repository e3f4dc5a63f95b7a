"""(e) every page measured on the big firm: server time (median, p95), SQL statements and
size of each page and HTMX action a person uses, and of the API lists, for four people —
an admin, a paralegal with about 300 actionable steps, one with about 5, and a client —
against the targets of issue 19; the slowest statements' plans written beside the
results.

In process through Flask's test client (as section (d)): a figure is the time from the
WSGI call to the last byte of the answer. A page a person may not open (a matter they are
not on, the builder for a client) is left out for them, not counted as a failure."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from bench import bigfirm
from bench.pages_bench import Figure, ready_chain, signed_in
from bench.seed import COMPLETE_PAYLOAD
from bench.sqlcount import counting
from webapp.extensions import db
from webapp.models import InstanceStep, User
from webapp.services.instances import instantiate
from webapp.services.steps import Complete, perform

PEOPLE = ("admin", "heavy", "light", "client")
WHO = {
    "admin": "admin",
    "heavy": "paralegal, much work",
    "light": "paralegal, little work",
    "client": "client",
    "staff": "the step's role",
}
ROLES = ("ADMIN", "LAWYER", "PARALEGAL", "CLIENT")
WARMUP = 2
BUDGET_SECONDS = 20.0  # per figure: a slow page gets fewer samples (at least MIN_SAMPLES)
MIN_SAMPLES = 5
PLANS = 10  # slowest distinct statements explained

# The targets of issue 19.
PAGE_MS = 100.0
INBOX_MS = 50.0
STATEMENTS = 20
MAX_BYTES = 200 * 1024
HTMX_RATIO = 1.5
SIZES = ("5", "20", "200", "400")


@dataclass
class PageFigure(Figure):
    who: str = ""
    path: str = ""
    slowest: tuple[float, str, Any] | None = None

    @property
    def limit_ms(self) -> float:
        return INBOX_MS if self.what == "inbox" else PAGE_MS

    def misses(self) -> list[str]:
        found = []
        if self.p95 > self.limit_ms:
            found.append(f"p95 > {self.limit_ms:.0f} ms")
        if self.statements_per_request > STATEMENTS:
            found.append(f"> {STATEMENTS} statements")
        if self.size_bytes > MAX_BYTES:
            found.append(f"> {MAX_BYTES // 1024} KB")
        return found

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "who": self.who, "path": self.path, "misses": self.misses()}


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    ok: bool


@dataclass
class BigResult:
    database: str
    scale: float
    built: dict[str, Any]
    reused: bool
    counts: dict[str, int]
    actionable: dict[str, int]  # inbox rows per person
    figures: list[PageFigure] = field(default_factory=list)
    plans_file: str = ""

    def find(self, what: str, who: str, steps: int | None = None) -> PageFigure | None:
        return next(
            (f for f in self.figures if f.what == what and f.who == who and f.steps == steps),
            None,
        )

    def verdicts(self) -> list[Verdict]:
        found = [
            Verdict(
                f"{f.what}{f' {f.steps} steps' if f.steps else ''}, {WHO[f.who]}: "
                f"p95 ≤ {f.limit_ms:.0f} ms, ≤ {STATEMENTS} statements, ≤ {MAX_BYTES // 1024} KB",
                f"{f.p95:.1f} ms, {f.statements_per_request}, {f.size_bytes / 1024:.0f} KB",
                not f.misses(),
            )
            for f in self.figures
        ]
        large, small = (
            self.find("HTMX completion", "staff", 400),
            self.find("HTMX completion", "staff", 5),
        )
        if large and small:
            ratio = large.median / small.median
            found.append(
                Verdict(
                    f"HTMX completion, 400 steps ≤ {HTMX_RATIO} times 5 steps",
                    f"{ratio:.2f} times",
                    ratio <= HTMX_RATIO,
                )
            )
        big = self.find("matter workflows, 500", "admin")
        if big:
            found.append(
                Verdict(
                    f"a matter with 500 workflows ≤ {PAGE_MS:.0f} ms (p95, admin)",
                    f"{big.p95:.1f} ms",
                    big.p95 <= PAGE_MS,
                )
            )
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "scale": self.scale,
            "reused": self.reused,
            "built": self.built,
            "rows": self.counts,
            "actionable_steps": self.actionable,
            "figures": [f.as_dict() for f in self.figures],
            "targets": [v.__dict__ for v in self.verdicts()],
            "plans": self.plans_file,
        }


# ---- measuring -------------------------------------------------------------------------


def timed(engine: Any, request: Callable[[], Any]) -> tuple[Any, bytes, float, float, Any]:
    """One request: its response, body, wall and CPU seconds, and its statements."""
    with counting(engine) as log:
        began, cpu = time.perf_counter(), time.thread_time()
        response = request()
        body = response.get_data()
        elapsed, cpu = time.perf_counter() - began, time.thread_time() - cpu
    return response, body, elapsed, cpu, log


def record(figure: PageFigure, body: bytes, elapsed: float, cpu: float, log: Any) -> None:
    figure.samples_ms.append(elapsed * 1000)
    figure.cpu_ms.append(cpu * 1000)
    figure.statements.append(len(log))
    figure.size_bytes = len(body)
    slowest = log.slowest()
    if slowest and (figure.slowest is None or slowest[0] > figure.slowest[0]):
        figure.slowest = slowest


def _engine(app: Flask) -> Any:
    with app.app_context():
        return db.engine


def measure_one(app: Flask, figure: PageFigure, request: Callable[[], Any], samples: int) -> bool:
    """Times `request` WARMUP + up to `samples` times; False when the person may not open
    the page (403, 404): the figure is then left out."""
    engine = _engine(app)
    wanted = samples
    n = 0
    while n < WARMUP + wanted:
        response, body, elapsed, cpu, log = timed(engine, request)
        if response.status_code in (403, 404) and n == 0:
            return False
        _refuse_errors(figure, response, body)
        if n == 0:  # a slow page: fewer samples, so a run stays within its budget
            wanted = max(MIN_SAMPLES, min(samples, int(BUDGET_SECONDS / max(elapsed, 1e-3))))
        n += 1
        if n > WARMUP:
            record(figure, body, elapsed, cpu, log)
    return True


def measure_alternately(
    app: Flask, pairs: list[tuple[PageFigure, Callable[[], Any]]], samples: int
) -> None:
    """Times the requests in turn, one of each per round: figures compared as a ratio then
    see the same moments of a shared, noisy machine (a checkpoint, another process)."""
    engine = _engine(app)
    for n in range(WARMUP + samples):
        for figure, request in pairs:
            response, body, elapsed, cpu, log = timed(engine, request)
            _refuse_errors(figure, response, body)
            if n >= WARMUP:
                record(figure, body, elapsed, cpu, log)


def _refuse_errors(figure: PageFigure, response: Any, body: bytes) -> None:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{figure.what} ({figure.who}): HTTP {response.status_code}: {body[:300]!r}"
        )


def completion_queue(
    app: Flask, built: bigfirm.Built, steps: str, calls: int
) -> list[tuple[int, str]]:
    """(step id, its role) to complete one after another, READY ones then the PENDING ones
    they lead to, on new instances of the template in the completions matter (the measured
    matters stay as built); a 200- or 400-step instance is half done first."""
    queue: list[tuple[int, str]] = []
    with app.app_context():
        people = {
            role: db.session.scalar(select(User).where(User.email == built.emails[role]))
            for role in ROLES
        }
        while len(queue) < calls:
            instance, _ = instantiate(
                people["LAWYER"],
                built.templates[steps],
                built.matters["completions"],
                title="Completions",
            )
            chain = ready_chain(instance.id)
            roles = dict(
                db.session.execute(
                    select(InstanceStep.id, InstanceStep.role_scope).where(
                        InstanceStep.instance_id == instance.id
                    )
                ).all()
            )
            if int(steps) > 20:
                for step_id in chain[: int(steps) // 2]:
                    perform(people[roles[step_id]], step_id, Complete(COMPLETE_PAYLOAD))
                chain = chain[int(steps) // 2 :]
            queue += [(step_id, roles[step_id]) for step_id in chain]
        db.session.remove()
    return queue[:calls]


def htmx_completions(app: Flask, built: bigfirm.Built, samples: int) -> list[PageFigure]:
    """An HTMX completion on a 5-step and a 400-step instance, each step completed by a
    person of its role (signed in as people are), the two taken in turn."""
    browsers = {role: signed_in(app, built.emails[role]) for role in ROLES}
    pairs = []
    for steps in ("5", "400"):
        queue = iter(completion_queue(app, built, steps, WARMUP + samples))
        figure = PageFigure("HTMX completion", int(steps), who="staff", path="/steps/<id>/complete")

        def complete(queue: Any = queue) -> Any:
            step_id, role = next(queue)
            browser, csrf = browsers[role]
            return browser.post(
                f"/steps/{step_id}/complete",
                data={"checkedItems": COMPLETE_PAYLOAD["checkedItems"], "csrf_token": csrf},
                headers={"HX-Request": "true", "X-CSRFToken": csrf},
            )

        pairs.append((figure, complete))
    measure_alternately(app, pairs, samples)
    return [figure for figure, _ in pairs]


def draft_of_400(app: Flask, built: bigfirm.Built) -> int:
    """The id of a draft of the 400-step template, the builder's editable page (every row a
    form): the newest version when it is a draft already, else one made by an edit."""
    from webapp.models import WorkflowTemplate
    from webapp.services import templates

    with app.app_context():
        published = db.session.get(WorkflowTemplate, built.templates["400"])
        newest = db.session.scalar(
            select(WorkflowTemplate)
            .where(WorkflowTemplate.key == published.key)
            .order_by(WorkflowTemplate.version.desc())
            .limit(1)
        )
        if newest.status == "DRAFT":
            draft_id = newest.id
        else:
            admin = db.session.get(User, built.people["admin"])
            edit = templates.Update(name=published.name)
            draft_id = templates.perform(admin, published.id, edit).template.id
        db.session.remove()
    return draft_id


def pages_of(built: bigfirm.Built, draft: int) -> list[tuple[str, int | None, str]]:
    small, big = built.matters["small"], built.matters["big"]
    pages: list[tuple[str, int | None, str]] = [
        ("inbox", None, "/inbox"),
        ("matters", None, "/matters"),
        ("matter search", None, f"/matters?q={built.search}"),
        ("matter workflows, 10", None, f"/matters/{small}/workflows"),
        ("matter workflows, 500", None, f"/matters/{big}/workflows"),
    ]
    pages += [("runner", int(n), f"/matters/{small}/workflows/{built.instances[n]}") for n in SIZES]
    pages += [
        ("templates", None, "/workflows/templates"),
        ("builder", 400, f"/workflows/templates/{built.templates['400']}"),
        ("builder, draft", 400, f"/workflows/templates/{draft}"),
    ]
    return pages


def api_of(built: bigfirm.Built) -> list[tuple[str, int | None, str]]:
    return [
        ("API instances", None, "/api/v1/instances"),
        ("API matters", None, "/api/v1/matters"),
        ("API events", 400, f"/api/v1/instances/{built.instances['400']}/events"),
    ]


def actionable(app: Flask, built: bigfirm.Built) -> dict[str, int]:
    from webapp.web.reads.inbox import actionable_steps

    with app.app_context():
        found = {}
        for who, user_id in built.people.items():
            user = db.session.get(User, user_id)
            found[who] = len(db.session.execute(actionable_steps(user)).all())
        db.session.remove()
    return found


def _getter(client: FlaskClient, path: str, headers: dict | None = None) -> Callable[[], Any]:
    return lambda: client.get(path, headers=headers or {})


def bench_bigfirm(
    app: Flask, built: bigfirm.Built, reused: bool, label: str, samples: int, results_dir: Path
) -> BigResult:
    with app.app_context():
        counts = {
            t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0
            for t in ("matters", "workflow_instances", "instance_steps", "workflow_events", "jobs")
        }
        db.session.remove()
    result = BigResult(label, built.scale, built.as_dict(), reused, counts, actionable(app, built))
    draft = draft_of_400(app, built)
    for who in PEOPLE:
        browser, _csrf = signed_in(app, built.emails[who])
        for what, steps, path in pages_of(built, draft):
            figure = PageFigure(what, steps, who=who, path=path)
            if measure_one(app, figure, _getter(browser, path), samples):
                result.figures.append(figure)
        api = app.test_client()
        headers = {"Authorization": f"Bearer {built.tokens[who]}"}
        for what, steps, path in api_of(built):
            figure = PageFigure(what, steps, who=who, path=path)
            if measure_one(app, figure, _getter(api, path, headers), samples):
                result.figures.append(figure)
    result.figures += htmx_completions(app, built, samples)
    result.plans_file = write_plans(app, result, results_dir)
    return result


# ---- plans -------------------------------------------------------------------------------


def write_plans(app: Flask, result: BigResult, results_dir: Path) -> str:
    """The slowest distinct SELECTs of all figures, explained (PostgreSQL: EXPLAIN (ANALYZE,
    BUFFERS), which runs the statement; SQLite: EXPLAIN QUERY PLAN)."""
    chosen: dict[str, tuple[float, PageFigure, Any]] = {}
    for figure in result.figures:
        if figure.slowest is None:
            continue
        seconds, statement, parameters = figure.slowest
        if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        if statement not in chosen or chosen[statement][0] < seconds:
            chosen[statement] = (seconds, figure, parameters)
    worst = sorted(chosen.items(), key=lambda item: -item[1][0])[:PLANS]
    path = results_dir / f"bigfirm-plans-{result.database.lower()}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"Section (e), {result.database}, scale {result.scale}: the {len(worst)} slowest "
        "distinct statements of the measured pages, slowest first.\n"
    ]
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            for statement, (seconds, figure, parameters) in worst:
                lines.append("=" * 100)
                lines.append(
                    f"{seconds * 1000:.1f} ms — {figure.what}"
                    f"{f' {figure.steps} steps' if figure.steps else ''} ({WHO[figure.who]}), "
                    f"{figure.path}"
                )
                lines.append(statement.strip())
                lines.append(f"-- parameters: {parameters!r}"[:2000])
                lines.append("-- plan:")
                lines += explain(raw, statement, parameters)
                raw.rollback()
        finally:
            raw.close()
        db.session.remove()
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def explain(raw: Any, statement: str, parameters: Any) -> list[str]:
    cursor = raw.cursor()
    try:
        if _is_pg(raw):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            return [row[0] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        return [" | ".join(str(v) for v in row) for row in cursor.fetchall()]
    except Exception as error:  # a plan that cannot be had is said, the others still written
        return [f"(no plan: {type(error).__name__}: {error})"]
    finally:
        cursor.close()


def _is_pg(raw: Any) -> bool:
    return type(raw.driver_connection).__module__.startswith("psycopg")
