"""A long template in the builder: a window of rows with the rest of the order kept in
the reorder form, prerequisites typed as keys, a preview cut after its first stages, and
a page that stays light (issue 19: no answer over 200 KB, a 400-step draft weighed 2 MB)."""

import re
from http import HTTPStatus
from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.test_page_reads import chain
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import TemplateStep, WorkflowTemplate
from webapp.services.templates import create_template
from webapp.web.reads.builder import PREVIEW_ITEMS, WINDOW

ROW = re.compile(r'<li class="step-row[^"]*" id="step-row-(\d+)"')
PREVIEW_ITEM = re.compile(r'<li class="preview-item">')
LIMIT = 200 * 1024


@pytest.fixture
def lawyer(make_org, make_user):
    return make_user(make_org(), Role.LAWYER)


@pytest.fixture
def web(lawyer, login_as) -> Any:
    return login_as(lawyer)


def long_draft(lawyer, size: int) -> WorkflowTemplate:
    return create_template(lawyer, f"Long {size}", chain(size))


def order_of(template_id: int) -> list[int]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(TemplateStep.id)
            .where(TemplateStep.template_id == template_id)
            .order_by(TemplateStep.order)
        )
    )


def rows(body: str) -> list[int]:
    return [int(i) for i in ROW.findall(body)]


def posted_ids(body: str) -> list[int]:
    """The step ids the reorder form would post, in its order."""
    form = body[body.index('id="reorder-form"') : body.index("</form>", body.index("reorder-form"))]
    return [int(i) for i in re.findall(r'name="step_id" value="(\d+)"', form)]


def test_a_long_template_shows_a_window_of_rows_and_pages_through_the_rest(lawyer, web) -> None:
    template = long_draft(lawyer, 60)
    ids = order_of(template.id)
    page = web.get(f"/workflows/templates/{template.id}").get_data(as_text=True)
    assert rows(page) == ids[:WINDOW]
    assert f"Steps 1\u2013{WINDOW} of 60" in page and 'class="count">60<' in page
    assert posted_ids(page) == ids  # the hidden rows keep their places in the form
    later = re.search(r'hx-get="([^"]+list_from=\d+)"[^>]*>Later steps', page).group(1)
    following = web.get(later.replace("&amp;", "&"), htmx=True).get_data(as_text=True)
    assert rows(following) == ids[WINDOW : 2 * WINDOW] and "Earlier steps" in following
    assert posted_ids(following) == ids
    last = web.get(f"/workflows/templates/{template.id}/steps?list_from=999", htmx=True)
    assert rows(last.get_data(as_text=True)) == ids[-WINDOW:]  # a window past the end: the last
    whole = web.get(f"/workflows/templates/{template.id}/steps?all=1", htmx=True)
    assert rows(whole.get_data(as_text=True)) == ids
    plain = web.get(f"/workflows/templates/{template.id}?list_from={WINDOW}")  # without HTMX
    assert rows(plain.get_data(as_text=True)) == ids[WINDOW : 2 * WINDOW]


def test_a_short_template_shows_every_row_with_no_window(lawyer, web) -> None:
    template = long_draft(lawyer, WINDOW)
    page = web.get(f"/workflows/templates/{template.id}").get_data(as_text=True)
    assert rows(page) == order_of(template.id) and "Later steps" not in page


def test_the_window_opens_at_the_step_asked_for(lawyer, web) -> None:
    template = long_draft(lawyer, 80)
    ids = order_of(template.id)
    page = web.get(f"/workflows/templates/{template.id}?step={ids[50]}").get_data(as_text=True)
    shown = rows(page)
    assert ids[50] in shown and len(shown) == WINDOW
    assert f'data-selected-step="{ids[50]}"' in page


def test_dragging_within_a_window_keeps_the_order_of_the_rows_outside_it(lawyer, web) -> None:
    template = long_draft(lawyer, 60)
    ids = order_of(template.id)
    window = ids[WINDOW : 2 * WINDOW]
    dragged = [window[1], window[0], *window[2:]]
    posted = [*ids[:WINDOW], *dragged, *ids[2 * WINDOW :]]
    response = web.post(
        f"/workflows/templates/{template.id}/steps/reorder",
        data={"step_id": [str(i) for i in posted], "list_from": str(WINDOW)},
        htmx=True,
    )
    assert response.status_code == HTTPStatus.OK
    assert order_of(template.id) == posted
    assert rows(response.get_data(as_text=True)) == dragged  # the same window, redrawn


def test_moving_the_last_row_of_a_window_down_shows_it_in_its_new_place(lawyer, web) -> None:
    template = long_draft(lawyer, 60)
    ids = order_of(template.id)
    moved = ids[WINDOW - 1]
    response = web.post(
        f"/workflows/templates/{template.id}/steps/{moved}/move?offset=1",
        data={"list_from": "0"},
        htmx=True,
    )
    assert response.status_code == HTTPStatus.OK
    assert order_of(template.id).index(moved) == WINDOW
    assert moved in rows(response.get_data(as_text=True))


def test_a_long_template_takes_prerequisites_as_typed_keys(lawyer, web) -> None:
    template = long_draft(lawyer, 50)
    step = template.steps[45]
    inspector = web.get(
        f"/workflows/templates/{template.id}/inspector?step={step.id}", htmx=True
    ).get_data(as_text=True)
    assert (
        'id="insp-depends-on"' in inspector and 'name="depends_on" value="step_1"' not in inspector
    )
    form = {
        "sections": ["type", "config", "advanced"],
        "action_type": "CHECKLIST",
        "config.items": "Read the file",
        "depends_mode": "steps",
        "depends_on": "step_3, step_7 step_9",
        "on_failure": "step_2",
    }
    response = web.post(
        f"/workflows/templates/{template.id}/steps/{step.id}/settings", data=form, htmx=True
    )
    assert response.status_code == HTTPStatus.OK, response.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(TemplateStep, step.id)
    assert saved.depends_on == ["step_3", "step_7", "step_9"] and saved.on_failure == "step_2"
    form["depends_on"] = "step_3, no_such_step"
    refused = web.post(
        f"/workflows/templates/{template.id}/steps/{step.id}/settings", data=form, htmx=True
    )
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "no_such_step" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(TemplateStep, step.id).depends_on == ["step_3", "step_7", "step_9"]


def test_the_preview_of_a_long_template_shows_its_first_stages_and_the_rest_when_asked(
    lawyer, web
) -> None:
    template = long_draft(lawyer, 120)  # a chain: one step a stage
    page = web.get(f"/workflows/templates/{template.id}").get_data(as_text=True)
    assert len(PREVIEW_ITEM.findall(page)) == PREVIEW_ITEMS
    assert f"Show the whole preview ({120 - PREVIEW_ITEMS} more steps)" in page
    whole = web.get(f"/workflows/templates/{template.id}/preview?preview=all", htmx=True)
    body = whole.get_data(as_text=True)
    assert len(PREVIEW_ITEM.findall(body)) == 120 and "Show the whole preview" not in body


def test_the_preview_cuts_a_long_stage_of_steps_that_all_start_at_once(lawyer, web) -> None:
    template = create_template(lawyer, "Side by side", chain(60, depends_on=[]))
    page = web.get(f"/workflows/templates/{template.id}").get_data(as_text=True)
    assert len(PREVIEW_ITEM.findall(page)) == PREVIEW_ITEMS and "Ready at start" in page
    assert f"Show the whole preview ({60 - PREVIEW_ITEMS} more steps)" in page


def test_the_builder_of_a_400_step_draft_stays_under_200_kb(lawyer, web) -> None:
    template = long_draft(lawyer, 400)
    page = web.get(f"/workflows/templates/{template.id}")
    assert page.status_code == HTTPStatus.OK
    assert len(page.get_data()) < LIMIT, len(page.get_data())
    step = template.steps[-1]
    inspector = web.get(f"/workflows/templates/{template.id}/inspector?step={step.id}", htmx=True)
    assert len(inspector.get_data()) < LIMIT // 4
