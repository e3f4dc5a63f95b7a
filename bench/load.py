"""The load generator: a separate process (`python -m bench.load`) whose threads each keep
one HTTP connection and walk their own chains of requests, so no request repeats another
or waits on another client's lock.

It reads its plan as one JSON line on stdin, says "ready", waits for "go", drives the
server for `seconds`, and prints one JSON line of results. It uses http.client rather than
requests: on two cores every microsecond the client spends is taken from the server."""

import http.client
import json
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Plan:
    host: str
    port: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    chains: list[list[list[str]]]  # per thread: chains of paths, walked round-robin
    repeat: bool  # start the chains over when they run out (a counter can go up forever)

    @classmethod
    def parse(cls, line: str) -> "Plan":
        raw = json.loads(line)
        return cls(
            host=raw["host"],
            port=raw["port"],
            headers=raw["headers"],
            body=json.dumps(raw["body"]).encode(),
            seconds=raw["seconds"],
            chains=raw["chains"],
            repeat=raw.get("repeat", False),
        )


@dataclass
class Tally:
    ok: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    exhausted: bool = False
    finished: float = 0.0


class Walker:
    """Round-robin over a thread's chains: one request from each chain in turn."""

    def __init__(self, chains: list[list[str]], repeat: bool) -> None:
        self.original = [list(c) for c in chains if c]
        self.repeat = repeat
        self.chains = [list(c) for c in self.original]
        self.index = 0
        self.last: list[str] | None = None

    def next_path(self) -> str | None:
        if not self.chains and self.repeat and self.original:
            self.chains = [list(c) for c in self.original]
        if not self.chains:
            return None
        self.index %= len(self.chains)
        chain = self.last = self.chains[self.index]
        path = chain.pop(0)
        if chain:
            self.index += 1
        else:
            self.chains.pop(self.index)
        return path

    def drop_last(self) -> None:
        """A failed request breaks its chain: the next step would answer 409, not work."""
        if any(chain is self.last for chain in self.chains):
            self.chains = [chain for chain in self.chains if chain is not self.last]


def drive(plan: Plan, chains: list[list[str]], start: float, tally: Tally) -> None:
    connection = http.client.HTTPConnection(plan.host, plan.port, timeout=30)
    walker = Walker(chains, plan.repeat)
    deadline = start + plan.seconds
    headers = {**plan.headers, "Content-Type": "application/json"}
    while time.monotonic() < deadline:
        path = walker.next_path()
        if path is None:
            tally.exhausted = True
            break
        began = time.perf_counter()
        try:
            connection.request("POST", path, body=plan.body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            tally.errors[type(error).__name__] += 1
            walker.drop_last()
            continue
        elapsed_ms = (time.perf_counter() - began) * 1000
        if 200 <= status < 300:
            tally.ok += 1
            tally.latencies_ms.append(elapsed_ms)
        else:
            tally.errors[str(status)] += 1
            walker.drop_last()
    connection.close()
    tally.finished = time.monotonic()


def run(plan: Plan) -> dict[str, Any]:
    tallies = [Tally() for _ in plan.chains]
    start = time.monotonic()
    cpu_before = os.times()
    threads = [
        threading.Thread(target=drive, args=(plan, chains, start, tally))
        for chains, tally in zip(plan.chains, tallies, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu_after = os.times()
    errors: Counter = Counter()
    for tally in tallies:
        errors.update(tally.errors)
    return {
        "ok": sum(t.ok for t in tallies),
        "latencies_ms": [round(x, 3) for t in tallies for x in t.latencies_ms],
        "errors": dict(errors),
        "exhausted": any(t.exhausted for t in tallies),
        "started": start,
        "finished": max(t.finished for t in tallies),
        "cpu_seconds": (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system),
    }


def main() -> None:
    plan = Plan.parse(sys.stdin.readline())
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    print(json.dumps(run(plan)), flush=True)


if __name__ == "__main__":
    main()
