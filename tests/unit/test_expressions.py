"""Step conditions in CEL: what they can read, and what they cannot reach."""

import ast
import time
from pathlib import Path

import pytest

from webapp.engine.expressions import ExpressionError, check_expression, evaluate_condition

VARIABLES = {
    "context": {"amount": 150, "names": ["ann", "bob"]},
    "steps": {"approval": {"approved": False, "comment": "no"}},
    "matter": {"reference": "M-1", "title": "Acme v Widget", "status": "OPEN"},
    "instance": {"id": 7, "title": "Onboarding", "status": "Running"},
}
NUMBERS = "[" + ",".join(str(i) for i in range(1, 31)) + "]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps.approval.approved == false", True),
        ("steps.approval.approved", False),
        ("context.amount > 100 && matter.status == 'OPEN'", True),
        ("instance.id == 7 && instance.status == 'Running'", True),
        ("context.names.exists(n, n == 'bob')", True),
        ("has(steps.approval) && !has(steps.letter)", True),
        ("size(matter.title) > 3", True),
        ("type(context.amount) == int", True),
    ],
)
def test_condition_reads_the_four_names_when_evaluated(text, expected):
    assert evaluate_condition(text, VARIABLES) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps.approval.approved ==", "syntax error at column"),
        ("os.system('ls')", "unknown name 'os'"),
        ("__import__('os')", "unknown name '__import__'"),
        ("exec('1')", "unknown name 'exec'"),
    ],
)
def test_expression_is_refused_when_it_has_a_syntax_error_or_an_unknown_name(text, message):
    assert message in check_expression(text)


@pytest.mark.parametrize(
    "text",
    [
        "steps.__class__ == 1",
        "steps.approval.__class__.__mro__ == 1",
        "context.names.__len__() == 2",
        "matter['__class__'] == 1",
        "matter.title.__class__ == 1",
        "matter.title.format(1) == ''",
        "context.names.__getitem__(0) == 'ann'",
    ],
)
def test_python_internals_are_unreachable_when_an_expression_walks_attributes(text):
    with pytest.raises(ExpressionError):
        evaluate_condition(text, VARIABLES)


def test_string_repetition_is_refused_when_an_expression_multiplies_text():
    with pytest.raises(ExpressionError, match="cannot evaluate"):
        evaluate_condition("size('x' * 1000000000) > 0", VARIABLES)


@pytest.fixture
def parser_built() -> None:
    """The timed tests time the evaluation, not the parser built on first use (a third of
    a second, more on a busy machine). They count this process's CPU time, which other
    work on a shared machine does not stretch the way it stretches the wall clock."""
    evaluate_condition("true", VARIABLES)


def test_doubling_is_stopped_when_reduce_grows_a_string(parser_built):
    started = time.process_time()
    with pytest.raises(ExpressionError, match="grew beyond"):
        evaluate_condition(f"size({NUMBERS}.reduce(r, i, 'xx', r + r)) > 0", VARIABLES)
    assert time.process_time() - started < 2


def test_work_is_bounded_when_comprehensions_nest(parser_built):
    # 100,000 sums: evaluated in full they take many seconds of CPU; the step budget
    # stops them in under one.
    ten = "[1,2,3,4,5,6,7,8,9,10]"
    sums = f"{ten}.map(d, {ten}.map(e, a + b + c + d + e))"
    text = f"size({ten}.map(a, {ten}.map(b, {ten}.map(c, {sums})))) > 0"
    started = time.process_time()
    with pytest.raises(ExpressionError, match="too much work"):
        evaluate_condition(text, VARIABLES)
    assert time.process_time() - started < 10


def test_ordinary_comprehensions_fit_the_work_budget_when_lists_nest_twice(parser_built):
    ten = "[1,2,3,4,5,6,7,8,9,10]"
    assert evaluate_condition(f"size({ten}.map(a, {ten}.map(b, a + b))) == 10", VARIABLES)


def test_deep_nesting_is_refused_when_parentheses_pile_up():
    with pytest.raises(ExpressionError, match="nested too deeply"):
        evaluate_condition("(" * 900 + "true" + ")" * 900, VARIABLES)


def test_regular_expressions_cannot_backtrack_catastrophically_when_matching(parser_built):
    started = time.process_time()
    assert not evaluate_condition("'" + "a" * 40 + "!'.matches('(a+)+$')", VARIABLES)
    assert time.process_time() - started < 1


def test_condition_must_be_boolean_when_it_evaluates_to_a_number():
    with pytest.raises(ExpressionError, match="not a number"):
        evaluate_condition("context.amount", VARIABLES)


def test_missing_step_output_is_an_error_when_a_condition_reads_it():
    with pytest.raises(ExpressionError, match="no such member"):
        evaluate_condition("steps.letter.sent == true", VARIABLES)


def test_engine_imports_neither_flask_nor_sqlalchemy_when_loaded():
    """The package `webapp` itself imports Flask, so read each engine module's imports."""
    engine = Path(__file__).resolve().parents[2] / "webapp" / "engine"
    forbidden = ("flask", "sqlalchemy", "webapp.models", "webapp.services", "webapp.extensions")
    offenders = []
    for path in engine.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in getattr(node, "names", [])] if isinstance(node, ast.Import) else []
            )
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [(path.name, n) for n in names if n.startswith(forbidden)]
    assert offenders == []
