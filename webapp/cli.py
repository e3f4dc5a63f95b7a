"""flask commands: create-firm, seed-demo, create-user, create-token, worker,
rotate-secret-keys, actions-reference, verify-audit, grant-app-role."""

import signal
import threading

import click
from flask import Flask

from webapp.engine.errors import DomainError


def register_cli(app: Flask) -> None:
    register_audit_cli(app)

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only seed a database with no firm yet.")
    def seed_demo_command(if_empty: bool) -> None:
        """Create the demo firm, people, matter, template and running instance."""
        from webapp.services.seed import database_is_empty, seed_demo

        if if_empty and not database_is_empty():
            click.echo("Database already has data; demo seed skipped.")
            return
        seed_demo()
        click.echo("Demo data created: sign in as lawyer@demo.test / demo-password.")

    @app.cli.command("create-firm")
    @click.argument("name")
    @click.option("--admin", "admin_email", required=True, help="The first admin's email.")
    @click.option("--admin-name", default=None, help="Their name (from the email by default).")
    def create_firm_command(name: str, admin_email: str, admin_name: str | None) -> None:
        """Create a firm and its first admin; print the admin's one-time link to set a
        password (signed, it expires after INVITATION_DAYS and works once)."""
        from webapp.services.people import create_firm

        try:
            created = create_firm(name, admin_email, admin_name)
        except DomainError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"Created the firm {created.firm.name} (id {created.firm.id}).")
        click.echo(f"{created.admin.email} sets their password and signs in here, once:")
        click.echo(created.link)

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--name", required=True)
    @click.option(
        "--role", type=click.Choice(["ADMIN", "LAWYER", "PARALEGAL", "CLIENT"]), required=True
    )
    @click.option("--org-id", type=int, default=1, show_default=True)
    @click.password_option()
    def create_user_command(email: str, name: str, role: str, org_id: int, password: str) -> None:
        """Create a person in a firm."""
        from webapp.services.auth import create_user

        try:
            user = create_user(org_id, email, name, role, password)
        except DomainError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"Created {user.email} ({user.role}).")

    @app.cli.command("create-token")
    @click.argument("email")
    @click.option("--name", default="api", help="A label for the token.")
    @click.option(
        "--expires-in-days",
        type=click.IntRange(1, 365),
        default=None,
        help="Days until it stops working (by default it never expires).",
    )
    def create_token_command(email: str, name: str, expires_in_days: int | None) -> None:
        """Print a new API token for EMAIL (shown once; only its hash is stored)."""
        from webapp.services.auth import create_token

        try:
            click.echo(create_token(email, name, expires_in_days, audited=True))
        except DomainError as error:
            raise click.ClickException(error.message) from None

    @app.cli.command("worker")
    @click.option("--id", "worker_id", default=None, help="Name in job leases (host-pid).")
    @click.option("--until-idle", is_flag=True, help="Exit once no job is due.")
    @click.option("--poll", type=float, default=None, help="Seconds between looks when idle.")
    def worker_command(worker_id: str | None, until_idle: bool, poll: float | None) -> None:
        """Run outbox jobs: automated steps, notifications, sub-workflow results."""
        from webapp.adapters.cipher import CipherUnavailable
        from webapp.services.secrets import check_keys
        from webapp.worker import check_when_reachable, default_worker_id, drain

        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())  # finish the current job, then exit
        try:
            # A wrong key refuses here, not in each step that needs a secret.
            check_when_reachable(check_keys, stop)
        except CipherUnavailable as error:
            raise click.ClickException(f"The worker will not start: {error}") from None
        name = worker_id or default_worker_id()
        processed = drain(name, until_idle=until_idle, poll=poll, stop=stop)
        click.echo(f"Worker {name} ran {processed} job(s).")

    @app.cli.command("rotate-secret-keys")
    def rotate_secret_keys_command() -> None:
        """Re-encrypt every firm's secrets with the first of MATTERFLOW_SECRET_KEYS; the
        older keys may then be removed from the variable."""
        from webapp.adapters.cipher import CipherUnavailable
        from webapp.services.secrets import rotate_keys

        try:
            count = rotate_keys()
        except CipherUnavailable as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Re-encrypted {count} secret(s) with the first key of MATTERFLOW_SECRET_KEYS.")

    @app.cli.command("actions-reference")
    @click.option(
        "--output",
        type=click.Path(dir_okay=False),
        default="docs/actions.md",
        show_default=True,
        help="Where to write it; - prints it.",
    )
    def actions_reference_command(output: str) -> None:
        """Write the action reference (docs/actions.md) from the action catalog."""
        from webapp.engine.actions.reference import action_reference

        text = action_reference()
        if output == "-":
            click.echo(text, nl=False)
            return
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"Wrote {output}.")


def register_audit_cli(app: Flask) -> None:
    @app.cli.command("verify-audit")
    @click.option("--matter", "matter_id", type=int, default=None, help="Only this matter's.")
    def verify_audit_command(matter_id: int | None) -> None:
        """Recompute every audit hash chain (or one matter's); exit 1 naming the first
        broken row of each broken chain."""
        from webapp.extensions import db
        from webapp.persistence.audit_chain import verify_chains

        with db.engine.connect() as connection:
            verified = verify_chains(connection, matter_id)
        for broken in verified.broken:
            click.echo(f"BROKEN {broken.describe()}", err=True)
        if verified.broken:
            raise SystemExit(1)
        click.echo(f"Audit trail intact: {verified.rows} row(s) in {verified.chains} chain(s).")

    @app.cli.command("grant-app-role")
    @click.argument("role")
    @click.option(
        "--password-env",
        default=None,
        help="Set the role's password from this environment variable.",
    )
    def grant_app_role_command(role: str, password_env: str | None) -> None:
        """PostgreSQL: create ROLE if missing and grant it what the app needs, as the
        tables' owner (MIGRATION_DATABASE_URL, else DATABASE_URL). The app then connects
        as ROLE: it owns no table, so it cannot truncate the audit trail nor disable or
        drop its triggers. Run it again after `flask db upgrade`."""
        import os

        from flask import current_app
        from sqlalchemy import create_engine

        from webapp.persistence.app_role import grant_app_role

        url = (
            current_app.config.get("MIGRATION_DATABASE_URL")
            or current_app.config["SQLALCHEMY_DATABASE_URI"]
        )
        engine = create_engine(url)
        if engine.dialect.name != "postgresql":
            raise click.ClickException("Only PostgreSQL has roles; SQLite needs nothing.")
        password = os.environ.get(password_env) if password_env else None
        if password_env and not password:
            raise click.ClickException(f"{password_env} is not set.")
        try:
            with engine.begin() as connection:
                done = grant_app_role(connection, role, password)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        finally:
            engine.dispose()
        for statement in done:
            click.echo(statement)
        click.echo(f"The app may now connect as {role}.")
