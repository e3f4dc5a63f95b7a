"""gunicorn as production runs it (sync workers), on a free loopback port, and the CPU
time each party spends, read from /proc (Linux; elsewhere the CPU split is left out)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LOG = ROOT / "bench-results" / "servers.log"  # what the servers and workers log
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen
    port: int

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], workers: int = 2) -> Iterator[Server]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
        app_spec,
    ]
    # Its log lines (one per request) go to a file: written as in production, not
    # flooding the report.
    with open_log() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=log)
    try:
        _wait_until_healthy(process, port, workers)
        yield Server(process, port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def open_log() -> IO[bytes]:
    LOG.parent.mkdir(parents=True, exist_ok=True)
    return LOG.open("ab")


def _wait_until_healthy(process: subprocess.Popen, port: int, workers: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with code {process.returncode} at start (see {LOG.name})"
            )
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=2) as response:
                if response.status == 200 and len(children_of(process.pid)) >= workers:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer /health within 60 s")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        stat = _stat_fields(int(entry.name))
        if stat and int(stat[1]) == pid:
            found.append(int(entry.name))
    return found


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may contain spaces)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (fields utime, stime of /proc/PID/stat)."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def machine_busy_seconds() -> float | None:
    """CPU time all cores spent not idle since boot, from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    values = [int(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / TICKS


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None
