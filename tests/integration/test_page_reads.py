"""The pages' reads stay bounded whatever the instance's size: the runner and an HTMX
completion send as many SQL statements at 400 steps as at 5, long done and pending
groups collapse and load on demand, and the inbox agrees with the runner's buttons."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus

import pytest
from sqlalchemy import event, select

from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.engine.states import StepState
from webapp.extensions import db
from webapp.models import InstanceStep, WorkflowInstance
from webapp.services.access import matter_access
from webapp.services.instances import instantiate
from webapp.services.steps import Complete, available_acts, perform
from webapp.services.templates import create_template, publish_template
from webapp.web.reads.common import performs
from webapp.web.reads.runner import COLLAPSE_AFTER, SHOWN_COLLAPSED

ITEMS = ["Read", "Sign"]
OOB = re.compile(r'<\w+[^>]*id="([\w-]+)"[^>]*hx-swap-oob="true"')


@contextmanager
def statements() -> Iterator[list[str]]:
    sent: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        # SQLite's BEGIN is sent as a statement (persistence/transaction.py), PostgreSQL's
        # by the driver: whether a request opens the transaction or finds one open is not
        # a read, and would count on one database only.
        if not statement.startswith("BEGIN"):
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def chain(size: int, **fields) -> list[StepDefinition]:
    return [
        StepDefinition(
            key=f"step_{n}",
            title=f"Step {n}",
            action_type="CHECKLIST",
            action_config={"items": ITEMS},
            role_scope=Role.LAWYER,
            **fields,
        )
        for n in range(1, size + 1)
    ]


def started(lawyer, matter, steps: list[StepDefinition], done: int = 0) -> WorkflowInstance:
    template = create_template(lawyer, f"Chain {next_name()}", steps)
    publish_template(lawyer, template.id)
    instance, _new = instantiate(lawyer, template.id, matter.id, title="Chain")
    for step_id in open_chain(instance.id)[:done]:
        perform(lawyer, step_id, Complete({"checkedItems": ITEMS}))
    db.session.expire_all()
    return db.session.get(WorkflowInstance, instance.id)


_names = iter(range(1, 10_000))


def next_name() -> int:
    return next(_names)


def open_chain(instance_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(InstanceStep.id)
            .where(
                InstanceStep.instance_id == instance_id,
                InstanceStep.action_state.in_([StepState.READY, StepState.PENDING]),
            )
            .order_by(InstanceStep.order)
        )
    )


@pytest.fixture
def firm(make_org, make_user, make_matter, login_as):
    org = make_org()
    lawyer = make_user(org, Role.LAWYER)
    matter = make_matter(lawyer)
    return lawyer, matter, login_as(lawyer)


def runner_url(instance: WorkflowInstance) -> str:
    return f"/matters/{instance.matter_id}/workflows/{instance.id}"


def test_runner_sends_as_many_statements_at_400_steps_as_at_5_when_half_is_done(firm) -> None:
    lawyer, matter, web = firm
    counts = {}
    for size in (5, 400):
        instance = started(lawyer, matter, chain(size), done=size // 2)
        web.get(runner_url(instance))  # a first request warms the caches
        with statements() as sent:
            response = web.get(runner_url(instance))
        assert response.status_code == HTTPStatus.OK
        counts[size] = len(sent)
    assert counts[400] == counts[5]


def test_htmx_completion_sends_as_many_statements_at_400_steps_as_at_5(firm) -> None:
    lawyer, matter, web = firm
    counts = {}
    for size in (5, 400):
        instance = started(lawyer, matter, chain(size), done=size // 2)
        # Two completions in turn, the fewer counted: a statement that grows with the
        # instance shows in both; an extra one seen now and then on a busy machine (the
        # full suite, never alone) shows in one at most.
        sent_each = []
        for _ in range(2):
            ready = open_chain(instance.id)[0]
            with statements() as sent:
                response = web.post(
                    f"/steps/{ready}/complete", data={"checkedItems": ITEMS}, htmx=True
                )
            assert response.status_code == HTTPStatus.OK
            sent_each.append(len(sent))
        counts[size] = min(sent_each)
    assert counts[400] == counts[5]


def test_runner_collapses_long_done_and_pending_groups_when_an_instance_is_long(firm) -> None:
    lawyer, matter, web = firm
    instance = started(lawyer, matter, chain(40), done=20)
    page = web.get(runner_url(instance)).get_data(as_text=True)
    completed = page[page.index('id="group-completed"') : page.index('id="group-skipped"')]
    pending = page[page.index('id="group-pending"') : page.index('id="group-completed"')]
    assert completed.count('class="step-card') == SHOWN_COLLAPSED
    assert "Show all 20" in completed and "The 5 most recent of 20." in completed
    assert (
        'id="step-' in completed and "Step 20</h3>" in completed and "Step 1</h3>" not in completed
    )
    assert pending.count('class="step-card') == SHOWN_COLLAPSED
    assert "Show all 19" in pending and "Step 22</h3>" in pending and "Step 40</h3>" not in pending
    ready = page[page.index('id="group-ready"') : page.index('id="group-in-progress"')]
    assert ready.count('class="step-card') == 1  # open groups are never collapsed


def test_show_all_loads_the_whole_group_when_asked_with_htmx_or_without(firm) -> None:
    lawyer, matter, web = firm
    instance = started(lawyer, matter, chain(30), done=12)
    url = f"{runner_url(instance)}/groups/completed"
    fragment = web.get(url, htmx=True)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == HTTPStatus.OK
    assert body.count('class="step-card') == 12 and "Show all" not in body
    assert body.lstrip().startswith('<section class="step-group group-completed"')
    plain = web.get(url)
    assert plain.status_code == HTTPStatus.SEE_OTHER
    assert plain.headers["Location"].endswith("?show=completed#group-completed")
    page = web.get(f"{runner_url(instance)}?show=completed").get_data(as_text=True)
    completed = page[page.index('id="group-completed"') : page.index('id="group-skipped"')]
    assert completed.count('class="step-card') == 12
    assert web.get(f"{runner_url(instance)}/groups/nonsense", htmx=True).status_code == 404


def test_short_groups_stay_whole_when_they_fit(firm) -> None:
    lawyer, matter, web = firm
    instance = started(lawyer, matter, chain(COLLAPSE_AFTER + 2), done=COLLAPSE_AFTER)
    page = web.get(runner_url(instance)).get_data(as_text=True)
    assert "Show all" not in page
    assert page.count('class="step-card') == COLLAPSE_AFTER + 2


def test_audit_trail_shows_the_newest_entries_and_loads_older_ones_when_asked(firm) -> None:
    lawyer, matter, web = firm
    instance = started(lawyer, matter, chain(30), done=20)
    page = web.get(runner_url(instance)).get_data(as_text=True)
    trail = page[page.index('id="audit-trail"') :]
    assert trail.count('class="tl-item') == 20
    older = re.search(r'hx-get="([^"]+/audit\?before=\d+)"', trail).group(1)
    more = web.get(older.replace("&amp;", "&"), htmx=True).get_data(as_text=True)
    assert more.count('class="tl-item') == 20 and "Show older entries" in more
    shown_ids = set(re.findall(r"Step (\d+)", trail + more))
    assert shown_ids  # older rows name their steps too


def test_completion_swaps_only_the_groups_it_changed_when_a_step_is_done(firm) -> None:
    lawyer, matter, web = firm
    instance = started(lawyer, matter, chain(30), done=10)
    ready = open_chain(instance.id)[0]
    response = web.post(f"/steps/{ready}/complete", data={"checkedItems": ITEMS}, htmx=True)
    body = response.get_data(as_text=True)
    swapped = set(OOB.findall(body))
    assert {"instance-status", "runner-actions", "instance-progress", "audit-trail"} <= swapped
    assert {"group-ready", "group-completed", "group-pending"} <= swapped
    assert "group-blocked" not in swapped and "group-failed" not in swapped
    completed = body[body.index('id="group-completed"') :]
    assert "Show all 11" in completed and "Step 11</h3>" in completed
    assert "<strong>11</strong> of 30 steps done" in body


def test_inbox_sends_one_statement_for_its_steps_whatever_their_number(
    firm, make_user, login_as
) -> None:
    lawyer, matter, _web = firm
    parallel = chain(60, depends_on=[])
    started(lawyer, matter, parallel[:3])
    page_small = login_as(lawyer)
    page_small.get("/inbox")
    with statements() as few:
        small = page_small.get("/inbox").get_data(as_text=True)
    started(lawyer, matter, parallel)
    with statements() as many:
        large = page_small.get("/inbox").get_data(as_text=True)
    assert "3 steps waiting for you" in small and "63 steps waiting for you" in large
    assert len(many) == len(few)


def test_inbox_agrees_with_the_runner_buttons_for_every_person_and_step(
    make_org, make_user, make_matter, login_as
) -> None:
    org = make_org()
    admin = make_user(org, Role.ADMIN)
    owner = make_user(org, Role.LAWYER)
    member_lawyer = make_user(org, Role.LAWYER)
    paralegal = make_user(org, Role.PARALEGAL)
    other_paralegal = make_user(org, Role.PARALEGAL)
    client = make_user(org, Role.CLIENT)
    outsider = make_user(org, Role.LAWYER)
    matter = make_matter(owner, member_lawyer, paralegal, other_paralegal, client)
    elsewhere = make_matter(outsider, reference="ELSEWHERE")
    kinds = [
        ("CHECKLIST", {"items": ITEMS}),
        ("APPROVAL_LAWYER", {}),
        ("core.echo", {"message": "hi"}),
    ]
    steps = [
        StepDefinition(
            key=f"s_{role.lower()}_{n}",
            title=f"{role} {kind}",
            action_type=kind,
            action_config=config,
            role_scope=role,
            depends_on=[],
        )
        for role in (Role.ADMIN, Role.LAWYER, Role.PARALEGAL, Role.CLIENT)
        for n, (kind, config) in enumerate(kinds)
        if not (kind == "APPROVAL_LAWYER" and role not in (Role.LAWYER, Role.ADMIN))
    ]
    instances = [started(owner, matter, steps), started(outsider, elsewhere, steps)]
    ids = [i.id for i in instances]
    rows = list(db.session.scalars(select(InstanceStep).where(InstanceStep.instance_id.in_(ids))))
    # Vary who holds each step: assigned, claimed by someone, in progress.
    people = [owner, member_lawyer, paralegal, other_paralegal, client, admin, outsider]
    for n, step in enumerate(rows):
        if n % 4 == 1:
            step.assigned_to_id = people[n % len(people)].id
        if n % 4 == 2:
            step.claimed_by_id = people[(n + 1) % len(people)].id
        if n % 4 == 3:
            step.action_state = StepState.IN_PROGRESS
            step.claimed_by_id = people[n % len(people)].id
    db.session.commit()
    for person in [admin, *people[:-2], outsider]:
        page = login_as(person).get("/inbox").get_data(as_text=True)
        listed = {int(i) for i in re.findall(r'id="inbox-step-(\d+)"', page)}
        expected = set()
        for instance_id in ids:
            instance = db.session.get(WorkflowInstance, instance_id)
            access = matter_access(instance.matter)
            if not access.can_see(person.id, person.role):
                continue
            for step in instance.steps:
                mine = step.action_state == StepState.READY or step.claimed_by_id == person.id
                if mine and performs(available_acts(step, instance, person, access)):
                    expected.add(step.id)
        assert listed == expected, person.name
    assert listed  # the outsider has work on their own matter


def test_matter_workflows_tab_sends_as_many_statements_for_30_workflows_as_for_2(firm) -> None:
    lawyer, matter, web = firm
    url = f"/matters/{matter.id}/workflows"
    template = create_template(lawyer, "Tab", chain(4))
    publish_template(lawyer, template.id)
    for n in range(2):
        instantiate(lawyer, template.id, matter.id, title=f"Few {n}")
    web.get(url)
    with statements() as few:
        small = web.get(url).get_data(as_text=True)
    for n in range(28):
        instantiate(lawyer, template.id, matter.id, title=f"Many {n}")
    web.get(url)
    with statements() as many:
        large = web.get(url).get_data(as_text=True)
    assert small.count('<tr id="instance-') == 2 and large.count('<tr id="instance-') == 30
    assert large.count("In sync") == 30 and "0 of 4" in large
    assert len(many) == len(few)


def test_groups_and_older_audit_rows_are_not_found_when_another_firm_asks(
    firm, make_org, make_user, login_as
) -> None:
    lawyer, matter, web = firm
    instance = started(lawyer, matter, chain(30), done=12)
    stranger = login_as(make_user(make_org(), Role.LAWYER))
    for path in ("groups/completed", "audit?before=999999"):
        url = f"{runner_url(instance)}/{path}"
        assert stranger.get(url, htmx=True).status_code == HTTPStatus.NOT_FOUND
        assert web.get(url, htmx=True).status_code == HTTPStatus.OK
    assert web.get(f"{runner_url(instance)}?show=nonsense").status_code == HTTPStatus.OK
