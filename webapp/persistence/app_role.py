"""The PostgreSQL role the app connects as: it owns no table, so it can neither TRUNCATE
the audit tables nor disable or drop their triggers (only a table's owner can), and it
is granted no UPDATE or DELETE on them. Migrations run as the owner
(`MIGRATION_DATABASE_URL`); `flask grant-app-role` (as the owner too) creates the role
when it is missing and grants it what the app needs, on every table the migrations made.
Run it again after `flask db upgrade` adds a table."""

import re

from sqlalchemy import Connection, text

# The audit tables: the app appends and reads, nothing else.
APPEND_ONLY_TABLES = ("workflow_events", "instance_changes")
# Alembic's own: the app reads which revision it runs on, and never moves it.
READ_ONLY_TABLES = ("alembic_version",)
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_app_role(connection: Connection, role: str, password: str | None) -> list[str]:
    """Create `role` (LOGIN) if missing, then grant it the app's rights in the current
    schema; the statements run, for the record."""
    if not ROLE_NAME.match(role):
        raise ValueError("A role name is lower-case letters, digits and underscores.")
    schema = connection.execute(text("SELECT current_schema()")).scalar()
    database = connection.execute(text("SELECT current_database()")).scalar()
    owner = connection.execute(text("SELECT current_user")).scalar()
    if role == owner:
        raise ValueError("The app role must not be the owner of the tables.")
    statements: list[str] = []
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
    ).scalar()
    if not exists:
        statements.append(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
    if password is not None:
        quoted = connection.execute(text("SELECT quote_literal(:p)"), {"p": password}).scalar()
        statements.append(f"ALTER ROLE {role} PASSWORD {quoted}")
    statements += [
        f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
        f'GRANT USAGE ON SCHEMA "{schema}" TO {role}',
        f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {role}',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {role}',
        *(
            f'REVOKE UPDATE, DELETE ON "{schema}".{table} FROM {role}'
            for table in APPEND_ONLY_TABLES
        ),
        *(
            f'REVOKE INSERT, UPDATE, DELETE ON "{schema}".{table} FROM {role}'
            for table in READ_ONLY_TABLES
        ),
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {role}',
    ]
    for statement in statements:
        connection.exec_driver_sql(statement)
    return [s if "PASSWORD" not in s else f"ALTER ROLE {role} PASSWORD '…'" for s in statements]
