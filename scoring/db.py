"""Engine, sessions and migrations. SQLite is the default; nothing here is SQLite-only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine

DATABASE_ENV = "KAOHE_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///data/kaohe.db"
MIGRATIONS = "scoring:migrations"  # Alembic's script_location


def database_url(url: str | None = None) -> str:
    """The database in use: the one given, else KAOHE_DATABASE_URL, else data/kaohe.db."""
    return url or os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE_URL


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (None: another database, or one in memory)."""
    real = make_url(url)
    if real.get_backend_name() != "sqlite" or real.database in (None, "", ":memory:"):
        return None
    return Path(str(real.database))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for the database; SQLite files get WAL and foreign keys, and their folder."""
    real = make_url(database_url(url))
    kwargs: dict[str, Any] = {}
    if real.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False}
        if real.database and real.database != ":memory:":
            Path(real.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(real, **kwargs)
    if real.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration for our bundled migrations, bound to this engine."""
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (idempotent)."""
    command.upgrade(alembic_config(engine), "head")


def insert_new(session: Session, model: type[SQLModel], **values: Any) -> bool:
    """INSERT a row unless its key is taken; False when it was (or another transaction, still
    open, takes it first: PostgreSQL waits for that one and then does nothing). Nothing is
    raised and the caller's transaction goes on either way."""
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(table).values(**values).on_conflict_do_nothing()
        key = list(table.primary_key.columns)
        return session.execute(statement.returning(*key)).first() is not None
    try:
        with session.begin_nested():
            session.execute(table.insert().values(**values))
    except IntegrityError:
        return False
    return True


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed at the end, or rolled back whole on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
