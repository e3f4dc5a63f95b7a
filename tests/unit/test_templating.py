"""Parameter templating in Jinja's sandbox: what a template can read, and what it cannot."""

import time

import pytest

from webapp.engine.templating import (
    ITEM_COST,
    MAX_WORK,
    Budget,
    TemplatingError,
    check_template,
    render,
    render_value,
    template_strings,
)

VARIABLES = {
    "context": {"client": "Acme", "names": ["ann", "bob"]},
    "steps": {"approval": {"approved": False}},
    "matter": {"reference": "M-1", "title": "Acme v Widget", "status": "OPEN"},
    "instance": {"id": 7, "title": "Onboarding", "status": "Running"},
}


def test_strings_render_with_the_four_names_when_a_step_becomes_ready():
    text = "{{ matter.reference }} for {{ context.client }} ({{ instance.id }}): {{ steps.approval.approved }}"
    assert render(text, VARIABLES) == "M-1 for Acme (7): False"


def test_config_is_rendered_recursively_when_it_nests_lists_and_maps():
    config = {
        "to": ["{{ context.client }}@x.test"],
        "body": {"n": "{{ context.names|join(',') }}"},
        "k": 3,
    }
    assert render_value(config, VARIABLES) == {
        "to": ["Acme@x.test"],
        "body": {"n": "ann,bob"},
        "k": 3,
    }


def test_plain_text_is_returned_unchanged_when_it_has_no_template_syntax():
    assert render("{not a template}", VARIABLES) == "{not a template}"


def test_loops_and_conditions_work_when_shallow():
    text = (
        "{% for n in context.names %}{% if not loop.first %}, {% endif %}{{ n|title }}{% endfor %}"
    )
    assert render(text, VARIABLES) == "Ann, Bob"


def test_undefined_value_is_an_error_when_a_template_reads_a_missing_output():
    with pytest.raises(TemplatingError, match="no attribute 'letter'"):
        render("{{ steps.letter.sent }}", VARIABLES)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ client }}", "unknown name 'client'"),
        ("{{ context.client }", "unexpected '}'"),
        ("{% set x = 1 %}", "{% set %} is not available"),
        ("{% macro f() %}{% endmacro %}", "{% macro %} is not available"),
        ("{% include 'x' %}", "{% include %} is not available"),
        ("{{ context|attr('__class__') }}", "No filter named 'attr'"),
        ("{{ lipsum(100) }}", "unknown name 'lipsum'"),
        ("{{ cycler.__init__.__globals__ }}", "unknown name 'cycler'"),
        ("{{ __import__('os') }}", "unknown name '__import__'"),
    ],
)
def test_template_is_refused_when_it_uses_an_unknown_name_or_construct(text, message):
    assert message in check_template(text)


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ context.__class__.__init__.__globals__ }}",
        "{{ matter.title.__class__ }}",
        "{{ context['__class__'] }}",
        "{{ self.__init__.__globals__ }}",
        "{{ dict.__base__.__subclasses__() }}",
        "{{ range.__globals__ }}",
        "{{ context.names.append(1) }}",
        "{{ context.names.pop() }}",
        "{{ '{0.__class__}'.format(context) }}",
    ],
)
def test_python_internals_are_unreachable_when_a_template_walks_attributes(text):
    with pytest.raises(TemplatingError):
        render(text, VARIABLES)


@pytest.mark.parametrize(
    "text",
    [
        "{{ 'x' * 1000000000 }}",
        "{{ [0] * 1000000000 }}",
        "{{ 10 ** 10000000 }}",
        "{{ '%999999999d' % 1 }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ 'x'.center(999999999) }}",
        "{{ 'x'|replace('x', 'y' * 50000)|replace('y', 'z' * 1000) }}",
        "{{ ('x' * 99999) + ('x' * 99999) }}",
        "{% for i in range(1000000) %}x{% endfor %}",
        "{% for a in range(99) %}{% for b in range(99) %}{% for c in range(99) %}x{% endfor %}{% endfor %}{% endfor %}",
        "{% for a in range(99) %}{% for b in range(99) %}{{ 'x' * 90000 }}{% endfor %}{% endfor %}",
    ],
)
def test_resource_exhaustion_is_refused_quickly_when_a_template_grows_without_bound(text):
    started = time.process_time()
    with pytest.raises(TemplatingError):
        render(text, VARIABLES)
    assert time.process_time() - started < 2


def test_template_strings_are_found_with_their_paths_when_a_config_is_checked():
    config = {
        "url": "https://x.test/{{ context.client }}",
        "headers": {"a": "plain"},
        "l": ["{{ x }}"],
    }
    assert list(template_strings(config)) == [
        ("url", "https://x.test/{{ context.client }}"),
        ("l[0]", "{{ x }}"),
    ]


# ---- the work budget: hostile templates stop after a bounded amount of work ---------------

LONG = "x" * 99_000
MANY = list(range(10_000))
HOSTILE = {
    # 600 joins of a 99 kB parameter: 59 MB built for one number.
    "joins": "{{ (" + " ~ ".join(["context.long"] * 600) + ")|length }}",
    # 10⁸ loop items (seconds of work in Jinja), printing nothing.
    "loops": "{% for a in context.many %}{% for b in context.many %}"
    "{% if a == b %}{% endif %}{% endfor %}{% endfor %}",
    # 10⁴ items each upper-casing 99 kB: a gigabyte of text scanned.
    "filters": "{% for a in range(100) %}{% for b in range(100) %}"
    "{{ context.long|upper|length }}{% endfor %}{% endfor %}",
    # 10⁴ items each joining 198 kB, printing a little.
    "loop joins": "{% for a in context.many %}{% for b in range(100) %}"
    "{{ (context.long ~ context.long)|length > 0 }}{% endfor %}{% endfor %}",
    # 10⁴ method calls returning 99 kB each.
    "calls": "{% for a in range(100) %}{% for b in range(100) %}"
    "{{ context.long.upper()|length }}{% endfor %}{% endfor %}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_template_stops_within_the_work_budget_when_it_would_take_seconds(name):
    budget = Budget(seconds=3600)  # the work counter stops it, not the clock
    variables = {**VARIABLES, "context": {"long": LONG, "many": MANY}}
    with pytest.raises(TemplatingError, match=r"too much work|builds a value longer"):
        render(HOSTILE[name], variables, budget)
    assert budget.used <= MAX_WORK + len(LONG) * 3, budget.used


def test_wall_clock_guard_stops_a_render_when_its_time_is_up():
    budget = Budget(seconds=0)
    with pytest.raises(TemplatingError, match="takes too long"):
        render("{% for a in range(3) %}{{ a }}{% endfor %}", VARIABLES, budget)


def test_loop_items_joins_and_filters_are_charged_when_a_template_renders():
    budget = Budget()
    text = render("{% for n in context.names %}{{ n|upper ~ '!' }}{% endfor %}", VARIABLES, budget)
    assert text == "ANN!BOB!"
    # two items, two filters reading and writing 3 characters, two joins of 4
    assert budget.used == 2 * ITEM_COST + 2 * (1 + 3 + 3) + 2 * 4


def test_one_budget_covers_every_string_when_a_config_is_rendered():
    budget = Budget(limit=ITEM_COST * 3)
    config = {"a": "{% for n in range(2) %}{{ n }}{% endfor %}", "b": ["{{ 'x'|upper }}"]}
    with pytest.raises(TemplatingError, match="too much work"):
        render_value({**config, "c": "{% for n in range(2) %}{% endfor %}"}, VARIABLES, budget)
    assert render_value(config, VARIABLES) == {"a": "01", "b": ["X"]}


def test_recursive_loops_are_refused_when_a_template_is_checked():
    assert check_template("{% for x in context.names recursive %}{{ x }}{% endfor %}") == (
        "recursive loops are not available in templates"
    )
