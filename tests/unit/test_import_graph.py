"""The import graph of `webapp`: no circles, and the layers of DESIGN.md hold.

Built with the standard library's `ast` from the source files, so imports inside
functions count too (those are how circles get hidden), and nothing is imported
to build it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "webapp"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The webapp module `name` refers to: itself, or the package that holds it.

    Importing a submodule runs its packages' `__init__` first, but that is how
    packages work, not an edge of design: only the module named counts.
    """
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> set[str]:
    """Every module name `module` imports, anywhere in its body, type-only ones aside."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    type_only = {
        id(node)
        for guard in ast.walk(tree)
        if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
        for stmt in guard.body
        for node in ast.walk(stmt)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from webapp.services import steps` imports the submodule steps;
                # `from webapp.api import bp` imports a name of webapp/api/__init__.
                child = f"{base}.{alias.name}"
                names.add(child if child in MODULES else base)
    return names


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        targets = {_resolve(name) for name in _imports(module) if name.startswith("webapp")}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def _external(module: str) -> set[str]:
    return {name.split(".")[0] for name in _imports(module) if not name.startswith("webapp")}


def _is_parent(package: str, module: str) -> bool:
    return module.startswith(package + ".")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_inside_functions() -> None:
    source = "def f():\n    from webapp.engine import states\n"
    tree = ast.parse(source)
    assert any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree))
    assert "webapp.engine" in MODULES and len(MODULES) > 50


def test_no_import_circles_between_modules_when_built_from_every_import() -> None:
    cycles = _cycles(_graph())
    assert cycles == [], "import circles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_circle_finder_finds_a_circle_when_there_is_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


# (layer, layers it must not import)
LAYERS = [
    (
        "webapp.engine",
        [
            "webapp.models",
            "webapp.persistence",
            "webapp.adapters",
            "webapp.services",
            "webapp.web",
            "webapp.api",
            "webapp.worker",
            "webapp.extensions",
        ],
    ),
    ("webapp.persistence", ["webapp.services", "webapp.web", "webapp.api"]),
    ("webapp.adapters", ["webapp.services", "webapp.web", "webapp.api"]),
    ("webapp.services", ["webapp.web", "webapp.api"]),
    ("webapp.models", ["webapp.services", "webapp.web", "webapp.api"]),
    # The pages may map domain errors the API's way (api/errors.py); the API never
    # leans on a page's module (shared request parsing lives in adapters/storage.py).
    ("webapp.api", ["webapp.web"]),
]


def _in(module: str, layer: str) -> bool:
    return module == layer or _is_parent(layer, module)


@pytest.mark.parametrize(("layer", "forbidden"), LAYERS, ids=[layer for layer, _ in LAYERS])
def test_a_layer_imports_nothing_above_it_when_every_import_counts(
    layer: str, forbidden: list[str]
) -> None:
    graph = _graph()
    breaches = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if _in(module, layer)
        for target in targets
        if any(_in(target, above) for above in forbidden)
    )
    assert breaches == []


def test_the_engine_imports_neither_flask_nor_sqlalchemy() -> None:
    breaches = sorted(
        f"{module} -> {lib}"
        for module in MODULES
        if _in(module, "webapp.engine")
        for lib in _external(module) & {"flask", "flask_login", "sqlalchemy", "flask_sqlalchemy"}
    )
    assert breaches == []
