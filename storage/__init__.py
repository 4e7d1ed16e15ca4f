"""The SQLAlchemy adapter of the service layer's unit of work: the same code on SQLite (WAL) and PostgreSQL.

- ``tables``: the tables (the Alembic migrations in ``storage/migrations`` build exactly these)
- ``engine``: ``create_engine`` with SQLite's pragmas
- ``prepared``: the hot statements, compiled once and run on the DBAPI cursor
- ``repositories``: each kind of record's statements
- ``unit_of_work``: ``Database`` (engine and prepared statements) and ``SqlUnitOfWork``
- ``migrate``: Alembic, driven from code

An evaluation is written in one short transaction (its row, one row per policy evaluated and its
audit row) and read back as the exact bytes that were answered when it was created.
"""

from .engine import create_engine
from .unit_of_work import Database, SqlUnitOfWork

__all__ = ["Database", "SqlUnitOfWork", "create_engine"]
