"""Where a transition's time goes: `python -m bench.profile service|request [options]`.

  service  N calls of services.steps.perform in process (as in (b));
  request  N requests POST /api/v1/steps/{id}/complete through the whole Flask stack
           in process (auth, body parsing, the service, the JSON response), as the
           gunicorn workers of (a) run them;
  worker   webapp.worker.drain() in process over N pending core.echo jobs (as in (c)).

Prints a pyinstrument call tree (or a flat list of the costliest functions with --flat)
and the SQL statements of one call (for `worker`: of the whole drain, with the count per
job), counted with a SQLAlchemy event listener. The database is a fresh SQLite file, or
PostgreSQL as `make bench` finds it."""

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from pyinstrument import Profiler

from bench import seed, service_bench, worker_bench
from bench.app import fresh_app
from bench.databases import Database, postgres_database, sqlite_database
from bench.sqlcount import StatementLog, counting
from webapp.extensions import db


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("what", choices=("service", "request", "worker"))
    parser.add_argument("--steps", type=int, default=10, help="steps per instance")
    parser.add_argument("--calls", type=int, default=200, help="transitions (jobs) to profile")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--flat", action="store_true", help="costliest functions, flat")
    parser.add_argument("--all", action="store_true", help="show library frames in the tree")
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML here")
    return parser.parse_args(argv)


def database_for(name: str) -> Database:
    if name == "sqlite":
        return sqlite_database()
    found = postgres_database()
    if not isinstance(found, Database):
        sys.exit(f"PostgreSQL unavailable: {found.reason}")
    return found


def service_call(app: Flask, firm: seed.Firm) -> Callable[[int], StatementLog]:
    def call(step_id: int) -> StatementLog:
        return service_bench.timed_call(app, firm.lawyer_id, step_id)[1]

    return call


def request_call(app: Flask, firm: seed.Firm) -> Callable[[int], StatementLog]:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {firm.token}"}

    def call(step_id: int) -> StatementLog:
        with counting(engine) as log:
            response = client.post(
                f"/api/v1/steps/{step_id}/complete", json=seed.COMPLETE_PAYLOAD, headers=headers
            )
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)}")
        return log

    with app.app_context():
        engine = db.engine
    return call


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    database = database_for(args.database)
    app = fresh_app(database)
    with app.app_context():
        firm = seed.create_firm()
    profiler = Profiler(interval=0.0005)
    if args.what == "worker":
        log = profile_worker(app, firm, args.calls, profiler)
    else:
        log = profile_transitions(app, firm, args, profiler)
    print(profiler.output_text(unicode=True, show_all=args.all, flat=args.flat))
    if args.html:
        args.html.write_text(profiler.output_html())
    print_statements(log, args)


def profile_transitions(
    app: Flask, firm: seed.Firm, args: argparse.Namespace, profiler: Profiler
) -> StatementLog:
    queue = service_bench.step_queue(app, firm, args.steps, args.calls + 5)
    call = (service_call if args.what == "service" else request_call)(app, firm)
    for step_id in queue[:5]:  # warm caches before the profile
        call(step_id)
    profiler.start()
    logs = [call(step_id) for step_id in queue[5:]]
    profiler.stop()
    return logs[-1]


def profile_worker(app: Flask, firm: seed.Firm, jobs: int, profiler: Profiler) -> StatementLog:
    drain = importlib.import_module("webapp.worker").drain
    fan_out = worker_bench.FAN_OUT
    with app.app_context():
        template_id = seed.published_template(firm, "Echo", seed.echo_fan_out(fan_out))
        seed.start_instances(firm, template_id, 1)
        drain("profile-warm", until_idle=True)  # warm caches before the profile
        seed.start_instances(firm, template_id, max(1, jobs // fan_out))
        with counting(db.engine) as log:
            profiler.start()
            done = drain("profile", until_idle=True)
            profiler.stop()
    print(f"drain() ran {done} jobs: {len(log) / max(done, 1):.1f} SQL statements per job")
    return log


def print_statements(log: StatementLog, args: argparse.Namespace) -> None:
    what = "the drain" if args.what == "worker" else f"one {args.what} call"
    print(f"SQL statements of {what} ({args.database}): {len(log)} {log.by_verb()}")
    for statement in log.statements[:40]:
        print("  " + " ".join(statement.split())[:160])


if __name__ == "__main__":
    main(sys.argv[1:])
