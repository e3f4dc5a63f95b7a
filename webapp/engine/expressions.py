"""Step conditions in CEL (cel-python): a small, non-Turing-complete language with no
access to Python objects. Names are `context`, `steps`, `matter`, `instance` and `trigger`
(`trigger.type`, `trigger.data`: what started the workflow).

cel-python walks the syntax tree in Python, so an expression could still burn CPU or
memory through its comprehension macros (`map`, `filter`, `reduce`…). The evaluator
below counts every node it visits and refuses values that grow past a size limit."""

import functools
import re
from collections.abc import Mapping
from typing import Any

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, Evaluator

NAMES = frozenset({"context", "steps", "matter", "instance", "trigger"})
# Type names may appear as values: `type(x) == string`.
TYPE_NAMES = frozenset(
    {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
)
MAX_LENGTH = 2000
MAX_STEPS = 20_000  # nodes visited in one evaluation
MAX_SIZE = 10_000  # characters of a string, items of a list or map
MACROS = frozenset({"map", "filter", "all", "exists", "exists_one", "reduce", "min"})
# Functions and macros that look like calls: `size(x)`, `has(a.b)`, `int("3")`…
FUNCTIONS = frozenset(
    {
        "has",
        "dyn",
        "size",
        "type",
        "bool",
        "bytes",
        "double",
        "duration",
        "int",
        "list",
        "map",
        "string",
        "timestamp",
        "uint",
        "matches",
        "contains",
        "startsWith",
        "endsWith",
    }
)


class ExpressionError(Exception):
    """An expression that cannot be compiled or evaluated; the message is for people."""


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_STEPS


class _GuardedEvaluator(Evaluator):
    """Counts visited nodes and caps the size of every intermediate value."""

    def __init__(self, ast: lark.Tree[Any], activation: Any, budget: _Budget | None = None) -> None:
        super().__init__(ast, activation)
        self.budget = budget or _Budget()

    def sub_evaluator(self, ast: lark.Tree[Any]) -> Evaluator:
        return _GuardedEvaluator(ast, self.activation, self.budget)

    def _visit_tree(self, tree: lark.Tree[Any]) -> Any:
        self.budget.left -= 1
        if self.budget.left < 0:
            raise ExpressionError("the expression does too much work to evaluate")
        value = super()._visit_tree(tree)
        if isinstance(value, str | bytes | list | dict) and len(value) > MAX_SIZE:
            raise ExpressionError(f"a value in the expression grew beyond {MAX_SIZE} items")
        return value


class _GuardedRunner(celpy.InterpretedRunner):
    def evaluate(self, context: Any) -> Any:
        evaluator = _GuardedEvaluator(self.ast, self.new_activation())
        return evaluator.evaluate(context)


@functools.cache
def _environment() -> celpy.Environment:
    """Made on first use: building CEL's parser takes a third of a second, which every
    process start (a worker, a CLI command) would otherwise pay."""
    return celpy.Environment(runner_class=_GuardedRunner)


@functools.lru_cache(maxsize=2048)
def compile_expression(text: str) -> celpy.Runner:
    """Parse once per distinct text; the runner is reused for every evaluation."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        ast = _environment().compile(text)
    except CELParseError as error:
        raise ExpressionError(_syntax_message(text, error)) from None
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None
    unknown = sorted(unknown_names(ast))
    if unknown:
        raise ExpressionError(hyphen_hint(text) or unknown_name_message(unknown[0]))
    return _environment().program(ast)


def unknown_name_message(name: str) -> str:
    return f"unknown name {name!r}: use context, steps, matter, instance or trigger"


# `steps.client-facts` reads as `steps.client - facts`: say how to reach such a key.
_DOTTED_HYPHEN_KEY = re.compile(r"\bsteps\.([a-z][a-z0-9_]*(?:-[a-z0-9_]+)+)")


def hyphen_hint(text: str) -> str | None:
    """The advice for `steps.client-facts` (a key with a hyphen written after a dot), or
    None when the text has no such reference. Shared with templating."""
    match = _DOTTED_HYPHEN_KEY.search(text)
    if match is None:
        return None
    key = match.group(1)
    return f'write steps["{key}"] to reach the step {key!r}: a key with a hyphen needs brackets'


def step_references(text: str) -> set[str]:
    """The step keys an expression reads: `steps.review_a` and `steps["client-facts"]`
    (a bracket with a string literal). Other subscripts (`steps[name]`) name no key."""
    ast = compile_tree(text)
    keys = set()
    for node in ast.find_data("member_dot"):
        if _is_steps(node.children[0]):
            keys.add(str(node.children[1]))
    for node in ast.find_data("member_index"):
        if _is_steps(node.children[0]):
            literal = _string_literal(node.children[1])
            if literal is not None:
                keys.add(literal)
    return keys


def compile_tree(text: str) -> lark.Tree[Any]:
    """The syntax tree of a valid expression (compile_expression has checked it)."""
    compile_expression(text)
    return _environment().compile(text)


def _is_steps(member: Any) -> bool:
    """Whether a `member` node is the bare name `steps`."""
    node = member
    while isinstance(node, lark.Tree) and len(node.children) == 1 and node.data != "ident":
        node = node.children[0]
    return isinstance(node, lark.Tree) and node.data == "ident" and node.children[0] == "steps"


_PLAIN_STRING = re.compile(r"""^(?P<quote>["'])(?P<body>[^"'\\]*)(?P=quote)$""")


def _string_literal(expr: Any) -> str | None:
    node = expr
    while isinstance(node, lark.Tree) and len(node.children) == 1 and node.data != "literal":
        node = node.children[0]
    if not (isinstance(node, lark.Tree) and node.data == "literal"):
        return None
    match = _PLAIN_STRING.match(str(node.children[0]))
    return match.group("body") if match else None


def check_expression(text: str) -> str | None:
    """Why the expression is not valid, or None."""
    try:
        compile_expression(text)
    except ExpressionError as error:
        return str(error)
    return None


def unknown_names(ast: lark.Tree[Any]) -> set[str]:
    """Top-level identifiers other than our four names, minus the variables that
    comprehension macros bind (`items.all(i, i > 0)` binds `i`), plus unknown functions."""
    bound: set[str] = set()
    for node in ast.find_data("member_dot_arg"):
        name = node.children[1]
        args = node.children[2] if len(node.children) > 2 else None
        if getattr(name, "value", None) in MACROS and isinstance(args, lark.Tree):
            for arg in args.children[:-1]:
                bound.update(_identifiers(arg))
    # An identifier's first child is its name, a lark Token (a str).
    names = {str(node.children[0]) for node in ast.find_data("ident")}
    functions = {str(node.children[0]) for node in ast.find_data("ident_arg")}
    return (names - NAMES - TYPE_NAMES - bound) | (functions - FUNCTIONS)


def _identifiers(tree: Any) -> set[str]:
    if not isinstance(tree, lark.Tree):
        return set()
    return {str(node.children[0]) for node in tree.find_data("ident")}


def evaluate_condition(text: str, variables: Mapping[str, Any]) -> bool:
    """True or False; anything else (an error, a non-boolean) raises ExpressionError."""
    runner = compile_expression(text)
    activation = {name: json_to_cel(value) for name, value in variables.items()}
    try:
        result = runner.evaluate(activation)
    except ExpressionError:
        raise
    except CELEvalError as error:
        raise ExpressionError(f"cannot evaluate: {_eval_message(error)}") from None
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None
    except Exception as error:  # cel-python surfaces some failures as plain exceptions
        raise ExpressionError(f"cannot evaluate: {error}") from None
    if not isinstance(result, celtypes.BoolType):
        raise ExpressionError(f"a condition must be true or false, not {_type_name(result)}")
    return bool(result)


def _eval_message(error: CELEvalError) -> str:
    if error.args and isinstance(error.args[0], str):
        return error.args[0]
    return str(error)


def _syntax_message(text: str, error: Exception) -> str:
    column = getattr(error, "column", None)
    if not column:
        return "syntax error"
    near = text[max(0, column - 1) : column + 9].strip()
    where = f" near {near!r}" if near else " at the end"
    return f"syntax error at column {column}{where}"


def _type_name(value: Any) -> str:
    names = {
        celtypes.IntType: "a number",
        celtypes.UintType: "a number",
        celtypes.DoubleType: "a number",
        celtypes.StringType: "a string",
        celtypes.ListType: "a list",
        celtypes.MapType: "a map",
    }
    return names.get(type(value), "null" if value is None else type(value).__name__)
