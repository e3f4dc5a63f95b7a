"""A worker process of the schedule test: it ticks the schedules at the times it is given,
committing after each tick as `flask worker` does each loop, with the app's clock set to
each time. It says "ready" once connected and starts when told "go" on its input, so two
of them tick the same times together.

    python -m tests.integration.schedule_ticker <first time, ISO> <seconds between> <ticks>
"""

import sys
from datetime import datetime, timedelta

from sqlalchemy import text

from webapp import create_app
from webapp.extensions import db
from webapp.services.triggers.schedule import tick


def main(first: str, seconds: float, ticks: int) -> int:
    app = create_app()
    start = datetime.fromisoformat(first)
    times = [start + timedelta(seconds=seconds * n) for n in range(1, ticks + 1)]
    fired = 0
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return 1
        for at in times:
            app.config["CLOCK"] = lambda at=at: at
            fired += sum(1 for one in tick(at) if one.created)
            db.session.commit()
    print(f"fired {fired}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))
