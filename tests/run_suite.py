"""`make test`: the whole suite (unit, integration on every reachable database, browser),
then a line saying which databases it ran on. The tests are spread over one process per
CPU and one more per CPU (pytest-xdist; at most 4: many tests wait on servers, workers
and browsers they started, so a CPU runs two of them): each process has its own PostgreSQL database, SQLite files
and live servers (tests/databases.py, tests/conftest.py), so they never share a row."""

import compileall
import os
import sys
from pathlib import Path

import pytest

from tests.databases import PG_URL, available_databases, describe

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    # Where Python is told not to write bytecode (PYTHONDONTWRITEBYTECODE), each of the
    # suite's processes (test processes, servers, workers) would compile the app's modules
    # anew: most of a second a start. Compiled once here (quick when nothing changed),
    # they are loaded instead.
    for folder in ("webapp", "tests", "bench"):
        compileall.compile_dir(ROOT / folder, quiet=1)
    databases = available_databases()
    processes = min(4, 2 * (os.cpu_count() or 1))
    code = pytest.main(["tests", f"--numprocesses={processes}", *sys.argv[1:]])
    names = ["SQLite"] + ([describe(PG_URL)] if "postgresql" in databases else [])
    print(f"\nMatterflow suite ran on: {', '.join(names)}")
    if "postgresql" not in databases:
        print("PostgreSQL was not reachable, so only SQLite was tested.")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
