"""A worker process of the deadline test: it drains the queue with the app's clock set to
the time it is told. It says "ready" once connected; then each line "go <clock time, ISO>"
on its input sets the clock, drains the queue and answers "ran <jobs>", so two of them race
for the same jobs, round after round, without a process start between rounds.

    python -m tests.integration.deadline_worker <worker id>
"""

import sys
from datetime import datetime

from sqlalchemy import text

from webapp import create_app
from webapp.extensions import db
from webapp.worker import drain


def main(worker_id: str) -> int:
    app = create_app()
    moment = datetime.now()
    app.config["CLOCK"] = lambda: moment
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        print("ready", flush=True)
        for line in sys.stdin:
            word, _, at = line.strip().partition(" ")
            if word != "go":
                return 1
            moment = datetime.fromisoformat(at)
            ran = drain(worker_id, until_idle=True)
            print(f"ran {ran}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
