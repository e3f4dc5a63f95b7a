"""Counting the SQL statements a piece of code sends, with a SQLAlchemy event listener."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


class StatementLog:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)

    def by_verb(self) -> dict[str, int]:
        """SELECT / INSERT / UPDATE / ...: how many of each."""
        return dict(Counter(s.split(None, 1)[0].upper() for s in self.statements if s.strip()))

    def record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)


@contextmanager
def counting(engine: Engine) -> Iterator[StatementLog]:
    log = StatementLog()
    event.listen(engine, "before_cursor_execute", log.record)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", log.record)
