"""Alembic environment: run the migrations on the connection ``storage.migrate`` hands over."""

from alembic import context

from storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise SystemExit("run migrations with `tms-eligibility db upgrade` (or storage.migrate.upgrade), not alembic")
# render_as_batch: SQLite alters a table by copying it; batch mode writes later migrations that way.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
