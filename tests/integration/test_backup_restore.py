"""Backups are tested, as docs/operations.md says: `pg_dump` of a database with a workflow
run in it, `pg_restore` into a fresh database, and `flask verify-audit` against the restored
one passes — and fails once a restored audit row is altered, so it really read that copy."""

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import URL, make_url

from tests.databases import create_run_database, drop_run_database
from tests.integration.engine_support import (
    fresh,
    make_firm,
    publish,
    reload,
    run_worker,
    start,
    step,
)
from tests.integration.test_worker_processes import ROOT, worker_env
from webapp.extensions import db
from webapp.models import WorkflowEvent


@pytest.fixture(autouse=True)
def postgres_only(dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("pg_dump and pg_restore are PostgreSQL's backups")
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: install Debian's postgresql-client")


@pytest.fixture
def restored() -> Iterator[URL]:
    url = create_run_database()  # named for this run: dropped with it if this test dies
    try:
        yield url
    finally:
        drop_run_database(url)


def libpq(url: URL | str) -> str:
    """The URL as pg_dump and psql read it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def verify_audit(app, url: URL) -> subprocess.CompletedProcess:
    env = worker_env(app, DATABASE_URL=url.render_as_string(hide_password=False))
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "verify-audit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_restored_backup_passes_verify_audit(
    app, make_org, make_user, make_matter, api_as, restored, tmp_path: Path
):
    firm = make_firm(make_org, make_user, make_matter, api_as)
    template = publish(firm.api, "Filing", [step("draft"), step("file", dependsOn=["draft"])])
    instance = start(firm.api, template, firm.matter.id)
    run_worker()
    assert reload(firm.api, instance["id"])["status"] == "Completed"
    fresh()
    audit_rows = db.session.scalar(select(func.count()).select_from(WorkflowEvent))
    assert audit_rows >= 4

    dump = tmp_path / "matterflow.dump"
    source = app.config["SQLALCHEMY_DATABASE_URI"]
    subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(dump), libpq(source)], check=True, timeout=120
    )
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", libpq(restored), str(dump)],
        check=True,
        timeout=120,
    )

    passed = verify_audit(app, restored)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"Audit trail intact: {audit_rows} row(s)" in passed.stdout

    copy = create_engine(restored)
    with copy.begin() as connection:
        # The audit tables refuse changes (migration 0011); the owner sets that aside here,
        # as someone tampering with a backup could.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(
            text(
                "UPDATE workflow_events SET new_status = 'FORGED'"
                " WHERE id = (SELECT min(id) FROM workflow_events)"
            )
        )
    copy.dispose()
    failed = verify_audit(app, restored)
    assert failed.returncode == 1
    assert "BROKEN" in failed.stderr
