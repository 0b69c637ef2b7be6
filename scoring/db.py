"""Engine, sessions and migrations. SQLite is the default; nothing here is SQLite-only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine

if TYPE_CHECKING:  # alembic is imported by the few commands that migrate
    from alembic.config import Config

DATABASE_ENV = "KAOHE_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///data/kaohe.db"
MIGRATIONS = "scoring:migrations"  # Alembic's script_location
# the execution option that marks a connection of ``transaction``: a writer
WRITER = "kaohe_writer"
# PostgreSQL's advisory lock that writers take (advisory locks are per database)
PG_WRITE_LOCK = 0x6B616F6865  # "kaohe"
# how long a writer waits for the lock before giving up with an error (both engines)
LOCK_WAIT_SECONDS = 15


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
    # first: switching a new file to WAL takes a lock that another process may hold
    cur.execute(f"PRAGMA busy_timeout={LOCK_WAIT_SECONDS * 1000}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_manual_begin(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite starts transactions itself, lazily, at the first write: too late for a check
    # made before it. We begin them ourselves (SQLAlchemy's recipe for pysqlite).
    dbapi_conn.isolation_level = None


def _begin(conn: Connection) -> None:
    """Every writer takes the database's write lock as its transaction begins.

    A limit checked before a write (once a year, a card still pending, a duty not yet done)
    then holds when writers race: the second one waits and sees what the first wrote.
    SQLite: BEGIN IMMEDIATE (reads stay a plain deferred BEGIN). PostgreSQL: one
    transaction-scoped advisory lock, released at commit or rollback.
    """
    writer = conn.get_execution_options().get(WRITER, False)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")
    elif writer and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'")
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")


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
        event.listen(engine, "connect", _sqlite_manual_begin)
    event.listen(engine, "begin", _begin)
    return engine


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration for our bundled migrations, bound to this engine."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (idempotent).

    It runs as a writer: processes starting at once (two bots, kaohe init) migrate one
    after the other, and the later ones find the schema at its head.
    """
    from alembic import command

    command.upgrade(alembic_config(engine.execution_options(**{WRITER: True})), "head")


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
    """A session whose work is committed at the end, or rolled back whole on any error.

    It holds the database's write lock from its first statement (see ``_begin``), so
    writers run one after the other; keep the work inside short.
    """
    with Session(engine, expire_on_commit=False, execution_options={WRITER: True}) as session:
        session.connection()  # begin now: the lock is held before anything is read
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
