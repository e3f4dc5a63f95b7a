"""The step graph: who waits for whom, and what a template's graph gets wrong.

Edges come from `depends_on` (null: the previous step by order; []: none) and from
`on_failure` routes. A step named in some `on_failure` is a *failure handler*: it takes
no part in the normal flow — it runs when one of its sources fails and is skipped once
all of them finished without failing (docs/engine.md)."""

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


class StepNode(Protocol):
    """What the graph reads of a step (read-only, so frozen records qualify too)."""

    @property
    def key(self) -> str: ...
    @property
    def order(self) -> int: ...
    @property
    def depends_on(self) -> list[str] | None: ...
    @property
    def on_failure(self) -> str | None: ...


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a graph. `index` is the step's 0-based position by order."""

    index: int | None
    key: str | None
    field: str
    message: str


class Graph:
    """An index of the steps built once (O(n log n)), so every question is a lookup."""

    def __init__(self, steps: Sequence[StepNode]) -> None:
        self.ordered = sorted(steps, key=lambda s: s.order)
        self.by_key = {s.key: s for s in self.ordered}
        self.sources: dict[str, list[str]] = {}
        for step in self.ordered:
            if step.on_failure:
                self.sources.setdefault(step.on_failure, []).append(step.key)
        self.prerequisites: dict[str, list[str]] = {}
        previous: str | None = None
        for step in self.ordered:
            self.prerequisites[step.key] = self._resolve(step, previous)
            previous = step.key

    def _resolve(self, step: StepNode, previous: str | None) -> list[str]:
        if self.is_handler(step.key):
            return []  # a handler waits for a failure, not for prerequisites
        if step.depends_on is not None:
            return list(step.depends_on)
        return [previous] if previous is not None else []

    def is_handler(self, key: str) -> bool:
        return key in self.sources

    @functools.cached_property
    def dependents(self) -> dict[str, list[str]]:
        """step -> the steps whose readiness may change when it moves."""
        return _edges(self)


def find_problems(steps: Sequence[StepNode]) -> list[Problem]:
    """Unknown keys, cycles, unreachable steps and misplaced handlers, all at once."""
    graph = Graph(steps)
    index = {s.key: i for i, s in enumerate(graph.ordered)}
    problems = [*_unknown_keys(graph, index), *_handler_problems(graph, index)]
    cyclic = _cycle_members(graph)
    for key in sorted(cyclic, key=index.__getitem__):
        problems.append(
            Problem(index[key], key, "dependsOn", f"step {key!r} is part of a dependency cycle")
        )
    for key in _unreachable(graph, cyclic):
        blocker = _first_blocker(graph, key, cyclic)
        problems.append(
            Problem(
                index[key],
                key,
                "dependsOn",
                f"step {key!r} can never start: it waits on {blocker!r}, which is in a cycle",
            )
        )
    return problems


def _unknown_keys(graph: Graph, index: dict[str, int]) -> Iterable[Problem]:
    for step in graph.ordered:
        for ref in step.depends_on or []:
            if ref not in graph.by_key:
                yield Problem(index[step.key], step.key, "dependsOn", f"unknown step key {ref!r}")
            elif ref == step.key:
                yield Problem(
                    index[step.key], step.key, "dependsOn", "a step cannot depend on itself"
                )
        if step.on_failure and step.on_failure not in graph.by_key:
            yield Problem(
                index[step.key], step.key, "onFailure", f"unknown step key {step.on_failure!r}"
            )
        elif step.on_failure == step.key:
            yield Problem(
                index[step.key], step.key, "onFailure", "a step cannot handle its own failure"
            )


def _handler_problems(graph: Graph, index: dict[str, int]) -> Iterable[Problem]:
    for key, sources in graph.sources.items():
        handler = graph.by_key.get(key)
        if handler is None:
            continue
        extra = [d for d in handler.depends_on or [] if d not in sources]
        if extra:
            yield Problem(
                index[key],
                key,
                "dependsOn",
                f"step {key!r} handles failures of {', '.join(map(repr, sources))} and runs "
                f"only when one fails; remove {', '.join(map(repr, extra))} from its dependsOn",
            )


def _edges(graph: Graph) -> dict[str, list[str]]:
    """step -> the steps that wait for it (prerequisite and failure-route edges)."""
    edges: dict[str, list[str]] = {key: [] for key in graph.by_key}
    for key, prereqs in graph.prerequisites.items():
        for p in prereqs:
            if p in edges and p != key:
                edges[p].append(key)
    for handler, sources in graph.sources.items():
        for source in sources:
            if handler in graph.by_key and handler != source:
                edges[source].append(handler)
    return edges


def _cycle_members(graph: Graph) -> set[str]:
    """Steps on a cycle: strongly connected components of more than one step (Tarjan,
    iterative so a long chain cannot exhaust the recursion limit)."""
    edges = _edges(graph)
    counter = 0
    number: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    members: set[str] = set()
    for root in graph.by_key:
        if root in number:
            continue
        work = [(root, iter(edges[root]))]
        number[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in number:
                    number[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], number[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == number[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    members.update(component)
    return members


def _unreachable(graph: Graph, cyclic: set[str]) -> list[str]:
    """Steps outside any cycle that wait, directly or not, on a step in one."""
    edges = _edges(graph)
    blocked: set[str] = set()
    frontier = list(cyclic)
    while frontier:
        key = frontier.pop()
        for nxt in edges[key]:
            if nxt not in cyclic and nxt not in blocked:
                blocked.add(nxt)
                frontier.append(nxt)
    return [s.key for s in graph.ordered if s.key in blocked]


def _first_blocker(graph: Graph, key: str, cyclic: set[str]) -> str:
    waits_on = list(graph.prerequisites[key]) + [
        src for src, handler in _routes(graph) if handler == key
    ]
    seen: set[str] = set()
    while waits_on:
        candidate = waits_on.pop(0)
        if candidate in cyclic:
            return candidate
        if candidate in seen or candidate not in graph.by_key:
            continue
        seen.add(candidate)
        waits_on.extend(graph.prerequisites[candidate])
    return "?"


def _routes(graph: Graph) -> list[tuple[str, str]]:
    return [(src, handler) for handler, srcs in graph.sources.items() for src in srcs]
