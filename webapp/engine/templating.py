"""Parameter templating: string values of action configs and step titles are Jinja
templates, rendered in a sandbox with strict undefined when the step becomes READY.

Jinja's sandbox already refuses `__class__`-style attribute walks and unsafe callables.
On top of it, templates here are expressions, `if` and shallow `for` only — no `set`,
`with`, macros or imports — because those let a short template double a string on every
line. Growth is also capped where it can happen: `*`, `+`, `**`, `%`, `~`, `range`, the
few filters that build strings, and the rendered output itself.

Work is bounded too: every render runs against a budget (`Budget`) that each loop item,
each `~` join, each filter and each call is charged to, in characters (a loop item counts
as ITEM_COST), with a wall-clock guard beside it. A hostile template (nested loops over
long parameters, long joins in a loop) stops with a TemplatingError after at most
MAX_WORK units instead of holding the database's write lock for seconds."""

import functools
import operator
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from webapp.engine.expressions import hyphen_hint, unknown_name_message
from webapp.engine.secret_refs import REFERENCES

NAMES = frozenset({"context", "steps", "matter", "instance", "trigger", "secrets"})
MAX_SOURCE = 10_000  # characters of one template
MAX_OUTPUT = 100_000  # characters of one rendered value
MAX_SIZE = 100_000  # characters or items of any value built while rendering
MAX_RANGE = 100
MAX_LOOP_DEPTH = 2
MAX_INT_BITS = 4096
MAX_WORK = 10_000_000  # units of work in one render: characters built or scanned…
ITEM_COST = 100  # …and loop items, each counted as this many characters
MAX_SECONDS = 1.0  # the wall-clock guard beside the work budget
FORBIDDEN_NODES: dict[type[nodes.Node], str] = {
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.With: "with",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.Import: "import",
    nodes.FromImport: "import",
    nodes.Include: "include",
    nodes.Extends: "extends",
    nodes.Block: "block",
}
# String methods that allocate in proportion to an argument.
UNSAFE_STR_METHODS = frozenset(
    {"format", "format_map", "center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join"}
)
SAFE_FILTERS = [
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "int",
    "items",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "select",
    "selectattr",
    "sort",
    "string",
    "striptags",
    "sum",
    "title",
    "tojson",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
]


class TemplatingError(Exception):
    """A template that cannot be compiled or rendered; the message is for people."""


class Budget:
    """The work one render (or one `render_value`) may do."""

    def __init__(self, limit: int = MAX_WORK, seconds: float = MAX_SECONDS) -> None:
        self.limit = limit
        self.used = 0
        self.deadline = time.monotonic() + seconds

    def charge(self, units: int) -> None:
        self.used += units
        if self.used > self.limit:
            raise SecurityError("the template does too much work (loops or text too long)")
        if time.monotonic() > self.deadline:
            raise SecurityError("the template takes too long to render")


_BUDGET: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


@contextmanager
def _budget(given: Budget | None) -> Iterator[Budget]:
    """The budget in force: the one given, else the enclosing render's, else a new one."""
    current = _BUDGET.get()
    if given is None and current is not None:
        yield current
        return
    token = _BUDGET.set(given or Budget())
    try:
        yield _BUDGET.get() or Budget()
    finally:
        _BUDGET.reset(token)


def _charge(units: int) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(units)


def _items(iterable: Iterable[Any]) -> Iterator[Any]:
    """What every `for` loop iterates: its items, each charged to the budget."""
    for item in iterable:
        _charge(ITEM_COST)
        yield item


def _concat(*parts: Any) -> str:
    """`a ~ b ~ c`: the joined text, measured before it is built."""
    texts, size = [], 0
    for part in parts:
        text = str(part)
        size += len(text)
        _check_size(size)
        _charge(len(text))
        texts.append(text)
    return "".join(texts)


def _metered(run: Callable[..., Any]) -> Callable[..., Any]:
    """A filter charged for the value it reads and the text it returns."""
    passes = getattr(run, "jinja_pass_arg", None)

    @functools.wraps(run)
    def metered(*args: Any, **kwargs: Any) -> Any:
        value = args[1] if passes is not None and len(args) > 1 else args[0] if args else None
        _charge(1 + _size(value))
        result = run(*args, **kwargs)
        if isinstance(result, str):
            _charge(len(result))
            _check_size(len(result))
        return result

    return metered


HELPERS = {"_items": _items, "_concat": _concat}


class _Meter(NodeTransformer):
    """Routes every loop through `_items` and every `~` through `_concat`."""

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _call("_concat", list(node.nodes), node.lineno)

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _call("_items", [cast(nodes.Expr, node.iter)], node.lineno)
        return node


def _call(name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
    return nodes.Call(nodes.Name(name, "load"), args, [], None, None, lineno=lineno)


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict) else 0


def _check_size(size: int) -> None:
    if size > MAX_SIZE:
        raise SecurityError(f"the template builds a value longer than {MAX_SIZE} characters")


def _safe_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} items in templates")
    return numbers


def _safe_join(environment: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    items = [str(item) for item in value]
    _check_size(sum(map(len, items)) + len(str(d)) * max(len(items) - 1, 0))
    joined: str = FILTERS["join"](environment, items, d, attribute)  # Markup when autoescaping
    return joined


def _safe_replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> str:
    text = str(s)
    hits = text.count(str(old)) if old else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    _check_size(len(text) + hits * max(len(str(new)) - len(str(old)), 0))
    replaced: str = FILTERS["replace"](eval_ctx, text, old, new, count)
    return replaced


_safe_join.jinja_pass_arg = FILTERS["join"].jinja_pass_arg  # type: ignore[attr-defined]  # Jinja reads this mark off the function
_safe_replace.jinja_pass_arg = FILTERS["replace"].jinja_pass_arg  # type: ignore[attr-defined]  # Jinja reads this mark off the function


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def wrap_str_format(self, value: Any) -> None:
        return None  # `str.format` pads to any width: refused like the other methods below

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in UNSAFE_STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        result = super().call(__context, __obj, *args, **kwargs)
        if __obj not in HELPERS.values():
            _charge(1 + _size(result))
        return result

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "%" and isinstance(left, str):
            raise SecurityError("use ~ to join text; % formatting is not available")
        if op == "*":
            _check_product(left, right)
        if op == "+":
            _check_size(_size(left) + _size(right))
        if op == "**":
            _check_power(left, right)
        return {"*": operator.mul, "+": operator.add, "**": operator.pow, "%": operator.mod}[op](
            left, right
        )


def _check_product(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if _size(seq) and isinstance(times, int):
            _check_size(_size(seq) * times)
    both_ints = isinstance(left, int) and isinstance(right, int)
    if both_ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise SecurityError("the template computes a number that is too large")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int | float) and isinstance(exponent, int | float):
        bits = max(abs(int(base)), 2).bit_length() * abs(exponent)
        if bits > MAX_INT_BITS:
            raise SecurityError("the template computes a number that is too large")


def _environment() -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    filters = {name: env.filters[name] for name in SAFE_FILTERS}
    filters["join"] = _safe_join
    filters["replace"] = _safe_replace
    env.filters = {name: _metered(run) for name, run in filters.items()}
    env.globals = {"range": _safe_range, "dict": dict, **HELPERS}
    return env


_ENVIRONMENT = _environment()


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value or "{#" in value


@functools.lru_cache(maxsize=4096)
def compile_template(source: str) -> Any:
    """Parse, check and compile once per distinct text."""
    if len(source) > MAX_SOURCE:
        raise TemplatingError(f"the template is longer than {MAX_SOURCE} characters")
    try:
        ast = _ENVIRONMENT.parse(source)
        _check_constructs(ast)
        known = NAMES | {"range", "dict"}
        unknown = sorted(find_undeclared_variables(ast) - known)
        if unknown:
            raise TemplatingError(hyphen_hint(source) or unknown_name_message(unknown[0]))
        metered = _Meter().visit(ast)
        metered.set_environment(_ENVIRONMENT)
        return _ENVIRONMENT.from_string(metered)
    except TemplateError as error:
        raise TemplatingError(_message(error)) from None


def _check_constructs(ast: nodes.Template) -> None:
    for kind, tag in FORBIDDEN_NODES.items():
        if next(ast.find_all(kind), None) is not None:
            raise TemplatingError(f"{{% {tag} %}} is not available in templates")
    if any(loop.recursive for loop in ast.find_all(nodes.For)):
        raise TemplatingError("recursive loops are not available in templates")
    if _loop_depth(ast) > MAX_LOOP_DEPTH:
        raise TemplatingError(f"loops may be nested {MAX_LOOP_DEPTH} deep at most")


def _loop_depth(node: nodes.Node) -> int:
    deepest = max((_loop_depth(child) for child in node.iter_child_nodes()), default=0)
    return deepest + 1 if isinstance(node, nodes.For) else deepest


def step_references(source: str) -> set[str]:
    """The step keys a valid template reads: `steps.review_a.x` and
    `steps["client-facts"].x` (a subscript with a constant string)."""
    compile_template(source)
    keys: set[str] = set()
    ast = _ENVIRONMENT.parse(source)
    for attribute in ast.find_all(nodes.Getattr):
        if isinstance(attribute.node, nodes.Name) and attribute.node.name == "steps":
            keys.add(attribute.attr)
    for item in ast.find_all(nodes.Getitem):
        is_steps = isinstance(item.node, nodes.Name) and item.node.name == "steps"
        if is_steps and isinstance(item.arg, nodes.Const) and isinstance(item.arg.value, str):
            keys.add(item.arg.value)
    return keys


def check_template(source: str) -> str | None:
    """Why the template is not valid, or None."""
    try:
        compile_template(source)
    except TemplatingError as error:
        return str(error)
    return None


def render(source: str, variables: Mapping[str, Any], budget: Budget | None = None) -> str:
    """`budget`: the work it may do (a new Budget, or the enclosing render's). Unless the
    caller gives `secrets` (the worker, at call time), each `{{ secrets.NAME }}` renders
    as written (engine/secret_refs.py)."""
    if not is_template(source):
        return source
    template = compile_template(source)
    try:
        with _budget(budget):
            return _collect(template.generate(**{"secrets": REFERENCES, **variables}))
    except TemplatingError:
        raise
    except SecurityError as error:
        raise TemplatingError(f"not allowed: {error}") from None
    except TemplateError as error:
        raise TemplatingError(_message(error)) from None
    except (ArithmeticError, TypeError, ValueError, RecursionError) as error:
        raise TemplatingError(f"cannot render: {error}") from None


def _collect(chunks: Iterator[str]) -> str:
    parts, total = [], 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_OUTPUT:
            raise TemplatingError(f"the rendered text is longer than {MAX_OUTPUT} characters")
        parts.append(chunk)
    return "".join(parts)


def render_value(value: Any, variables: Mapping[str, Any], budget: Budget | None = None) -> Any:
    """Every string inside `value` (dicts and lists, recursively) rendered, all of them
    within one budget."""
    with _budget(budget):
        return _render_each(value, variables)


def _render_each(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, dict):
        return {key: _render_each(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_each(item, variables) for item in value]
    return value


def template_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every string inside `value` that holds template syntax."""
    if isinstance(value, str):
        if is_template(value):
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from template_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from template_strings(item, f"{path}[{i}]")


def _message(error: TemplateError) -> str:
    line = getattr(error, "lineno", None)
    text = error.message or error.__class__.__name__
    return f"{text} (line {line})" if line and line > 1 else text


# --- document templates -------------------------------------------------------------------


class _DocumentSandbox(_Sandbox):
    """The same sandbox for whole documents (a letter's HTML, a Word file's XML). docxtpl
    compiles the text itself (`from_string`), so the checks and the meter apply at parse."""

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        ast = super()._parse(source, name, filename)
        _check_constructs(ast)
        metered: nodes.Template = _Meter().visit(ast)
        return metered


def document_environment(filters: Mapping[str, Callable[..., Any]]) -> _Sandbox:
    """Strict undefined, escaping on (HTML and Word's XML alike), the safe filters and
    `filters`; no size cap on the source, which is a whole document."""
    env = _DocumentSandbox(undefined=StrictUndefined, autoescape=True)
    safe = {name: env.filters[name] for name in SAFE_FILTERS}
    safe |= {"join": _safe_join, "replace": _safe_replace, **filters}
    env.filters = {name: _metered(run) for name, run in safe.items()}
    env.globals = {"range": _safe_range, "dict": dict, **HELPERS}
    return env


@contextmanager
def document_budget(seconds: float) -> Iterator[None]:
    """One document's render: the work budget, and its refusals as TemplatingError."""
    with _budget(Budget(seconds=seconds)):
        try:
            yield
        except SecurityError as error:
            raise TemplatingError(f"not allowed: {error}") from None
        except TemplateError as error:
            raise TemplatingError(_message(error)) from None
        except (ArithmeticError, TypeError, ValueError, RecursionError) as error:
            raise TemplatingError(f"cannot render: {error}") from None
