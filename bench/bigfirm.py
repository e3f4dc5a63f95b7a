"""(e) a big firm on demand: one firm of 200 people with ten years of work, built once and
kept between runs.

At scale 1 (PostgreSQL's default; SQLite takes a tenth): about 18,000 matters, 60,000
workflow instances, 1.2 million instance steps, 4.6 million audit rows and 1.15 million
jobs. What a person could do goes through the services: the people, the four templates
(5, 20, 200 and 400 steps, created and published), a prototype matter and, per template,
one prototype instance that people work through step by step (`services.steps.perform`)
while the real worker (`webapp.worker.drain`) settles the jobs it enqueues. The rows of
each prototype are recorded at several stages of its life (10%, 50% and 90% of its steps
done, and finished). Everything else is those recorded rows cloned in bulk (`COPY` on
PostgreSQL, `executemany` on SQLite): ids renumbered, people mapped to the clone's
matter's people, timestamps stretched over the clone's own stretch of the ten years, the
JSON that names an id or a title rewritten. `clone_differences` compares a clone with
its prototype column by column; the build asserts it for every stage.

The database keeps the firm: the table `bench_bigfirm` says which scale it holds and
where the measured people and instances are; a later run reuses it unless the scale
differs or `--rebuild` is asked."""

import itertools
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Table, func, select, text

from bench.seed import CHECKLIST_ITEMS, COMPLETE_PAYLOAD, PASSWORD
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import (
    InstanceChange,
    InstanceStep,
    Job,
    Matter,
    MatterMember,
    Organization,
    User,
    WorkflowEvent,
    WorkflowInstance,
)
from webapp.persistence.audit_chain import canonical_json, chain_key, row_hash
from webapp.persistence.transaction import transactional
from webapp.services.auth import create_token, new_user
from webapp.services.instances import instantiate, request_hash
from webapp.services.matters import add_member, create_matter
from webapp.services.steps import Claim, Complete, perform
from webapp.services.templates import create_template, publish_template
from webapp.worker import drain

MARKER = "bench_bigfirm"
# Quick password hashes: 200 people are created (and signed in) through the services.
APP_SETTINGS: dict[str, object] = {"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
SEED = 19  # the same firm on every build of one scale

# At scale 1.
MATTERS = 18_000
INSTANCES = 60_000
OPEN_SHARE = 0.05  # instances still running; their READY and IN_PROGRESS steps are the work
PEOPLE = {Role.ADMIN: 4, Role.LAWYER: 70, Role.PARALEGAL: 86, Role.CLIENT: 40}
BIG_MATTER_INSTANCES = 500
SMALL_MATTER_INSTANCES = 10
HEAVY_OPEN = 300  # actionable steps of the paralegal with much work
LIGHT_OPEN = 5  # and of the one with little
YEARS = 10
SEARCH_WORD = "Okafor"  # in about one matter title in a hundred


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    steps: int
    block: int  # steps that run side by side: each block waits on the one before
    share: float  # of the firm's instances
    days: int  # how long one instance runs from start to finish

    @property
    def key(self) -> str:
        return self.name.lower().replace(" ", "-")


TEMPLATES = (
    TemplateSpec("Intake", 5, 1, 0.467, 14),
    TemplateSpec("Engagement", 20, 2, 0.500, 60),
    TemplateSpec("Litigation", 200, 4, 0.028, 365),
    TemplateSpec("Due diligence", 400, 4, 0.005, 700),
)
STAGES = (0.1, 0.5, 0.9, 1.0)  # share of steps done when a prototype is recorded
OPEN_STAGES = STAGES[:-1]


def role_of(n: int) -> Role:
    """The role a template's n-th step is for: paralegals and lawyers share most of the
    work, a client step now and then, an admin step rarely."""
    if n % 25 == 24:
        return Role.ADMIN
    if n % 10 == 9:
        return Role.CLIENT
    return Role.PARALEGAL if n % 2 == 0 else Role.LAWYER


def template_steps(spec: TemplateSpec) -> list[StepDefinition]:
    steps = []
    for n in range(spec.steps):
        block = n // spec.block
        previous = [f"step-{m + 1}" for m in range((block - 1) * spec.block, block * spec.block)]
        steps.append(
            StepDefinition(
                key=f"step-{n + 1}",
                title=f"{spec.name} task {n + 1}",
                action_type="CHECKLIST",
                action_config={"items": CHECKLIST_ITEMS},
                role_scope=role_of(n),
                depends_on=previous if block else [],
                due_in="P5D" if n % 3 == 0 else None,
            )
        )
    return steps


# ---- the people and the prototypes, through the services --------------------------------


@dataclass
class Cast:
    """The prototype matter's people, whom each clone replaces by its own matter's."""

    org_id: int
    admin: int
    owner: int
    paralegal: int
    second_paralegal: int
    second_lawyer: int
    client: int
    matter_id: int


@dataclass
class Snapshot:
    """One prototype instance's rows at one stage of its life, as the services wrote them."""

    spec: TemplateSpec
    stage: float
    instance: dict[str, Any]
    steps: list[dict[str, Any]]
    events: list[dict[str, Any]]
    jobs: list[dict[str, Any]]  # as the worker left them
    fresh_jobs: dict[int, dict[str, Any]]  # id -> as enqueued, before the worker ran them
    changes: list[dict[str, Any]]
    began: datetime = field(init=False)
    ended: datetime = field(init=False)

    def __post_init__(self) -> None:
        times = [r["created_at"] for r in self.events] + [self.instance["updated_at"]]
        self.began, self.ended = min(times), max(times)

    @property
    def open(self) -> bool:
        return self.stage < 1

    def ready(self) -> Counter[str]:
        """Unclaimed READY steps by role, and IN_PROGRESS ones (by their claimant's role)."""
        found: Counter[str] = Counter()
        for step in self.steps:
            if step["action_state"] in ("READY", "IN_PROGRESS"):
                found[step["role_scope"]] += 1
        return found


def rows(table: Table, where: Any) -> list[dict[str, Any]]:
    query = select(table).where(where).order_by(table.c.id)
    return [dict(r) for r in db.session.execute(query).mappings()]


def snapshot(spec: TemplateSpec, stage: float, instance_id: int) -> Snapshot:
    before = {r["id"]: r for r in rows(Job.__table__, Job.instance_id == instance_id)}
    drain("bench-bigfirm")  # the real worker settles what the steps enqueued
    db.session.expire_all()
    jobs = rows(Job.__table__, Job.instance_id == instance_id)
    fresh = {r["id"]: before[r["id"]] for r in jobs if before[r["id"]]["status"] == "PENDING"}
    return Snapshot(
        spec,
        stage,
        rows(WorkflowInstance.__table__, WorkflowInstance.id == instance_id)[0],
        rows(InstanceStep.__table__, InstanceStep.instance_id == instance_id),
        rows(WorkflowEvent.__table__, WorkflowEvent.instance_id == instance_id),
        jobs,
        fresh,
        rows(InstanceChange.__table__, InstanceChange.instance_id == instance_id),
    )


@transactional
def make_people(org_name: str) -> dict[str, list[int]]:
    org = Organization(name=org_name)
    db.session.add(org)
    db.session.flush()
    people: dict[str, list[int]] = {}
    for role, count in PEOPLE.items():
        for n in range(1, count + 1):
            person = new_user(
                org.id,
                f"{role.lower()}{n}@bigfirm.test",
                f"{FIRST[n % len(FIRST)]} {SURNAMES[(n * 7 + len(role)) % len(SURNAMES)]}",
                role,
                PASSWORD,
            )
            people.setdefault(role, []).append(person.id)
    return people


def make_cast(people: dict[str, list[int]]) -> Cast:
    admin = db.session.get(User, people[Role.ADMIN][0])
    owner = db.session.get(User, people[Role.LAWYER][0])
    matter_id = create_matter(owner, "PROTO-0001", "Prototype v. Matter").id
    cast = Cast(
        owner.org_id,
        admin.id,
        owner.id,
        people[Role.PARALEGAL][0],
        people[Role.PARALEGAL][1],
        people[Role.LAWYER][1],
        people[Role.CLIENT][0],
        matter_id,
    )
    for member, role in (
        (cast.paralegal, Role.PARALEGAL),
        (cast.client, Role.CLIENT),
        (cast.second_paralegal, Role.PARALEGAL),
        (cast.second_lawyer, Role.LAWYER),
    ):
        add_member(db.session.get(User, cast.owner), matter_id, member, role)
    return cast


def record_prototype(cast: Cast, spec: TemplateSpec, template_id: int) -> list[Snapshot]:
    """One instance worked through by the prototype matter's people, recorded at each stage:
    one step in three claimed before it is completed, the others completed at once; at each
    open stage the first READY step is left claimed (IN_PROGRESS)."""
    people = {
        Role.ADMIN: db.session.get(User, cast.admin),
        Role.LAWYER: db.session.get(User, cast.owner),
        Role.PARALEGAL: db.session.get(User, cast.paralegal),
        Role.CLIENT: db.session.get(User, cast.client),
    }
    owner = people[Role.LAWYER]
    instance, _ = instantiate(owner, template_id, cast.matter_id, title=spec.name)
    instance_id = instance.id
    snapshots: list[Snapshot] = []
    done = 0
    stages = list(STAGES)
    while stages:
        ready = db.session.execute(
            select(
                InstanceStep.id,
                InstanceStep.role_scope,
                InstanceStep.order,
                InstanceStep.action_state,
            )
            .where(InstanceStep.instance_id == instance_id)
            .where(InstanceStep.action_state.in_(("READY", "IN_PROGRESS")))
            .order_by(InstanceStep.order)
        ).all()
        if not ready or done >= stages[0] * spec.steps:
            if ready and ready[0].action_state == "READY":
                perform(people[ready[0].role_scope], ready[0].id, Claim())
            snapshots.append(snapshot(spec, stages.pop(0), instance_id))
            continue
        for step_id, role, order, state in ready:
            person = people[role]
            if state == "READY" and order % 3 == 0:
                perform(person, step_id, Claim())
            perform(person, step_id, Complete(COMPLETE_PAYLOAD))
            done += 1
    return snapshots


# ---- the plan: which matter holds which clone, when -------------------------------------


NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class MatterPlan:
    number: int  # 1-based, in the order the matters were opened
    reference: str
    title: str
    owner: int
    paralegal: int
    client: int
    second_paralegal: int | None
    second_lawyer: int | None
    opened: datetime = NEVER
    id: int = 0


@dataclass
class ClonePlan:
    snapshot: Snapshot
    matter: MatterPlan
    start: datetime
    stretch: float  # clone seconds per prototype second
    admin: int
    fresh_jobs: bool  # the worker has not run its newest jobs yet
    dead_jobs: bool  # its newest jobs failed for good
    instance_id: int = 0
    step_base: int = 0
    event_base: int = 0
    job_base: int = 0
    change_base: int = 0


FIRST = ["Ada", "Ben", "Chloe", "Dev", "Emeka", "Farah", "Greta", "Hiro", "Ines", "Jonas"]
SURNAMES = [
    "Abara",
    "Brennan",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fujita",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Oduya",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
]
KINDS = ["Acquisition", "Lease", "Employment dispute", "Estate", "Licensing", "Merger review"]


def matter_title(rng: random.Random) -> str:
    if rng.random() < 0.01:
        return f"{SEARCH_WORD} v. {rng.choice(SURNAMES)}"
    if rng.random() < 0.5:
        return f"{rng.choice(SURNAMES)} v. {rng.choice(SURNAMES)}"
    return f"{rng.choice(SURNAMES)} {rng.choice(KINDS)}"


@dataclass
class Plan:
    scale: float
    now: datetime
    matters: list[MatterPlan]
    clones: list[ClonePlan]
    heavy: int  # the paralegal with much work
    light: int  # and the one with little
    client: int  # a client on the measured matters
    big_matter: int  # index into matters: the matter with 500 instances
    small_matter: int  # the one with 10, among them an open instance of each template


def plan_firm(
    scale: float, people: dict[str, list[int]], snapshots: list[Snapshot], now: datetime
) -> Plan:
    rng = random.Random(SEED)
    lawyers, paralegals = people[Role.LAWYER][2:], people[Role.PARALEGAL][2:]
    clients, admins = people[Role.CLIENT][1:], people[Role.ADMIN]
    heavy, light, client = paralegals[0], paralegals[1], clients[0]
    ordinary = paralegals[2:]
    matter_count = max(20, round(MATTERS * scale))
    instance_count = max(matter_count, round(INSTANCES * scale))
    big_count = min(BIG_MATTER_INSTANCES, instance_count // 4)
    matters = [
        MatterPlan(
            n,
            "",
            matter_title(rng),
            rng.choice(lawyers),
            rng.choice(ordinary),
            rng.choice(clients),
            rng.choice(ordinary) if rng.random() < 0.3 else None,
            rng.choice(lawyers) if rng.random() < 0.2 else None,
        )
        for n in range(1, matter_count + 1)
    ]
    big, small = matters[0], matters[1]
    big.paralegal, big.client, small.paralegal, small.client = heavy, client, heavy, client
    small.second_paralegal = light
    by_template: dict[str, dict[float, Snapshot]] = {}
    for shot in snapshots:
        by_template.setdefault(shot.spec.name, {})[shot.stage] = shot
    open_count = round(instance_count * OPEN_SHARE)
    specs = [rng.choices(TEMPLATES, [t.share for t in TEMPLATES])[0] for _ in range(instance_count)]
    clones: list[ClonePlan] = []

    def clone(spec: TemplateSpec, matter: MatterPlan, stage: float) -> None:
        shot = by_template[spec.name][stage]
        span = timedelta(days=spec.days * (stage if shot.open else rng.uniform(0.6, 1.4)))
        if shot.open:  # running now: its last move within the last month
            end = now - timedelta(hours=rng.uniform(1, 24 * 30))
            start = end - span
        else:
            start = now - timedelta(days=rng.uniform(30, 365 * YEARS)) - span
        seconds = max((shot.ended - shot.began).total_seconds(), 1e-3)
        clones.append(
            ClonePlan(
                shot,
                matter,
                start,
                span.total_seconds() / seconds,
                rng.choice(admins),
                fresh_jobs=shot.open and rng.random() < 0.1,
                dead_jobs=shot.open and rng.random() < 0.01,
            )
        )

    # The small matter: an open instance of each template (the runner's pages), the rest done.
    for spec in TEMPLATES:
        clone(spec, small, 0.5)
    for n in range(SMALL_MATTER_INSTANCES - len(TEMPLATES)):
        clone(TEMPLATES[n % 2], small, 1.0)
    for spec in specs[: big_count - 5]:
        clone(spec, big, 1.0)
    for spec in TEMPLATES[:2] * 2 + TEMPLATES[:1]:  # a few still running
        clone(spec, big, 0.5)
    # The rest: open instances on matters whose paralegal work is spread so that the heavy
    # paralegal has about HEAVY_OPEN actionable steps and the light one LIGHT_OPEN.
    heavy_load = sum(c.snapshot.ready()[Role.PARALEGAL] for c in clones if c.snapshot.open)
    light_load = sum(
        c.snapshot.ready()[Role.PARALEGAL] for c in clones if c.snapshot.open and c.matter is small
    )
    rest = specs[big_count + SMALL_MATTER_INSTANCES :]
    others = matters[2:]
    for n, spec in enumerate(rest):
        matter = others[n % len(others)] if n < len(others) else rng.choice(others)
        is_open = n >= len(rest) - open_count
        if not is_open:
            clone(spec, matter, 1.0)
            continue
        clone(spec, matter, rng.choice(OPEN_STAGES))
        work = clones[-1].snapshot.ready()[Role.PARALEGAL]
        if work and heavy_load < HEAVY_OPEN and matter.paralegal != light:
            matter.paralegal = heavy
        if matter.paralegal == heavy:
            heavy_load += work
        if work and light_load < LIGHT_OPEN and matter.paralegal != heavy:
            matter.paralegal = light
        if matter.paralegal == light:
            light_load += work
    # A matter opens before its first workflow starts; one with none opened any time.
    for c in clones:
        c.matter.opened = min(c.matter.opened, c.start - timedelta(days=rng.uniform(0.1, 30)))
    for m in matters:
        if m.opened == NEVER:
            m.opened = now - timedelta(days=rng.uniform(1, 365 * YEARS))
    matters.sort(key=lambda m: m.opened)
    for n, m in enumerate(matters, 1):
        m.number, m.reference = n, f"{m.opened.year}-{n:05d}"
    clones.sort(key=lambda c: c.start)
    return Plan(
        scale,
        now,
        matters,
        clones,
        heavy,
        light,
        client,
        matters.index(big),
        matters.index(small),
    )


# ---- cloning --------------------------------------------------------------------------------


def columns(table: Table) -> list[str]:
    return [c.name for c in table.columns]


JSON_COLUMNS = {
    "workflow_instances": ("base_ref", "context", "step_data", "trigger_data"),
    "instance_steps": ("action_config", "depends_on", "retry", "action_data"),
    "workflow_events": ("payload",),
    "jobs": ("payload",),
    "instance_changes": ("detail",),
    "matters": (),
    "matter_members": (),
}
TIME_COLUMNS = {
    "workflow_instances": ("created_at", "updated_at"),
    "instance_steps": ("due_at", "started_at", "completed_at", "created_at", "updated_at"),
    "workflow_events": ("created_at",),
    "jobs": ("run_at", "locked_until", "created_at", "updated_at"),
    "instance_changes": ("created_at",),
    "matters": ("created_at", "updated_at"),
    "matter_members": (),
}
PEOPLE_COLUMNS = ("actor_id", "created_by_id", "claimed_by_id", "assigned_to_id")
ID_ENDINGS = ("Id", "Ids")
# Jobs about one step: a READY email (`ready:<step>:<version>`), an assignee's or a
# client's receipt email item (`assigned|receipt:<step>:<person>:<version>`).
STEP_KEY = re.compile(r"^(ready|assigned|receipt):(\d+):(\d+(?::\d+)?)$")


def dumps(value: Any) -> str:
    return json.dumps(value)


class JsonText:
    """JSON text of the prototypes' own values, dumped once: a clone passes most of them on
    unchanged (the same object), so its rows need no new dump."""

    def __init__(self, snapshots: list[Snapshot]) -> None:
        self.known: dict[int, tuple[Any, str]] = {}
        for shot in snapshots:
            for row in [shot.instance, *shot.steps, *shot.events, *shot.jobs, *shot.changes]:
                for value in row.values():
                    if isinstance(value, (dict, list)):
                        self.known[id(value)] = (value, dumps(value))

    def __call__(self, value: Any) -> str:
        known = self.known.get(id(value))
        return known[1] if known is not None and known[0] is value else dumps(value)


class Cloner:
    """The rows of one clone, table by table, in the tables' column order. JSON values are
    JSON text and timestamps aware datetimes, ready for COPY (SQLite's writer formats them)."""

    def __init__(self, plan: ClonePlan, cast: Cast) -> None:
        self.plan = plan
        shot = plan.snapshot
        self.shot = shot
        matter = plan.matter
        self.people = {
            cast.owner: matter.owner,
            cast.paralegal: matter.paralegal,
            cast.client: matter.client,
            cast.admin: plan.admin,
            None: None,
        }
        self.first_step = shot.steps[0]["id"]
        self.first_event = shot.events[0]["id"]
        self.first_job = shot.jobs[0]["id"] if shot.jobs else 0
        self.first_change = shot.changes[0]["id"]
        self.newest_jobs = {
            r["id"] for r in shot.jobs if r["created_at"] >= max(j["created_at"] for j in shot.jobs)
        }

    def when(self, moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        seconds = (moment - self.shot.began).total_seconds() * self.plan.stretch
        return self.plan.start + timedelta(seconds=seconds)

    def after(self, moment: datetime | None, anchor: datetime, new_anchor: datetime) -> Any:
        """A time that follows another one by a fixed delay (a job settled, a due date)."""
        return None if moment is None else new_anchor + (moment - anchor)

    def step_id(self, old: int | None) -> int | None:
        return None if old is None else self.plan.step_base + old - self.first_step

    def person(self, old: int | None) -> int | None:
        return self.people[old]

    def json_ids(self, value: Any) -> Any:
        """Ids named in a JSON payload, renumbered; any other `...Id` is refused, so a new
        payload shape cannot slip through unmapped."""
        if not isinstance(value, dict) or not any(k.endswith(ID_ENDINGS) for k in value):
            return (
                value
                if not isinstance(value, dict) or "title" not in value
                else {
                    **value,
                    "title": self.title,
                }
            )
        out = {}
        for key, item in value.items():
            if key == "stepId":
                item = self.step_id(item)
            elif key == "instanceId":
                item = self.plan.instance_id
            elif key == "userId" or key == "actorId":
                item = self.person(item)
            elif key == "title" and isinstance(item, str):
                item = self.title
            elif key.endswith(ID_ENDINGS):
                raise ValueError(f"a payload names {key!r}, which the cloner does not remap")
            out[key] = item
        return out

    @property
    def title(self) -> str:
        return f"{self.shot.spec.name} — {self.plan.matter.reference}"

    def instance(self) -> dict[str, Any]:
        row = dict(self.shot.instance)
        row.update(
            id=self.plan.instance_id,
            matter_id=self.plan.matter.id,
            title=self.title,
            created_by_id=self.person(row["created_by_id"]),
            created_at=self.when(row["created_at"]),
            updated_at=self.when(row["updated_at"]),
            request_hash=request_hash(row["template_id"], self.plan.matter.id, self.title, {}),
        )
        return row

    def steps(self) -> Iterator[dict[str, Any]]:
        for old in self.shot.steps:
            row = dict(old)
            updated = self.when(old["updated_at"])
            row.update(
                id=self.step_id(old["id"]),
                instance_id=self.plan.instance_id,
                claimed_by_id=self.person(old["claimed_by_id"]),
                assigned_to_id=self.person(old["assigned_to_id"]),
                started_at=self.when(old["started_at"]),
                completed_at=self.when(old["completed_at"]),
                created_at=self.when(old["created_at"]),
                updated_at=updated,
            )
            if old["due_at"] is not None:  # due a fixed time after the step became READY
                activated = self.activated.get(old["id"], old["updated_at"])
                row["due_at"] = self.after(old["due_at"], activated, self.when(activated))
            yield row

    @property
    def activated(self) -> dict[int, datetime]:
        if not hasattr(self, "_activated"):
            self._activated = {
                e["step_id"]: e["created_at"]
                for e in self.shot.events
                if e["event_type"] == "step.activate"
            }
        return self._activated

    def events(self) -> Iterator[dict[str, Any]]:
        for old in self.shot.events:
            row = dict(old)
            row.update(
                id=self.plan.event_base + old["id"] - self.first_event,
                matter_id=self.plan.matter.id,
                instance_id=self.plan.instance_id,
                step_id=self.step_id(old["step_id"]),
                actor_id=self.person(old["actor_id"]),
                payload=self.json_ids(old["payload"]),
                created_at=self.when(old["created_at"]),
            )
            yield row

    def jobs(self) -> Iterator[dict[str, Any]]:
        for settled in self.shot.jobs:
            old = settled
            newest = settled["id"] in self.newest_jobs
            if newest and (self.plan.fresh_jobs or self.plan.dead_jobs):
                old = self.shot.fresh_jobs.get(settled["id"], settled)
            row = dict(old)
            created = self.when(old["created_at"])
            if newest and self.plan.dead_jobs:  # what outbox.mark_dead leaves
                row.update(
                    status="DEAD",
                    attempts=old["max_attempts"],
                    last_error="SMTP server refused the message: 550 mailbox unavailable",
                    updated_at=old["created_at"] + timedelta(hours=2),
                )
            match = STEP_KEY.match(old["dedupe_key"] or "")
            if old["dedupe_key"] and not match:
                raise ValueError(f"a job's dedupe key {old['dedupe_key']!r} is not remapped")
            row.update(
                id=self.plan.job_base + old["id"] - self.first_job,
                instance_id=self.plan.instance_id,
                payload=self.json_ids(old["payload"]),
                dedupe_key=self.step_key(match) if match else None,
                run_at=self.after(old["run_at"], old["created_at"], created),
                locked_until=self.after(old["locked_until"], old["created_at"], created),
                created_at=created,
                updated_at=self.after(row["updated_at"], old["created_at"], created),
            )
            yield row

    def step_key(self, match: re.Match[str]) -> str:
        kind, step, rest = match.groups()
        if kind != "ready":  # the person is the prototype's: their clone's id
            person, version = rest.split(":")
            rest = f"{self.person(int(person))}:{version}"
        return f"{kind}:{self.step_id(int(step))}:{rest}"

    def changes(self) -> Iterator[dict[str, Any]]:
        for old in self.shot.changes:
            row = dict(old)
            row.update(
                id=self.plan.change_base + old["id"] - self.first_change,
                instance_id=self.plan.instance_id,
                actor_id=self.person(old["actor_id"]),
                detail=self.json_ids(old["detail"]),
                created_at=self.when(old["created_at"]),
            )
            yield row


IGNORED_IN_COMPARISON = {
    # what a clone renumbers or re-times by design; everything else must be equal
    "workflow_instances": {"id", "matter_id", "title", "created_at", "updated_at", "request_hash"}
    | {"created_by_id"},
    "instance_steps": {"id", "instance_id", "due_at", "started_at", "completed_at", "created_at"}
    | {"updated_at", "claimed_by_id"},
    "workflow_events": {"id", "matter_id", "instance_id", "step_id", "actor_id", "created_at"}
    | {"prev_hash", "hash"},  # a clone's own chain (Sealer); verify-audit checks it
    "jobs": {"id", "instance_id", "payload", "dedupe_key", "run_at", "created_at", "updated_at"},
    "instance_changes": {"id", "instance_id", "actor_id", "detail", "created_at"},
}


def clone_differences(shot: Snapshot, cloned: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Where the rows of a clone, read back from the database, differ from its prototype's
    beyond what cloning changes on purpose (ids, people, times, the title): column by
    column, row by row. Empty when the clone is indistinguishable."""
    found: list[str] = []
    originals = {
        "workflow_instances": [shot.instance],
        "instance_steps": shot.steps,
        "workflow_events": shot.events,
        "jobs": shot.jobs,
        "instance_changes": shot.changes,
    }
    for table, old_rows in originals.items():
        new_rows = cloned[table]
        if len(new_rows) != len(old_rows):
            found.append(f"{table}: {len(new_rows)} rows, the prototype has {len(old_rows)}")
            continue
        for old, new in zip(old_rows, new_rows, strict=True):
            if set(old) != set(new):
                found.append(f"{table}: columns {sorted(set(old) ^ set(new))} differ")
            for column in old:
                if column in IGNORED_IN_COMPARISON[table]:
                    continue
                if old[column] != new[column]:
                    found.append(f"{table}.{column}: {old[column]!r} became {new[column]!r}")
        # Renumbered, but in the same relation to each other.
        if table in ("workflow_events", "instance_changes", "instance_steps", "jobs"):
            gaps_old = [b["id"] - a["id"] for a, b in itertools.pairwise(old_rows)]
            gaps_new = [b["id"] - a["id"] for a, b in itertools.pairwise(new_rows)]
            if gaps_old != gaps_new:
                found.append(f"{table}: ids are not numbered as the prototype's")
        times_old = [r.get("created_at") for r in old_rows]
        times_new = [r.get("created_at") for r in new_rows]
        if sorted(range(len(times_old)), key=times_old.__getitem__) != sorted(
            range(len(times_new)), key=times_new.__getitem__
        ):
            found.append(f"{table}: rows are not in the prototype's order of time")
    return found


# ---- writing -----------------------------------------------------------------------------


class Writer:
    """COPY on PostgreSQL, executemany on SQLite; rows as dicts in any column order."""

    def __init__(self, connection: Any, dialect: str, dump: Callable[[Any], str] = dumps) -> None:
        self.connection = connection
        self.dialect = dialect
        self.dump = dump

    def write(self, table: Table, rows: Iterable[dict[str, Any]]) -> int:
        names = columns(table)
        json_columns = [names.index(c) for c in JSON_COLUMNS[table.name]]
        time_columns = [names.index(c) for c in TIME_COLUMNS[table.name]]
        count = 0
        if self.dialect == "postgresql":
            cursor = self.connection.cursor()
            quoted = ", ".join(f'"{n}"' for n in names)
            with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    values = [row[n] for n in names]
                    for i in json_columns:
                        values[i] = self.dump(values[i])
                    copy.write_row(values)
                    count += 1
            return count
        self.connection.execute("BEGIN")
        placeholders = ", ".join("?" for _ in names)
        quoted = ", ".join(f'"{n}"' for n in names)
        statement = f"INSERT INTO {table.name} ({quoted}) VALUES ({placeholders})"
        batch: list[list[Any]] = []
        for row in rows:
            values = [row[n] for n in names]
            for i in json_columns:
                values[i] = self.dump(values[i])
            for i in time_columns:
                if values[i] is not None:
                    values[i] = f"{values[i].astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"
            batch.append(values)
            if len(batch) >= 5000:
                count += self._flush(statement, batch)
        return count + self._flush(statement, batch)

    def _flush(self, statement: str, batch: list[list[Any]]) -> int:
        if batch:
            self.connection.cursor().executemany(statement, batch)
        count = len(batch)
        batch.clear()
        return count


def number(plan: Plan, first: dict[str, int]) -> None:
    """Ids for every matter and clone, after the rows the services wrote."""
    for n, m in enumerate(plan.matters):
        m.id = first["matters"] + n
    ids = dict(first)
    for c in plan.clones:
        shot = c.snapshot
        c.instance_id = ids["workflow_instances"]
        c.step_base, c.event_base = ids["instance_steps"], ids["workflow_events"]
        c.job_base, c.change_base = ids["jobs"], ids["instance_changes"]
        ids["workflow_instances"] += 1
        ids["instance_steps"] += shot.steps[-1]["id"] - shot.steps[0]["id"] + 1
        ids["workflow_events"] += shot.events[-1]["id"] - shot.events[0]["id"] + 1
        ids["jobs"] += (shot.jobs[-1]["id"] - shot.jobs[0]["id"] + 1) if shot.jobs else 0
        ids["instance_changes"] += shot.changes[-1]["id"] - shot.changes[0]["id"] + 1


def matter_rows(plan: Plan, proto: dict[str, Any]) -> tuple[list[dict], list[dict], list[dict]]:
    """Matters, their members and their audit rows, shaped like the prototype matter's
    (create_matter, then add_member for each other person)."""
    matters, members, events = [], [], []
    member_id = proto["next_member_id"]
    event_id = 0  # numbered after the clones' (write_all)
    for m in plan.matters:
        matters.append(
            {
                **proto["matter"],
                "id": m.id,
                "reference": m.reference,
                "title": m.title,
                "owner_id": m.owner,
                "created_at": m.opened,
                "updated_at": m.opened,
            }
        )
        added = [(m.paralegal, Role.PARALEGAL), (m.client, Role.CLIENT)]
        added += [(m.second_paralegal, Role.PARALEGAL)] if m.second_paralegal else []
        added += [(m.second_lawyer, Role.LAWYER)] if m.second_lawyer else []
        seen = {m.owner}
        added = [(u, r) for u, r in added if not (u in seen or seen.add(u))]  # type: ignore[func-returns-value]
        created, member_added = proto["created_event"], proto["member_event"]
        for user_id, role in [(m.owner, Role.LAWYER), *added]:
            members.append({"id": member_id, "matter_id": m.id, "user_id": user_id, "role": role})
            member_id += 1
        moment = m.opened
        events.append(
            {
                **created,
                "id": event_id,
                "matter_id": m.id,
                "actor_id": m.owner,
                "payload": {"reference": m.reference},
                "created_at": moment,
            }
        )
        event_id += 1
        for user_id, role in added:
            moment += timedelta(seconds=40)
            events.append(
                {
                    **member_added,
                    "id": event_id,
                    "matter_id": m.id,
                    "actor_id": m.owner,
                    "payload": {"userId": user_id, "role": role},
                    "created_at": moment,
                }
            )
            event_id += 1
    return matters, members, events


# ---- the build --------------------------------------------------------------------------


@dataclass
class Built:
    """What the marker keeps: the scale, the build's figures, and who and what to measure."""

    scale: float
    built_at: str
    build_seconds: float
    counts: dict[str, int]
    people: dict[str, int]  # "admin", "heavy", "light", "client" -> user id
    emails: dict[str, str]
    tokens: dict[str, str]
    matters: dict[str, int]  # "big", "small", "completions"
    instances: dict[str, int]  # "5", "20", "200", "400" -> an open instance on the small matter
    templates: dict[str, int]  # the same, template ids
    search: str
    audited: int  # clones compared column by column with their prototype

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def progress(message: str) -> None:
    print(f"  · {message}", file=sys.stderr, flush=True)


def load_marker() -> Built | None:
    exists = db.session.execute(
        text("SELECT 1 FROM information_schema.tables WHERE table_name = :t")
        if db.engine.dialect.name == "postgresql"
        else text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :t"),
        {"t": MARKER},
    ).scalar()
    if not exists:
        return None
    value = db.session.execute(text(f"SELECT value FROM {MARKER} WHERE name = 'firm'")).scalar()
    db.session.remove()
    return Built(**json.loads(value)) if value else None


def save_marker(built: Built) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            text(f"CREATE TABLE IF NOT EXISTS {MARKER} (name TEXT PRIMARY KEY, value TEXT)")
        )
        connection.execute(text(f"DELETE FROM {MARKER}"))
        connection.execute(
            text(f"INSERT INTO {MARKER} (name, value) VALUES ('firm', :v)"),
            {"v": json.dumps(built.as_dict())},
        )


def build(app: Flask, scale: float) -> Built:
    """The firm at `scale`, in the empty, migrated database of `app`."""
    began = time.monotonic()
    with app.app_context():
        people = make_people("Big Firm LLP")
        cast = make_cast(people)
        db.session.remove()
        progress(f"(e) {sum(PEOPLE.values())} people and the prototype matter")
        admin = db.session.get(User, cast.admin)
        template_ids: dict[str, int] = {}
        for spec in TEMPLATES:
            template = create_template(admin, spec.name, template_steps(spec), key=spec.key)
            publish_template(admin, template.id)
            template_ids[spec.name] = template.id
        snapshots: list[Snapshot] = []
        for spec in TEMPLATES:
            snapshots += record_prototype(cast, spec, template_ids[spec.name])
            progress(f"(e) prototype of {spec.steps} steps worked through the services")
        completions = completions_matter(cast)
        db.session.remove()
        proto = prototype_matter(cast)
        first = {
            t.name: (db.session.scalar(select(func.max(t.c.id))) or 0) + 1
            for t in (
                Matter.__table__,
                WorkflowInstance.__table__,
                InstanceStep.__table__,
                WorkflowEvent.__table__,
                Job.__table__,
                InstanceChange.__table__,
            )
        }
        proto["next_member_id"] = (db.session.scalar(select(func.max(MatterMember.id))) or 0) + 1
        now = datetime.now(UTC)
        plan = plan_firm(scale, people, snapshots, now)
        number(plan, first)
        db.session.remove()
        service_seconds = time.monotonic() - began
        progress(
            f"(e) services done in {service_seconds:.0f} s; cloning {len(plan.clones):,} "
            f"instances onto {len(plan.matters):,} matters"
        )
        matters, members, matter_events = matter_rows(plan, proto)
        counts = write_all(plan, cast, matters, members, matter_events)
        audited = audit_clones(plan, cast)
        refresh_sequences()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        tokens = {}
        emails = {}
        ids = {
            "admin": people[Role.ADMIN][0],
            "heavy": plan.heavy,
            "light": plan.light,
            "client": plan.client,
        }
        for who, user_id in ids.items():
            emails[who] = db.session.get(User, user_id).email
            tokens[who] = create_token(emails[who], "bench")
        for role, user_id in (
            (Role.ADMIN, cast.admin),
            (Role.LAWYER, cast.owner),
            (Role.PARALEGAL, cast.paralegal),
            (Role.CLIENT, cast.client),
        ):  # who completes the steps of each role in the completions matter
            emails[role.value] = db.session.get(User, user_id).email
        db.session.commit()
        small = plan.matters[plan.small_matter]
        opened = {
            str(c.snapshot.spec.steps): c.instance_id
            for c in plan.clones
            if c.matter is small and c.snapshot.open
        }
        built = Built(
            scale=scale,
            built_at=now.isoformat(timespec="seconds"),
            build_seconds=round(time.monotonic() - began, 1),
            counts=counts,
            people=ids,
            emails=emails,
            tokens=tokens,
            matters={
                "big": plan.matters[plan.big_matter].id,
                "small": small.id,
                "completions": completions,
            },
            instances=opened,
            templates={str(s.steps): template_ids[s.name] for s in TEMPLATES},
            search=SEARCH_WORD,
            audited=audited,
        )
        save_marker(built)
        db.session.remove()
    return built


def completions_matter(cast: Cast) -> int:
    """Where (e) completes steps through HTMX: the prototype people's own matter, so the
    measured people's inboxes and matters stay as built."""
    owner = db.session.get(User, cast.owner)
    matter_id = create_matter(owner, "BENCH-COMPLETIONS", "Bench completions").id
    for member, role in ((cast.paralegal, Role.PARALEGAL), (cast.client, Role.CLIENT)):
        add_member(owner, matter_id, member, role)
    return matter_id


def prototype_matter(cast: Cast) -> dict[str, Any]:
    matter = rows(Matter.__table__, Matter.id == cast.matter_id)[0]
    events = rows(WorkflowEvent.__table__, WorkflowEvent.matter_id == cast.matter_id)
    created = next(e for e in events if e["event_type"] == "matter.created")
    added = next(e for e in events if e["event_type"] == "matter.member_added")
    return {"matter": matter, "created_event": created, "member_event": added}


def write_all(
    plan: Plan, cast: Cast, matters: list[dict], members: list[dict], matter_events: list[dict]
) -> dict[str, int]:
    """Every table in one pass each: COPY streams one table at a time."""
    counts: dict[str, int] = {}
    cloners = [Cloner(c, cast) for c in plan.clones]
    # The matters' audit rows take ids after the clones' (they are the firm's oldest rows,
    # but ids only need to be unique; the audit trail orders a matter's rows by id).
    last = max((c.event_base + len(c.snapshot.events) for c in plan.clones), default=1)
    for n, row in enumerate(matter_events):
        row["id"] = last + n
    raw = db.engine.raw_connection()
    try:
        json_text = JsonText(list({id(c.snapshot): c.snapshot for c in plan.clones}.values()))
        writer = Writer(raw.driver_connection, db.engine.dialect.name, json_text)
        sealer = Sealer(json_text)
        tables: list[tuple[Table, Callable[[], Iterable[dict[str, Any]]]]] = [
            (Matter.__table__, lambda: matters),
            (MatterMember.__table__, lambda: members),
            (WorkflowInstance.__table__, lambda: (c.instance() for c in cloners)),
            (InstanceStep.__table__, lambda: (r for c in cloners for r in c.steps())),
            (InstanceChange.__table__, lambda: (r for c in cloners for r in c.changes())),
            (
                WorkflowEvent.__table__,
                # In id order per matter (the clones', then the matters' own), as the
                # chains run.
                lambda: map(
                    sealer.seal,
                    itertools.chain((r for c in cloners for r in c.events()), matter_events),
                ),
            ),
            (Job.__table__, lambda: (r for c in cloners for r in c.jobs())),
        ]
        for table, produce in tables:
            began = time.monotonic()
            counts[table.name] = writer.write(table, produce())
            raw.driver_connection.commit()
            progress(
                f"(e) {counts[table.name]:>9,} {table.name} in {time.monotonic() - began:.0f} s"
            )
    finally:
        raw.close()
    return counts


class Sealer:
    """The clones' audit rows sealed into their matters' hash chains, as the journal seals
    what the services write (webapp/persistence/audit_chain.py). Rows must come in id
    order per matter. A payload passed on unchanged from its prototype (JsonText knows
    those objects) is made canonical once."""

    def __init__(self, prototypes: JsonText) -> None:
        self.prototypes = prototypes
        self.heads: dict[tuple[int, int | None], str | None] = {}
        self.canonical: dict[int, str] = {}

    def seal(self, row: dict[str, Any]) -> dict[str, Any]:
        key = chain_key(row)
        prev = self.heads.get(key)
        row["prev_hash"] = prev
        row["hash"] = self.heads[key] = row_hash(row, prev, self.payload_text(row["payload"]))
        return row

    def payload_text(self, payload: Any) -> str:
        known = self.prototypes.known.get(id(payload))
        if known is None or known[0] is not payload:
            return canonical_json(payload or {})
        if id(payload) not in self.canonical:
            self.canonical[id(payload)] = canonical_json(payload or {})
        return self.canonical[id(payload)]


def audit_clones(plan: Plan, cast: Cast) -> int:
    """One clone of every stage of every prototype, read back and compared column by column
    with its prototype: the build stops if any differs."""
    seen: set[int] = set()
    audited = 0
    for c in plan.clones:
        if id(c.snapshot) in seen or c.fresh_jobs or c.dead_jobs:
            continue
        seen.add(id(c.snapshot))
        cloned = {
            "workflow_instances": rows(
                WorkflowInstance.__table__, WorkflowInstance.id == c.instance_id
            ),
            "instance_steps": rows(
                InstanceStep.__table__, InstanceStep.instance_id == c.instance_id
            ),
            "workflow_events": rows(
                WorkflowEvent.__table__, WorkflowEvent.instance_id == c.instance_id
            ),
            "jobs": rows(Job.__table__, Job.instance_id == c.instance_id),
            "instance_changes": rows(
                InstanceChange.__table__, InstanceChange.instance_id == c.instance_id
            ),
        }
        problems = clone_differences(c.snapshot, cloned)
        if problems:
            raise AssertionError(
                f"a clone of the {c.snapshot.spec.steps}-step prototype at stage "
                f"{c.snapshot.stage} differs from it: " + "; ".join(problems[:5])
            )
        audited += 1
    db.session.remove()
    return audited


def refresh_sequences() -> None:
    """PostgreSQL hands out the next ids after the copied rows."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as connection:
        for table in db.metadata.sorted_tables:
            if "id" in table.c and table.c.id.primary_key:
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                )
