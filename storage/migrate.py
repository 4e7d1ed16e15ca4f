"""Alembic, driven from code: the migrations ship inside the package, so no ``alembic.ini`` is needed."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    """The revision the code expects the database to be at."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision``."""
    _run(command.upgrade, engine, revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    _run(command.downgrade, engine, revision)


def _run(alembic_command, engine: sa.Engine, revision: str) -> None:
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        alembic_command(config, revision)
        connection.commit()
