"""When the embedded worker thread starts: once, in the process that serves requests."""

import pytest

from webapp.worker import embedded_worker_wanted


@pytest.mark.parametrize(
    ("enabled", "testing", "command", "reloading", "child", "explicit", "expected"),
    [
        (True, False, "run", False, False, False, True),  # flask run
        (True, False, "run", True, False, False, False),  # the reloader's watching parent
        (True, False, "run", True, True, False, True),  # the reloader's serving child
        (False, False, "run", False, False, False, False),  # EMBEDDED_WORKER=false
        (True, True, "run", False, False, True, False),  # tests
        (True, False, None, False, False, False, False),  # gunicorn, default setting
        (True, False, None, False, False, True, True),  # gunicorn, EMBEDDED_WORKER=true set
        (True, False, "worker", False, False, True, False),  # flask worker runs its own loop
        (True, False, "db", False, False, True, False),  # flask db upgrade
        (True, False, "seed-demo", False, False, False, False),
    ],
)
def test_embedded_worker_starts_only_where_requests_are_served_when_deciding(
    enabled, testing, command, reloading, child, explicit, expected
):
    wanted = embedded_worker_wanted(enabled, testing, command, reloading, child, explicit)
    assert wanted is expected
