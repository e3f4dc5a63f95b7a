"""The merge fields of document templates: which fields a template reads, which of them
the merge data provides, and the two formatting filters (`date`, `money`).

Pure: the template arrives as Jinja text (an HTML body, or the XML text docxtpl makes of a
Word file), and the merge data's shape is the table `MERGE_FIELDS` below, the one place
that says what `firm`, `matter`, `instance`, `steps` and `today` hold."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes
from jinja2.meta import find_undeclared_variables

from webapp.engine.templating import SAFE_FILTERS

# Under an OPEN field any name is accepted: its content is the workflow's own (its
# parameters, its steps' outputs), known only when it runs.
OPEN = "open"
VALUE = "value"
PERSON = {"name": VALUE, "email": VALUE}
PEOPLE = [PERSON]  # a list: read in a loop, `{% for p in matter.parties %}{{ p.name }}`
MERGE_FIELDS: dict[str, Any] = {
    "firm": {"name": VALUE},
    "matter": {
        "reference": VALUE,
        "title": VALUE,
        "status": VALUE,
        "owner": PERSON,
        "members": {"lawyers": PEOPLE, "paralegals": PEOPLE, "clients": PEOPLE},
        "parties": PEOPLE,
    },
    "instance": {"title": VALUE, "context": OPEN, "parameters": OPEN},
    "steps": OPEN,
    "today": VALUE,
}
ITEM = "[]"  # a path's segment for "each item of the list"


@dataclass(frozen=True)
class Field:
    path: str  # e.g. "matter.owner.name", "matter.parties[].email"
    known: bool


class FieldsError(Exception):
    """The template's text is not a valid template; the message is for people."""


def fields_of(source: str) -> list[Field]:
    """Every merge field the template reads, sorted, each saying whether the merge data
    provides it. A field read only as the start of a longer one is left out."""
    try:
        ast = _PARSER.parse(source)
        roots = find_undeclared_variables(ast)  # also refuses filters the sandbox lacks
    except TemplateSyntaxError as error:
        line = f" (line {error.lineno})" if error.lineno and error.lineno > 1 else ""
        raise FieldsError(f"The template cannot be read: {error.message}{line}") from None
    paths = set(_paths(ast, {name: (name,) for name in roots}))
    longest = {p for p in paths if not any(o[: len(p)] == p and o != p for o in paths)}
    return [Field(_written(p), _known(p)) for p in sorted(longest, key=_written)]


def unknown_fields(source: str) -> list[str]:
    return [f.path for f in fields_of(source) if not f.known]


def _paths(node: nodes.Node, scope: dict[str, tuple[str, ...]]) -> Iterator[tuple[str, ...]]:
    """The paths of every name chain under `node`. `scope` maps the names in force to
    their path: the merge data's own names, and loop variables to their list's items."""
    if isinstance(node, nodes.For):
        yield from _paths(node.iter, scope)
        inner = dict(scope)
        iterated = _chain(node.iter, scope)
        if isinstance(node.target, nodes.Name):
            inner.pop(node.target.name, None)
            if iterated is not None:
                inner[node.target.name] = (*iterated, ITEM)
        for target in node.target.find_all(nodes.Name):  # `for k, v in …`: not followed
            inner.pop(target.name, None)
        for child in (*node.body, *node.else_):
            yield from _paths(child, inner)
        if node.test is not None:
            yield from _paths(node.test, inner)
        return
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        # `matter.title.upper()`: the field is matter.title, `upper` is a method of it.
        yield from _paths(node.node.node, scope)
        for child in (*node.args, *node.kwargs):
            yield from _paths(child, scope)
        return
    chain = _chain(node, scope)
    if chain is not None:
        yield chain
        if isinstance(node, nodes.Getitem):
            yield from _paths(node.arg, scope)
        return
    for child in node.iter_child_nodes():
        yield from _paths(child, scope)


def _chain(node: nodes.Node, scope: dict[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    """`matter.owner.name` and `steps["client-facts"].x` as a path, or None when `node`
    is not a chain of names from a merge field."""
    if isinstance(node, nodes.Name):
        return scope.get(node.name)
    if isinstance(node, nodes.Getattr):
        base = _chain(node.node, scope)
        return None if base is None else (*base, node.attr)
    if isinstance(node, nodes.Getitem):
        base = _chain(node.node, scope)
        if base is None:
            return None
        if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            return (*base, node.arg.value)
        return (*base, ITEM)  # `parties[0]`, `parties[i]`: an item of the list
    return None


def _known(path: tuple[str, ...]) -> bool:
    shape: Any = MERGE_FIELDS
    for segment in path:
        if shape == OPEN:
            return True
        if isinstance(shape, list):
            if segment != ITEM:
                return False
            shape = shape[0]
            continue
        if not isinstance(shape, dict) or segment not in shape:
            return False
        shape = shape[segment]
    return True


def _written(path: tuple[str, ...]) -> str:
    text = ""
    for segment in path:
        text += segment if segment == ITEM or not text else f".{segment}"
    return text


def known_fields() -> list[str]:
    """The fields the merge data provides, as written in templates: the editor's list."""
    return list(_walk(MERGE_FIELDS, ""))


def _walk(shape: Any, prefix: str) -> Iterator[str]:
    if isinstance(shape, dict):
        for name, inner in shape.items():
            yield from _walk(inner, f"{prefix}.{name}" if prefix else name)
    elif isinstance(shape, list):
        yield from _walk(shape[0], f"{prefix}{ITEM}")
    elif shape == OPEN:
        yield f"{prefix}.…"
    else:
        yield prefix


# --- filters ------------------------------------------------------------------------------

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def format_date(value: Any) -> str:
    """`{{ today|date }}` → "7 December 2026"; also reads ISO text ("2026-12-07")."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"date: {value!r} is not a date such as 2026-12-07") from None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise ValueError(f"date: {value!r} is not a date")
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def format_money(value: Any, currency: str | None = None) -> str:
    """`{{ 1250|money("USD") }}` → "USD 1,250.00"; a value {"amount", "currency"} (a
    payment's) carries its own currency."""
    if isinstance(value, dict):
        currency = currency or value.get("currency")
        value = value.get("amount")
    if not currency:
        raise ValueError('money: say the currency, e.g. money("USD")')
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValueError(f"money: {value!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"money: {value!r} is not an amount")
    return f"{str(currency).upper()} {amount.quantize(Decimal('0.01')):,.2f}"


FILTERS = {"date": format_date, "money": format_money}
_PARSER = Environment()  # parses only: nothing is rendered with it
_PARSER.filters = {name: _PARSER.filters[name] for name in SAFE_FILTERS} | FILTERS
