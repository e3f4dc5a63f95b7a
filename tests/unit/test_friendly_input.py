"""Input as people type it: durations, amounts with a decimal comma, currencies in any
case — normalised to what the engine stores, or refused in plain words."""

import pytest
from pydantic import ValidationError

from webapp.engine.actions import all_handlers, get_handler
from webapp.engine.definition import (
    StepDefinition,
    normalize_duration,
    parse_duration,
    spoken_duration,
)
from webapp.engine.errors import Unprocessable
from webapp.engine.roles import Role


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("3 days", "P3D"),
        ("1 day", "P1D"),
        ("2 weeks", "P14D"),
        ("4 hours", "PT4H"),
        ("30 minutes", "PT30M"),
        ("1 day 2 hours", "P1DT2H"),
        ("1 day and 4 hours", "P1DT4H"),
        ("3 Days", "P3D"),
        ("p3d", "P3D"),
        ("PT4H", "PT4H"),
    ],
)
def test_duration_is_stored_as_iso_8601_when_typed_in_words(typed: str, stored: str) -> None:
    assert normalize_duration(typed) == stored
    assert parse_duration(stored).total_seconds() > 0


@pytest.mark.parametrize("typed", ["soon", "3 fortnights", "0 days", "days 3", "P"])
def test_duration_is_refused_in_plain_words_when_it_is_not_one(typed: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        normalize_duration(typed)


def test_step_due_in_is_normalised_when_written_as_words() -> None:
    step = StepDefinition.model_validate(
        {"title": "Review", "actionType": "CHECKLIST", "dueIn": "2 weeks"}
    )
    assert step.due_in == "P14D"
    with pytest.raises(ValidationError, match="3 days, 2 weeks"):
        StepDefinition.model_validate({"title": "R", "actionType": "CHECKLIST", "dueIn": "later"})


def test_delay_duration_is_normalised_when_written_as_words() -> None:
    assert get_handler("core.delay").validate_config({"duration": "4 hours"}) == {
        "duration": "PT4H"
    }


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("500,00", "500.00"),
        ("500.00", "500.00"),
        ("1.234,50", "1234.50"),
        ("1,234.50", "1234.50"),
        ("1 234,50", "1234.50"),
        ("1,234", "1234"),
        ("12,5", "12.5"),
        (500, "500"),
    ],
)
def test_payment_amount_is_accepted_when_typed_with_a_decimal_comma(
    typed: object, stored: str
) -> None:
    config = get_handler("PAYMENT_CLIENT").validate_config({"amount": typed, "currency": "EUR"})
    assert config["amount"] == stored


@pytest.mark.parametrize("typed", ["1.234", "abc", "5,5,5", "-3"])
def test_payment_amount_is_refused_when_it_is_not_money(typed: str) -> None:
    with pytest.raises(Unprocessable):
        get_handler("PAYMENT_CLIENT").validate_config({"amount": typed, "currency": "EUR"})


@pytest.mark.parametrize("typed", ["eur", "Eur", " eur "])
def test_currency_is_upper_cased_when_typed_in_any_case(typed: str) -> None:
    config = get_handler("PAYMENT_CLIENT").validate_config({"amount": "5", "currency": typed})
    assert config["currency"] == "EUR"


def test_currency_is_refused_in_plain_words_when_not_three_letters() -> None:
    with pytest.raises(Unprocessable) as caught:
        get_handler("PAYMENT_CLIENT").validate_config({"amount": "5", "currency": "euro"})
    assert "three letters such as EUR" in caught.value.details[0]["message"]


# ---- who may act on each action type -----------------------------------------------------


@pytest.mark.parametrize(
    ("action_type", "roles"),
    [
        ("PAYMENT_CLIENT", (Role.CLIENT,)),
        ("SIGNATURE_CLIENT", (Role.CLIENT,)),
        ("REQUEST_DOC_CLIENT", (Role.CLIENT,)),
        ("APPROVAL_LAWYER", (Role.LAWYER, Role.ADMIN)),
    ],
)
def test_action_type_declares_its_roles_when_only_some_may_act(
    action_type: str, roles: tuple[Role, ...]
) -> None:
    handler = get_handler(action_type)
    assert handler.roles == roles
    assert all(handler.role_problem(r) is None for r in roles)
    assert all(handler.role_problem(r) for r in Role if r not in roles)


def test_checklist_allows_every_human_role_and_automations_none() -> None:
    assert set(get_handler("CHECKLIST").roles) == set(Role)
    for handler in all_handlers():
        assert bool(handler.roles) != handler.automated, handler.type


def test_role_refusal_reads_as_a_sentence_when_a_lawyer_is_put_on_a_payment() -> None:
    assert get_handler("PAYMENT_CLIENT").role_problem("LAWYER") == (
        "A client payment is made by the client: choose Client as who acts."
    )


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("P3D", "3 days"),
        ("P1D", "1 day"),
        ("P14D", "2 weeks"),
        ("PT4H", "4 hours"),
        ("P1DT2H30M", "1 day 2 hours 30 minutes"),
        ("3 dayz", "3 dayz"),  # what a person typed, shown back as typed
    ],
)
def test_a_stored_duration_reads_as_people_say_it_when_shown(stored, shown):
    assert spoken_duration(stored) == shown
    if shown != stored:
        assert normalize_duration(shown) == stored
