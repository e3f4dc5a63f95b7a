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
        self._began = 0.0

    def __len__(self) -> int:
        return len(self.statements)

    def by_verb(self) -> dict[str, int]:
        """SELECT / INSERT / UPDATE / ...: how many of each."""
        return dict(Counter(s.split(None, 1)[0].upper() for s in self.statements if s.strip()))

    def before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)
        self._began = time.perf_counter()

    def after(self, *_args: Any) -> None:
        self.seconds += time.perf_counter() - self._began


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
