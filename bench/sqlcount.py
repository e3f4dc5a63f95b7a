"""Counting and timing the SQL statements a piece of code sends, with SQLAlchemy events.
The time of a statement is from before the driver's execute to after it: the round trip
and the database's work, not the ORM's."""

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


class StatementLog:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.seconds = 0.0
        self.timed: list[tuple[float, str, Any]] = []  # seconds, statement, parameters
        self._began = 0.0
        self._parameters: Any = None

    def __len__(self) -> int:
        return len(self.statements)

    def by_verb(self) -> dict[str, int]:
        """SELECT / INSERT / UPDATE / ...: how many of each."""
        return dict(Counter(s.split(None, 1)[0].upper() for s in self.statements if s.strip()))

    def before(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any
    ) -> None:
        self.statements.append(statement)
        self._parameters = parameters
        self._began = time.perf_counter()

    def after(self, *_args: Any) -> None:
        elapsed = time.perf_counter() - self._began
        self.seconds += elapsed
        self.timed.append((elapsed, self.statements[-1], self._parameters))

    def slowest(self) -> tuple[float, str, Any] | None:
        """The statement that took longest, with its parameters (to EXPLAIN it)."""
        return max(self.timed, key=lambda t: t[0], default=None)


@contextmanager
def counting(engine: Engine) -> Iterator[StatementLog]:
    log = StatementLog()
    event.listen(engine, "before_cursor_execute", log.before)
    event.listen(engine, "after_cursor_execute", log.after)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", log.before)
        event.remove(engine, "after_cursor_execute", log.after)
