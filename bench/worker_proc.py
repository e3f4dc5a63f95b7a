"""One worker process for (c): `python -m bench.worker_proc NAME`. It builds the app from
the environment (DATABASE_URL), says "ready", waits for "go" on stdin, then runs the real
`webapp.worker.drain(NAME, until_idle=True)` and prints one JSON line: jobs run and when
it finished. Start-up happens before "go", so the figure is draining, not importing."""

import importlib
import json
import sys
import time

from sqlalchemy import text

from webapp import create_app
from webapp.extensions import db


def main() -> None:
    worker_id = sys.argv[1]
    # Looked up by name: the worker module lands on another branch (see worker_bench).
    drain = importlib.import_module("webapp.worker").drain
    app = create_app()
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # connect now, not on the clock
        db.session.remove()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    with app.app_context():
        started = time.monotonic()
        jobs = drain(worker_id, until_idle=True)
        finished = time.monotonic()
    print(json.dumps({"jobs": jobs, "started": started, "finished": finished}), flush=True)


if __name__ == "__main__":
    main()
