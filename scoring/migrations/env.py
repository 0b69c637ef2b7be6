"""Alembic environment: runs our migrations on the engine handed in by scoring.db."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine
from sqlmodel import SQLModel

import scoring.models  # noqa: F401  (registers the tables)
from scoring.db import make_engine

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run every pending migration in one transaction."""
    engine: Engine = context.config.attributes.get("engine") or make_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            # one transaction for every pending migration, on SQLite too (its DDL is
            # transactional): the write lock taken as it begins is held until all are done,
            # so a process starting at the same time waits and then finds the schema at its
            # head. Alembic's default for SQLite commits after each migration, letting two
            # processes that read the same old head both run the next one.
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
