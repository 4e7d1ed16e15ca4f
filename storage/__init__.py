"""The SQLAlchemy adapter: the tables, the store and the Alembic migrations that build them."""
