"""Each run of the suite works in a PostgreSQL database of its own, never in the
database `TEST_POSTGRES_URL` names, so two runs on one machine never share tables."""

from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.databases import PG_URL, RUN_PREFIX
from webapp.extensions import db


def test_postgres_tests_run_in_a_database_of_their_own_when_on_postgresql(app, dialect):
    if dialect != "postgresql":
        return
    name = db.session.scalar(text("SELECT current_database()"))
    assert name.startswith(RUN_PREFIX)
    assert name != make_url(PG_URL).database
