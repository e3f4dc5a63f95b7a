"""Step keys as people write them (`client-facts`): the key pattern, and how conditions and
templates reach such a key (`steps["client-facts"]`) and say which keys they read."""

import pytest
from pydantic import ValidationError

from webapp.engine import expressions, templating
from webapp.engine.definition import StepDefinition

OUTPUTS = {"steps": {"client-facts": {"name": "Ann", "ok": True}, "review_a": {"ok": False}}}


@pytest.mark.parametrize("key", ["client-facts", "review-a", "review_a", "a", "a-1_b", "x" * 100])
def test_step_key_is_accepted_when_it_is_a_slug(key):
    assert StepDefinition(key=key, title="T", action_type="CHECKLIST").key == key


@pytest.mark.parametrize("key", ["Client", "-facts", "1st", "client facts", "a.b", "x" * 101, ""])
def test_step_key_is_refused_when_it_is_not_a_slug(key):
    with pytest.raises(ValidationError):
        StepDefinition(key=key, title="T", action_type="CHECKLIST")


def test_condition_reaches_a_hyphenated_key_when_it_uses_brackets():
    assert expressions.evaluate_condition('steps["client-facts"].ok', OUTPUTS) is True
    assert expressions.evaluate_condition("steps['client-facts'].name == 'Ann'", OUTPUTS) is True


def test_template_reaches_a_hyphenated_key_when_it_uses_brackets():
    assert templating.render('{{ steps["client-facts"].name }}', OUTPUTS) == "Ann"


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ('steps["client-facts"].ok', {"client-facts"}),
        ("steps.review_a.ok && steps['client-facts'].ok", {"review_a", "client-facts"}),
        ("has(steps.letter) || context.x == 1", {"letter"}),
        ("steps[context.key].ok", set()),
        ("context.steps == 1", set()),
    ],
)
def test_condition_names_the_step_keys_it_reads_when_asked(text, keys):
    assert expressions.step_references(text) == keys


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ('{{ steps["client-facts"].name }}', {"client-facts"}),
        ("{% if steps.review_a.ok %}{{ steps['q-1'] }}{% endif %}", {"review_a", "q-1"}),
        ("{{ steps[context.key] }} {{ context.steps }}", set()),
    ],
)
def test_template_names_the_step_keys_it_reads_when_asked(text, keys):
    assert templating.step_references(text) == keys


def test_dotted_hyphenated_key_is_refused_with_advice_when_a_condition_uses_it():
    message = expressions.check_expression("steps.client-facts.ok")
    assert message == (
        "write steps[\"client-facts\"] to reach the step 'client-facts': "
        "a key with a hyphen needs brackets"
    )


def test_dotted_hyphenated_key_is_refused_with_advice_when_a_template_uses_it():
    message = templating.check_template("{{ steps.client-facts.name }}")
    assert message is not None and 'steps["client-facts"]' in message


def test_subtraction_is_not_mistaken_for_a_key_when_a_condition_subtracts():
    assert expressions.check_expression("steps.review_a.count - 1 > 0") is None
