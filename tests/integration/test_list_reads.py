"""Lists page by keyset and say how many there are, and every page sends as many SQL
statements with many rows as with few, so an N+1 comes back as a failing test: the inbox
(soonest due first, "Show more"), the matters list and search, the builder, the templates
list, the operations page, an instance's history and the API lists."""

import re
from collections.abc import Callable
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests.integration.test_page_reads import ITEMS, chain, open_chain, started, statements
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceChange, InstanceStep, Job, Matter, WorkflowInstance
from webapp.models.base import utcnow
from webapp.services.instances import instantiate
from webapp.services.matters import list_matters, search_text
from webapp.services.steps import Complete, perform
from webapp.services.templates import Update, create_template, publish_template
from webapp.services.templates import perform as perform_template
from webapp.web.reads.inbox import PAGE_SIZE
from webapp.web.reads.matter_workflows import PAGE_SIZE as WORKFLOWS_PAGE
from webapp.web.reads.matters import PAGE_SIZE as MATTERS_PAGE
from webapp.web.reads.templates import PAGE_SIZE as TEMPLATES_PAGE

INBOX_ROW = re.compile(r'id="inbox-step-(\d+)"')
MORE = re.compile(r'hx-get="(/inbox/more\?[^"]+)"')


@pytest.fixture
def firm(make_org, make_user, make_matter, login_as, api_as):
    org = make_org()
    admin = make_user(org, Role.ADMIN)
    lawyer = make_user(org, Role.LAWYER)
    matter = make_matter(lawyer)
    return {"admin": admin, "lawyer": lawyer, "matter": matter, "web": login_as(lawyer)}


def same_count(fetch: Callable[[], Any], grow: Callable[[], None]) -> tuple[Any, Any]:
    """The statements one request sends before and after `grow` adds rows: equal."""
    fetch()  # a first request warms the caches
    with statements() as few:
        small = fetch()
    grow()
    fetch()
    with statements() as many:
        large = fetch()
    assert small.status_code == large.status_code == HTTPStatus.OK
    assert len(many) == len(few), (len(few), len(many))
    return small, large


# ---- the inbox ------------------------------------------------------------------------


def test_inbox_pages_its_steps_soonest_due_first_and_shows_more_when_asked(firm) -> None:
    lawyer, matter, web = firm["lawyer"], firm["matter"], firm["web"]
    instance = started(lawyer, matter, chain(PAGE_SIZE + 12, depends_on=[]))
    steps = list(
        db.session.scalars(
            select(InstanceStep)
            .where(InstanceStep.instance_id == instance.id)
            .order_by(InstanceStep.order)
        )
    )
    soon, later = steps[-1], steps[-2]  # due dates put the last steps first
    soon.due_at, later.due_at = utcnow() + timedelta(days=1), utcnow() + timedelta(days=3)
    db.session.commit()
    page = web.get("/inbox").get_data(as_text=True)
    first = [int(i) for i in INBOX_ROW.findall(page)]
    assert f"{PAGE_SIZE + 12} steps waiting for you, soonest due first." in page
    assert len(first) == PAGE_SIZE and first[:2] == [soon.id, later.id]
    assert "(12 more)" in page
    more_url = MORE.search(page).group(1).replace("&amp;", "&")
    with statements() as sent:
        fragment = web.get(more_url, htmx=True)
    rest = [int(i) for i in INBOX_ROW.findall(fragment.get_data(as_text=True))]
    assert fragment.status_code == HTTPStatus.OK and len(sent) <= 3
    assert len(rest) == 12 and "Show more" not in fragment.get_data(as_text=True)
    assert sorted(first + rest) == sorted(s.id for s in steps)
    plain = web.get(more_url)  # without HTMX: the inbox with the list continued
    assert plain.status_code == HTTPStatus.OK
    assert [int(i) for i in INBOX_ROW.findall(plain.get_data(as_text=True))] == rest


def test_inbox_refuses_a_broken_show_more_link_when_its_cursor_is_garbled(firm) -> None:
    web = firm["web"]
    for url in ("/inbox/more?group=ready&after=nonsense", "/inbox/more?group=nope&after=x"):
        response = web.get(url, htmx=True)
        assert response.status_code == HTTPStatus.BAD_REQUEST


def test_inbox_sends_as_many_statements_for_80_steps_as_for_3(firm) -> None:
    lawyer, matter, web = firm["lawyer"], firm["matter"], firm["web"]
    started(lawyer, matter, chain(3, depends_on=[]))
    _small, large = same_count(
        lambda: web.get("/inbox"), lambda: started(lawyer, matter, chain(80, depends_on=[]))
    )
    assert "83 steps waiting" in large.get_data(as_text=True)


# ---- matters: the list, its pages, search -----------------------------------------------


def open_matters(make_matter, owner, count: int, prefix: str = "PAGED") -> None:
    for n in range(count):
        make_matter(owner, reference=f"{prefix}-{n:04d}")


def test_matters_list_pages_by_reference_and_says_how_many_when_there_are_many(
    firm, make_matter
) -> None:
    lawyer, web = firm["lawyer"], firm["web"]
    open_matters(make_matter, lawyer, MATTERS_PAGE + 9)
    total = MATTERS_PAGE + 10  # and the fixture's own matter
    page = web.get("/matters").get_data(as_text=True)
    shown = re.findall(r'<tr id="matter-(\d+)"', page)
    assert len(shown) == MATTERS_PAGE and f"{MATTERS_PAGE} shown of {total} matters" in page
    next_url = re.search(r'rel="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    following = web.get(next_url, htmx=True).get_data(as_text=True)
    rest = re.findall(r'<tr id="matter-(\d+)"', following)
    assert len(rest) == 10 and not set(rest) & set(shown) and 'rel="next"' not in following
    assert "First page" in following


def test_matters_search_matches_reference_or_title_and_takes_wildcards_literally(
    firm, make_matter
) -> None:
    lawyer, web = firm["lawyer"], firm["web"]
    open_matters(make_matter, lawyer, 3, prefix="ACME")
    make_matter(lawyer, reference="100%-CASE")
    page = web.get("/matters?q=acme-0001").get_data(as_text=True)
    assert "ACME-0001" in page and "ACME-0002" not in page and "1 matter matching" in page
    assert len(list_matters(lawyer, "%")[0]) == 1  # only the reference with a %
    assert len(list_matters(lawyer, "_")[0]) == 0


def test_matters_search_can_use_the_trigram_index_when_on_postgresql(firm, dialect) -> None:
    if dialect != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's (pg_trgm)")
    query = select(Matter.id).where(search_text().like("%acme%"))
    compiled = query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    with db.engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(connection.scalars(text(f"EXPLAIN {compiled}")))
    assert "ix_matters_search_trgm" in plan, plan


def test_matters_list_and_search_send_as_many_statements_for_40_matters_as_for_2(
    firm, make_matter, make_user
) -> None:
    lawyer, web = firm["lawyer"], firm["web"]
    paralegal = make_user(lawyer.org, Role.PARALEGAL)
    make_matter(lawyer, paralegal, reference="FEW-1")

    def grow() -> None:
        for n in range(40):
            matter = make_matter(lawyer, paralegal, reference=f"MANY-{n:03d}")
            instantiate(lawyer, template.id, matter.id, title="Grown")

    template = create_template(lawyer, "Grow", chain(2))
    publish_template(lawyer, template.id)
    same_count(lambda: web.get("/matters"), grow)
    same_count(lambda: web.get("/matters?q=many", htmx=True), lambda: None)


def test_matter_workflows_tab_pages_newest_first_and_says_how_many_when_there_are_many(
    firm,
) -> None:
    lawyer, matter, web = firm["lawyer"], firm["matter"], firm["web"]
    template = create_template(lawyer, "Paged workflows", chain(1))
    publish_template(lawyer, template.id)
    made = [
        instantiate(lawyer, template.id, matter.id, title=f"Run {n}")[0].id
        for n in range(WORKFLOWS_PAGE + 4)
    ]
    page = web.get(f"/matters/{matter.id}/workflows").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'<tr id="instance-(\d+)"', page)]
    assert shown == sorted(made, reverse=True)[:WORKFLOWS_PAGE]
    assert f"{WORKFLOWS_PAGE} shown of {WORKFLOWS_PAGE + 4} workflows" in page
    assert f'<span class="count">{WORKFLOWS_PAGE + 4}</span>' in page
    next_url = re.search(r'rel="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    following = web.get(next_url, htmx=True).get_data(as_text=True)
    rest = [int(i) for i in re.findall(r'<tr id="instance-(\d+)"', following)]
    assert rest == sorted(made, reverse=True)[WORKFLOWS_PAGE:]
    assert 'rel="next"' not in following and "First page" in following
    garbled = web.get(f"/matters/{matter.id}/workflows?before=nonsense")
    assert garbled.status_code == HTTPStatus.OK  # a garbled cursor shows the first page
    assert len(re.findall(r'<tr id="instance-', garbled.get_data(as_text=True))) == WORKFLOWS_PAGE


# ---- builder, templates, operations, history ---------------------------------------------


def test_builder_sends_as_many_statements_for_40_steps_as_for_3(firm) -> None:
    lawyer, web = firm["lawyer"], firm["web"]
    few = create_template(lawyer, "Few steps", chain(3))
    many = create_template(lawyer, "Many steps", chain(40))
    for template in (few, many):
        web.get(f"/workflows/templates/{template.id}")
    with statements() as small:
        assert web.get(f"/workflows/templates/{few.id}").status_code == HTTPStatus.OK
    with statements() as large:
        assert web.get(f"/workflows/templates/{many.id}").status_code == HTTPStatus.OK
    assert len(large) == len(small)


def test_templates_list_sends_as_many_statements_for_12_templates_as_for_2(firm) -> None:
    lawyer, web = firm["lawyer"], firm["web"]
    for n in range(2):
        create_template(lawyer, f"First {n}", chain(3))

    def grow() -> None:
        for n in range(10):
            template = create_template(lawyer, f"Later {n}", chain(20))
            if n % 2:
                publish_template(lawyer, template.id)

    _small, large = same_count(lambda: web.get("/workflows/templates"), grow)
    assert "Later 9" in large.get_data(as_text=True)


def test_templates_list_pages_by_name_and_says_how_many_when_there_are_many(firm) -> None:
    lawyer, web = firm["lawyer"], firm["web"]
    made = [create_template(lawyer, f"Paged {n:03d}", chain(1)) for n in range(TEMPLATES_PAGE + 5)]
    renamed = made[0]  # its newest version's name is the one it is listed under
    publish_template(lawyer, renamed.id)
    newer = perform_template(lawyer, renamed.id, Update(name="Zz renamed"))
    page = web.get("/workflows/templates?q=paged").get_data(as_text=True)  # keys match too
    shown = re.findall(r'<tr id="template-(\d+)"', page)
    assert len(shown) == TEMPLATES_PAGE
    assert f"{TEMPLATES_PAGE} shown of {TEMPLATES_PAGE + 5} templates matching" in page
    next_url = re.search(r'rel="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "q=paged" in next_url
    following = web.get(next_url, htmx=True).get_data(as_text=True)
    rest = re.findall(r'<tr id="template-(\d+)"', following)
    listed = [t.id for t in made[1:]] + [newer.template.id]  # by name: "Zz renamed" last
    assert [int(i) for i in shown + rest] == listed and "First page" in following
    after_last = web.get(f"/workflows/templates?after={made[-1].key}", htmx=True)
    assert re.findall(r'<tr id="template-(\d+)"', after_last.get_data(as_text=True)) == [
        str(newer.template.id)
    ]


def dead_jobs(instance: WorkflowInstance, count: int) -> None:
    steps = db.session.scalars(
        select(InstanceStep.id).where(InstanceStep.instance_id == instance.id)
    ).all()
    for n in range(count):
        db.session.add(
            Job(
                org_id=instance.org_id,
                instance_id=instance.id,
                kind="step.run",
                payload={"instanceId": instance.id, "stepId": steps[n % len(steps)]},
                status="DEAD",
                attempts=5,
                last_error="It broke.",
            )
        )
    db.session.commit()


def test_operations_page_sends_as_many_statements_for_20_dead_jobs_as_for_1(firm, login_as) -> None:
    lawyer, matter, admin = firm["lawyer"], firm["matter"], firm["admin"]
    web = login_as(admin)
    dead_jobs(started(lawyer, matter, chain(5)), 1)

    def grow() -> None:
        for _ in range(4):
            dead_jobs(started(lawyer, matter, chain(30)), 5)

    _small, large = same_count(lambda: web.get("/admin/jobs"), grow)
    assert 'id="count-dead">21<' in large.get_data(as_text=True)


def test_history_sends_as_many_statements_for_30_changes_as_for_2(firm) -> None:
    lawyer, matter, web = firm["lawyer"], firm["matter"], firm["web"]
    instance = started(lawyer, matter, chain(40))

    def change(count: int) -> None:
        for n in range(count):
            db.session.add(
                InstanceChange(
                    org_id=instance.org_id,
                    instance_id=instance.id,
                    actor_id=lawyer.id,
                    change_type="step_edited",
                    detail={"key": f"step_{n + 1}", "fields": ["title"]},
                )
            )
        db.session.commit()

    change(2)
    url = f"/matters/{matter.id}/workflows/{instance.id}/history"
    same_count(lambda: web.get(url, htmx=True), lambda: change(28))


# ---- the API lists ------------------------------------------------------------------------


def test_api_instances_pages_by_cursor_and_counts_every_match_when_asked(firm, api_as) -> None:
    lawyer, matter = firm["lawyer"], firm["matter"]
    api = api_as(lawyer)
    template = create_template(lawyer, "Paged", chain(2))
    publish_template(lawyer, template.id)
    for n in range(7):
        instantiate(lawyer, template.id, matter.id, title=f"Paged {n}")
    first = api.get("/instances?limit=3").get_json()
    assert first["total"] == 7 and len(first["items"]) == 3
    seen = [item["id"] for item in first["items"]]
    while True:
        page = api.get(f"/instances?limit=3&after={seen[-1]}").get_json()
        assert page["total"] == 7
        if not page["items"]:
            break
        seen += [item["id"] for item in page["items"]]
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 7
    by_offset = api.get("/instances?limit=3&offset=3").get_json()
    assert [item["id"] for item in by_offset["items"]] == seen[3:6]  # offset still works
    for bad in ("0", "-1", "x", str(2**31)):
        response = api.get(f"/instances?after={bad}")
        assert response.status_code == HTTPStatus.BAD_REQUEST, bad
        assert "after" in response.get_json()["error"]["message"]


def test_api_matters_and_templates_page_by_keyset_when_after_is_given(
    firm, make_matter, api_as
) -> None:
    lawyer = firm["lawyer"]
    api = api_as(lawyer)
    open_matters(make_matter, lawyer, 7, prefix="KEYSET")
    references: list[str] = []
    while True:
        after = f"&after={references[-1]}" if references else ""
        page = api.get(f"/matters?q=keyset&limit=3{after}").get_json()
        assert page["total"] == 7
        if not page["items"]:
            break
        references += [item["reference"] for item in page["items"]]
    assert references == [f"KEYSET-{n:04d}" for n in range(7)]
    for n in range(5):
        create_template(lawyer, f"Keyed {n}", chain(1))
    first = api.get("/templates?q=keyed&limit=2").get_json()
    rest = api.get(f"/templates?q=keyed&after={first['items'][-1]['key']}").get_json()
    names = [t["name"] for t in first["items"] + rest["items"]]
    assert names == [f"Keyed {n}" for n in range(5)] and rest["total"] == 5
    for url in ("/matters?after=", "/templates?after=" + "k" * 301):
        response = api.get(url)
        assert response.status_code == HTTPStatus.BAD_REQUEST, url
        assert "after" in response.get_json()["error"]["message"]


def test_api_lists_send_as_many_statements_for_many_rows_as_for_few(
    firm, make_matter, make_user, api_as
) -> None:
    lawyer, matter, admin = firm["lawyer"], firm["matter"], firm["admin"]
    paralegal = make_user(lawyer.org, Role.PARALEGAL)
    template = create_template(lawyer, "Api", chain(3))
    publish_template(lawyer, template.id)
    instance, _new = instantiate(lawyer, template.id, matter.id, title="First")
    for as_admin in (False, True):
        api = api_as(admin if as_admin else lawyer)
        urls = ["/instances", "/matters", "/templates"]
        urls += [f"/instances/{instance.id}/events?limit=200"]
        urls += ["/jobs?status=DEAD"] if as_admin else []
        counts: dict[str, int] = {}
        for url in urls:
            api.get(url)
            with statements() as sent:
                assert api.get(url).status_code == HTTPStatus.OK, url
            counts[url] = len(sent)
        for n in range(8):
            other = make_matter(lawyer, paralegal, reference=f"API-{as_admin}-{n}")
            grown, _new = instantiate(lawyer, template.id, other.id, title=f"More {n}")
            create_template(lawyer, f"Api more {as_admin} {n}", chain(12))
            dead_jobs(grown, 2)
        perform(lawyer, open_chain(instance.id)[0], Complete({"checkedItems": ITEMS}))
        for url in urls:
            api.get(url)
            with statements() as sent:
                assert api.get(url).status_code == HTTPStatus.OK, url
            assert len(sent) == counts[url], (url, counts[url], len(sent))
    assert (
        db.session.scalar(select(func.count()).select_from(Job).where(Job.status == "DEAD")) == 32
    )


def test_api_instances_refuses_a_context_a_database_cannot_store_when_searched(
    firm, api_as
) -> None:
    api = api_as(firm["lawyer"])
    for bad in ('{"a": "\\u0000"}', '{"\\ud800": 1}', '{"a": ["x", {"b": "\\udfff"}]}'):
        response = api.get("/instances", query_string={"context": bad})
        assert response.status_code == HTTPStatus.BAD_REQUEST, bad
        assert "NUL" in response.get_json()["error"]["message"]
    assert api.get("/instances", query_string={"context": '{"a": "ok"}'}).status_code == 200
