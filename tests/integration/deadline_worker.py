"""A worker process of the deadline test: it drains the queue with the app's clock set to
the time it is given. It says "ready" once connected and starts when told "go" on its
input, so two of them race for the same jobs.

    python -m tests.integration.deadline_worker <clock time, ISO> <worker id>
"""

import sys
from datetime import datetime

from sqlalchemy import text

from webapp import create_app
from webapp.extensions import db
from webapp.worker import drain


def main(at: str, worker_id: str) -> int:
    app = create_app()
    moment = datetime.fromisoformat(at)
    app.config["CLOCK"] = lambda: moment
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return 1
        ran = drain(worker_id, until_idle=True)
    print(f"ran {ran}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
