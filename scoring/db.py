"""Engine, sessions and migrations. SQLite is the default; nothing here is SQLite-only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

if TYPE_CHECKING:  # alembic is imported by the few commands that migrate
    from alembic.config import Config

DATABASE_ENV = "KAOHE_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///data/kaohe.db"


def database_url(url: str | None = None) -> str:
    """The database in use: the one given, else KAOHE_DATABASE_URL, else data/kaohe.db."""
    return url or os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE_URL


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
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "scoring:migrations")
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


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
