"""The merge fields a document template reads, which of them the merge data provides, and
the `date` and `money` filters."""

from datetime import date, datetime

import pytest

from webapp.engine.document_fields import (
    FieldsError,
    fields_of,
    format_date,
    format_money,
    known_fields,
    unknown_fields,
)


@pytest.mark.parametrize(
    ("source", "fields"),
    [
        ("{{ matter.title }}", [("matter.title", True)]),
        ("{{ matter.nonexistent }}", [("matter.nonexistent", False)]),
        ("{{ matter.owner.name }} {{ matter.owner }}", [("matter.owner.name", True)]),
        ("{{ matter.owner.phone }}", [("matter.owner.phone", False)]),
        (
            "{% for p in matter.parties %}{{ p.name }} {{ p.phone }}{{ loop.index }}{% endfor %}",
            [("matter.parties[].name", True), ("matter.parties[].phone", False)],
        ),
        (
            "{% for p in matter.members.lawyers %}{{ p.email }}{% endfor %}{{ p }}",
            [("matter.members.lawyers[].email", True), ("p", False)],
        ),
        ("{{ matter.parties[0].name }}", [("matter.parties[].name", True)]),
        ("{{ matter.parties.name }}", [("matter.parties.name", False)]),
        ('{{ steps["client-facts"].answer }}', [("steps.client-facts.answer", True)]),
        ("{{ instance.context.anything.deep }}", [("instance.context.anything.deep", True)]),
        ("{{ matter.title.upper() }}", [("matter.title", True)]),
        ("{{ today|date }} {{ 5|money('USD') }}", [("today", True)]),
        ("{{ client }}", [("client", False)]),
        ("<p>No fields at all</p>", []),
    ],
)
def test_fields_are_found_and_judged_when_read(source, fields):
    assert [(f.path, f.known) for f in fields_of(source)] == fields


def test_unknown_fields_are_listed_for_the_refusal():
    assert unknown_fields("{{ matter.nonexistent }} {{ firm.name }} {{ firm.vat }}") == [
        "firm.vat",
        "matter.nonexistent",
    ]


@pytest.mark.parametrize("source", ["{{ matter.title ", "{% for %}", "{{ x|attr('y') }}"])
def test_a_template_that_cannot_be_read_is_refused_in_plain_words(source):
    with pytest.raises(FieldsError, match="The template cannot be read"):
        fields_of(source)


def test_every_known_field_is_judged_known_when_written():
    for path in known_fields():
        written = path.replace("[]", "[0]").replace("…", "x")
        assert all(f.known for f in fields_of("{{ " + written + " }}")), path


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (date(2026, 12, 7), "7 December 2026"),
        (datetime(2027, 1, 31, 23, 0), "31 January 2027"),
        ("2026-02-01", "1 February 2026"),
        ("2026-02-01T10:00:00Z", "1 February 2026"),
    ],
)
def test_date_reads_as_people_write_it(value, text):
    assert format_date(value) == text


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        (1250, "USD", "USD 1,250.00"),
        ("1250.5", "eur", "EUR 1,250.50"),
        ("1,000,000", "GBP", "GBP 1,000,000.00"),
        ({"amount": "99.999", "currency": "USD"}, None, "USD 100.00"),
    ],
)
def test_money_shows_the_currency_and_two_decimals(value, currency, text):
    assert format_money(value, currency) == text


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        (12, None, "say the currency"),
        ("twelve", "USD", "not an amount"),
        ("nan", "USD", "not an amount"),
    ],
)
def test_money_refuses_what_is_not_an_amount_in_plain_words(value, currency, message):
    with pytest.raises(ValueError, match=message):
        format_money(value, currency)


def test_date_refuses_what_is_not_a_date():
    with pytest.raises(ValueError, match="not a date"):
        format_date("next week")
