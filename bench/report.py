"""The printed report and its targets (issue 4, point 7)."""

import math
from typing import Any

from bench.http_bench import CHAIN_STEPS, HttpResult
from bench.loadrun import Load
from bench.service_bench import ServiceResult
from bench.stats import Summary, Target
from bench.worker_bench import FAN_OUT, WorkerResult

HTTP_TARGETS = {
    "PostgreSQL": (Target(400, at_least=True), Target(50, at_least=False)),
    "SQLite": (Target(300, at_least=True), Target(150, at_least=False)),
}
SCALING_TARGET = Target(1.2, at_least=False)
WORKER_TARGETS = {("PostgreSQL", 2): Target(300, at_least=True)}
BASELINE_QUOTED = 390  # what the issue says the bare endpoint reaches on this machine


def _fmt(summary: Summary, digits: int = 0) -> str:
    if math.isnan(summary.median):
        return "n/a"
    return f"{summary.median:,.{digits}f} [{summary.low:,.{digits}f}..{summary.high:,.{digits}f}]"


class Report:
    """Prints as it goes and keeps every verdict for latest.json."""

    def __init__(self) -> None:
        self.verdicts: list[dict[str, Any]] = []

    def judge(self, name: str, value: float, target: Target, unit: str = "") -> str:
        verdict = target.verdict(value)
        self.verdicts.append(
            {"figure": name, "value": value, "target": target.describe(unit), "verdict": verdict}
        )
        return f"{target.describe(unit)} {verdict}"

    # ---- (a) ---------------------------------------------------------------------------

    def http(self, results: list[HttpResult], load: Load, seconds: float) -> None:
        print(
            f"\n(a) Step transitions through the HTTP API: gunicorn --workers 2 (sync), "
            f"{load.describe()}, {seconds:g} s per run"
        )
        print(
            f"    each request completes one READY checklist step of a {CHAIN_STEPS}-step "
            "instance: POST /api/v1/steps/{id}/complete with a Bearer token"
        )
        print(f"    {'database':<11} {'app':<9} {'per second':<28} {'p99 ms':<30} errors")
        for result in results:
            print("    " + self._http_row(result))
        for result in results:
            if result.exhausted:
                print(f"    ! {result.database} {result.app} ran out of open steps: a lower bound")
        for result in results:
            print(f"    {result.database} {result.app}: {_cpu_line(result)}")

    def _http_row(self, result: HttpResult) -> str:
        rate, p99 = result.rate, result.p99
        if result.app == "engine":
            rate_target, p99_target = HTTP_TARGETS[result.database]
            label = f"(a) {result.database}"
            rate_note = self.judge(f"{label} transitions/s", rate.median, rate_target, "/s")
            p99_note = self.judge(f"{label} p99", p99.median, p99_target, " ms")
        else:
            rate_note, p99_note = f"(issue: ~{BASELINE_QUOTED}/s)", ""
        return (
            f"{result.database:<11} {result.app:<9} "
            f"{_fmt(rate) + '  ' + rate_note:<28} {_fmt(p99, 1) + '  ' + p99_note:<30} "
            f"{result.errors}"
        )

    # ---- (b) ---------------------------------------------------------------------------

    def service(self, results: list[ServiceResult]) -> None:
        print(
            "\n(b) One transition service call in process (services.steps.transition, no HTTP):"
            " median µs per call, SQL statements per call"
        )
        for result in results:
            cells = [
                f"{size.steps} steps: {_fmt(size.micros)} µs, {size.statements_per_call:g} SQL"
                for size in result.sizes
            ]
            note = self.judge(
                f"(b) {result.database} 500/5 ratio", result.ratio, SCALING_TARGET, "x"
            )
            print(f"    {result.database:<11} " + " | ".join(cells))
            print(f"    {'':<11} ratio 500/5 = {result.ratio:.2f}x  {note}")

    # ---- (c) ---------------------------------------------------------------------------

    def workers(self, results: list[WorkerResult]) -> None:
        print(
            f"\n(c) Worker jobs per second: worker processes draining instances of {FAN_OUT} "
            "parallel core.echo steps until no job is due"
        )
        for result in results:
            target = WORKER_TARGETS.get((result.database, result.workers))
            note = ""
            if target is not None:
                name = f"(c) {result.database} {result.workers} workers jobs/s"
                note = self.judge(name, result.rate.median, target, "/s")
            problems = f"  ! {result.problems} jobs left pending or dead" if result.problems else ""
            print(
                f"    {result.database:<11} {result.workers} worker{'s' if result.workers > 1 else ' '}"
                f"  {_fmt(result.rate)} jobs/s  {note}{problems}"
            )

    def skipped(self, section: str, reason: str) -> None:
        print(f"\n{section} skipped: {reason}")


def _cpu_line(result: HttpResult) -> str:
    """Where the machine's CPU went per transition: tells a server-bound run from a
    client-bound one."""
    cpu = result.cpu_ms_per_request()
    if not cpu:
        return "no CPU figures"
    parts = ", ".join(f"{party} {ms:.2f}" for party, ms in cpu.items() if not math.isnan(ms))
    total = sum(ms for ms in cpu.values() if not math.isnan(ms))
    client_share = cpu.get("clients", 0.0) / total if total else 0.0
    return f"CPU ms per request: {parts} (clients {client_share:.0%} of the total)"
