"""One timed run of the load generator against a running server, with the CPU time each
party spent during it: gunicorn workers, PostgreSQL backends, the clients, everything else."""

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from bench.server import HOST, ROOT, Server, cpu_seconds, machine_busy_seconds
from bench.stats import percentile


@dataclass(frozen=True)
class Load:
    processes: int = 2
    threads: int = 4  # per process

    @property
    def clients(self) -> int:
        return self.processes * self.threads

    def describe(self) -> str:
        return f"{self.clients} clients ({self.processes} processes x {self.threads} threads)"


@dataclass
class RunResult:
    ok: int
    seconds: float
    latencies_ms: list[float]
    errors: dict[str, int]
    exhausted: bool
    cpu: dict[str, float] = field(default_factory=dict)  # seconds per party

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 0.99)

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 0.50)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def cpu_ms_per_request(self) -> dict[str, float]:
        if not self.ok:
            return {}
        return {party: secs * 1000 / self.ok for party, secs in self.cpu.items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "errors": self.errors,
            "exhausted": self.exhausted,
            "cpu_ms_per_request": {k: round(v, 3) for k, v in self.cpu_ms_per_request().items()},
        }


def deal(chains: list[list[str]], load: Load) -> list[list[list[str]]]:
    """Chains dealt out to every client thread in turn, so each owns its own."""
    hands: list[list[list[str]]] = [[] for _ in range(load.clients)]
    for n, chain in enumerate(chains):
        hands[n % load.clients].append(chain)
    return hands


def run_load(
    server: Server,
    load: Load,
    chains: list[list[str]],
    seconds: float,
    *,
    headers: dict[str, str],
    body: dict[str, Any],
    repeat: bool = False,
    database_pids: list[int] | None = None,
) -> RunResult:
    hands = deal(chains, load)
    clients = [_spawn_client() for _ in range(load.processes)]
    try:
        for n, client in enumerate(clients):
            plan = {
                "host": HOST,
                "port": server.port,
                "headers": headers,
                "body": body,
                "seconds": seconds,
                "chains": hands[n * load.threads : (n + 1) * load.threads],
                "repeat": repeat,
            }
            client.stdin.write(json.dumps(plan) + "\n")
            client.stdin.flush()
        for client in clients:
            _expect(client, "ready")
        workers = server.worker_pids()
        db_pids = database_pids or []
        before = (cpu_seconds(workers), cpu_seconds(db_pids), machine_busy_seconds())
        for client in clients:
            client.stdin.write("go\n")
            client.stdin.flush()
        reports = [json.loads(_expect(client, "{")) for client in clients]
        after = (cpu_seconds(workers), cpu_seconds(db_pids), machine_busy_seconds())
    finally:
        for client in clients:
            client.kill()
            client.wait()
    return _combine(reports, before, after, bool(db_pids))


def _spawn_client() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.load"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _expect(client: subprocess.Popen, prefix: str) -> str:
    line = client.stdout.readline()
    if not line.startswith(prefix):
        raise RuntimeError(f"load client said {line!r}, expected {prefix!r}")
    return line


def _combine(reports: list[dict[str, Any]], before: tuple, after: tuple, has_db: bool) -> RunResult:
    errors: dict[str, int] = {}
    for report in reports:
        for kind, count in report["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    started = min(r["started"] for r in reports)
    finished = max(r["finished"] for r in reports)
    clients_cpu = sum(r["cpu_seconds"] for r in reports)
    cpu = {"server": after[0] - before[0], "clients": clients_cpu}
    if has_db:
        cpu["postgres"] = after[1] - before[1]
    if before[2] is not None and after[2] is not None:
        cpu["other"] = max(0.0, (after[2] - before[2]) - sum(cpu.values()))
    return RunResult(
        ok=sum(r["ok"] for r in reports),
        seconds=finished - started,
        latencies_ms=[x for r in reports for x in r["latencies_ms"]],
        errors=errors,
        exhausted=any(r["exhausted"] for r in reports),
        cpu=cpu,
    )
