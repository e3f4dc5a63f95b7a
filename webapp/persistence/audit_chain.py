"""The audit trail's hash chain: each WorkflowEvent carries the hash of the row before it
in its chain (`prev_hash`) and its own `hash`, sha256 over the row's canonical form and
that `prev_hash`. A chain is one matter's rows in id order; rows about no matter (template
edits) make one chain per firm. Changing, removing or inserting a row anywhere but at the
end of a chain breaks the link after it, which `verify_chains` finds.

The canonical form is frozen: a row hashed today must hash the same in ten years, so it
names every column but the id (which the database hands out after the hash is computed)
and the hashes themselves, in a fixed JSON shape that any language can rebuild from an
export (docs/engine.md, "Tamper-evident audit").

Appending takes the chain's head once per transaction and chain, under a lock that only
that chain's writers share: on PostgreSQL `matterflow_chain_head()` (the migration 0011)
takes a transaction-scoped advisory lock on the matter (or the firm, for rows about no
matter) and then reads the head with a fresh snapshot; SQLite's writers are already one
at a time. Two matters never wait on each other."""

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, text

from webapp.models import WorkflowEvent

# Every column the hash covers, in the canonical form's order.
HASHED_COLUMNS = (
    "org_id",
    "matter_id",
    "instance_id",
    "step_id",
    "template_id",
    "actor_id",
    "event_type",
    "old_status",
    "new_status",
    "payload",
    "request_id",
    "created_at",
)

ChainKey = tuple[int, int | None]  # (org_id, matter_id); matter None: the firm's own chain


def chain_key(row: Mapping[str, Any]) -> ChainKey:
    return (row["org_id"], row["matter_id"])


def timestamp_text(value: datetime) -> str:
    """UTC, to the microsecond, as both databases give it back."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(row: Mapping[str, Any], payload_text: str | None = None) -> str:
    """The row as one line of JSON: the hashed columns in order, the payload with sorted
    keys, no spaces. `payload_text` is the payload's canonical text when the caller has
    it already (the benchmark's cloner reuses it across thousands of rows)."""
    if payload_text is None:
        payload_text = canonical_json(row["payload"] or {})
    before = [row[column] for column in HASHED_COLUMNS[:9]]
    after = [row["request_id"], timestamp_text(row["created_at"])]
    head = _PLAIN.encode(before)[:-1]
    tail = _PLAIN.encode(after)[1:]
    return f"{head},{payload_text},{tail}"


def canonical_json(value: Any) -> str:
    return _SORTED.encode(value)


# Built once: json.dumps with options builds a new encoder on every call.
_PLAIN = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_SORTED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def row_hash(row: Mapping[str, Any], prev_hash: str | None, payload_text: str | None = None) -> str:
    """sha256 (hex) of `prev_hash` (empty at a chain's start), a newline, the canonical row."""
    body = f"{prev_hash or ''}\n{canonical(row, payload_text)}"
    return hashlib.sha256(body.encode()).hexdigest()


# ---- appending ------------------------------------------------------------------------------

HEAD_FUNCTION = text(
    "SELECT matterflow_chain_head(CAST(:org_id AS integer), CAST(:matter_id AS integer))"
)


def chain_head(connection: Connection, key: ChainKey) -> str | None:
    """The hash of the chain's last row, the chain locked until the transaction ends."""
    org_id, matter_id = key
    if connection.dialect.name == "postgresql":
        return connection.execute(
            HEAD_FUNCTION, {"org_id": org_id, "matter_id": matter_id}
        ).scalar()
    table = WorkflowEvent.__table__
    same_chain = (
        table.c.matter_id == matter_id if matter_id is not None else table.c.matter_id.is_(None)
    )
    query = (
        select(table.c.hash)
        .where(table.c.org_id == org_id, same_chain)
        .order_by(table.c.id.desc())
        .limit(1)
    )
    return connection.execute(query).scalar()


def seal(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Give each new row its `prev_hash` and `hash`, in the order they will be inserted:
    one head read per chain."""
    heads: dict[ChainKey, str | None] = {}
    for row in rows:
        key = chain_key(row)
        if key not in heads:
            heads[key] = chain_head(connection, key)
        row["prev_hash"] = heads[key]
        row["hash"] = heads[key] = row_hash(row, heads[key])


# ---- verifying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first row where a chain does not hold, and what differs."""

    event_id: int
    org_id: int
    matter_id: int | None
    problem: str

    def describe(self) -> str:
        chain = f"matter {self.matter_id}" if self.matter_id is not None else "no matter"
        return f"audit row {self.event_id} (firm {self.org_id}, {chain}): {self.problem}"


@dataclass
class Verified:
    rows: int
    chains: int
    broken: list[Break]


def check_chain(
    rows: Iterable[Mapping[str, Any]],
) -> Iterator[tuple[Mapping[str, Any], str | None]]:
    """Each row of the chains in `rows` (ordered by chain, then id) with what is wrong with
    it, or None."""
    previous: dict[ChainKey, tuple[int, str]] = {}
    for row in rows:
        key = chain_key(row)
        before = previous.get(key)
        expected_prev = before[1] if before else None
        recomputed = row_hash(row, row["prev_hash"])
        if row["prev_hash"] != expected_prev:
            where = (
                f"row {before[0]}'s hash {before[1]}" if before else "none (a chain's first row)"
            )
            yield row, f"prev_hash is {row['prev_hash']}, but the row before it has {where}"
        elif row["hash"] != recomputed:
            yield (
                row,
                (
                    f"its content no longer matches its hash: stored {row['hash']}, "
                    f"recomputed {recomputed}"
                ),
            )
        else:
            yield row, None
        previous[key] = (row["id"], row["hash"])


def chain_rows(connection: Connection, matter_id: int | None = None) -> Iterator[Any]:
    """Every audit row (or one matter's), chain by chain in id order, streamed."""
    table = WorkflowEvent.__table__
    query = select(table)
    if matter_id is not None:
        query = query.where(table.c.matter_id == matter_id)
    query = query.order_by(table.c.org_id, table.c.matter_id, table.c.id)
    result = connection.execution_options(stream_results=True, yield_per=2000).execute(query)
    yield from result.mappings()


def verify_chains(connection: Connection, matter_id: int | None = None) -> Verified:
    """Recompute every chain (or one matter's); the first broken row of each chain."""
    verified = Verified(0, 0, [])
    seen: set[ChainKey] = set()
    broken: set[ChainKey] = set()
    for row, problem in check_chain(chain_rows(connection, matter_id)):
        key = chain_key(row)
        verified.rows += 1
        if key not in seen:
            seen.add(key)
            verified.chains += 1
        if problem and key not in broken:
            broken.add(key)
            verified.broken.append(Break(row["id"], row["org_id"], row["matter_id"], problem))
    return verified
