"""Backups of a SQLite ledger, and putting one back after checking it.

A backup is taken with SQLite's online backup API: one consistent snapshot even while the
bot writes, including what is still in the write-ahead log (a plain copy of the file loses
that). The copy is a single self-contained file (rollback journal, no ``-wal`` beside it).

A restore checks the file first (``PRAGMA integrity_check``, an Alembic revision this code
knows) and refuses to overwrite a database that is newer (a later revision, or a later last
record) unless forced. It is written into the live database through the same backup API: one
transaction, so other connections see the old ledger or the new one, never a mixture, and
no stale ``-wal`` file of the old database can be replayed onto the new one.

PostgreSQL is backed up with ``pg_dump`` and restored with ``pg_restore`` (see the README).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text
from sqlmodel import col

from scoring.db import MIGRATIONS, make_engine, sqlite_file, upgrade
from scoring.errors import InputError
from scoring.models import Audit, Entry

# the moments that say how far a ledger has come: its newest entry and its newest audit line
NEWEST = (("entry", col(Entry.recorded_at)), ("audit", col(Audit.at)))


@dataclass(frozen=True)
class LedgerState:
    """What a database file holds: its migration revision, its newest record and entry."""

    revision: str | None
    newest: datetime | None
    last_entry: int = 0

    def newer_than(self, other: LedgerState) -> bool:
        """Whether this ledger holds something ``other`` lacks: a later revision, a later
        record, or (recorded in the same second) a later entry."""
        if revision_order(self.revision) > revision_order(other.revision):
            return True
        if self.newest is None or other.newest is None:
            return other.newest is None and self.newest is not None
        return (self.newest, self.last_entry) > (other.newest, other.last_entry)


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite database URL; an InputError for any other database."""
    db = sqlite_file(database_url)
    if db is None:
        raise InputError(
            "PostgreSQL 等数据库请用 pg_dump 备份、pg_restore 恢复(见 README 的“备份与恢复”);"
            "内存数据库无法备份"
        )
    return db


@cache
def _chain() -> tuple[str, ...]:
    """Every migration revision this code has, newest first."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return tuple(r.revision for r in ScriptDirectory.from_config(config).walk_revisions())


def revision_order(revision: str | None) -> int:
    """How far along the migrations a revision is (0: none); -1 for one this code lacks."""
    if revision is None:
        return 0
    chain = _chain()
    return len(chain) - chain.index(revision) if revision in chain else -1


def newest_revision() -> str:
    """The revision ``kaohe init`` upgrades to."""
    return _chain()[0]


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """Write the whole of ``source`` into a new file ``target`` (one snapshot)."""
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode=DELETE")  # one file, readable on its own
    finally:
        dest.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def backup(db: Path, target: Path) -> Path:
    """A consistent copy of the live database ``db`` at ``target`` (written atomically)."""
    if not db.is_file():
        raise InputError(f"数据库文件不存在:{db}")
    if target.resolve() == db.resolve():
        raise InputError("备份文件不能是数据库本身")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    source = _connect(db)
    try:
        _copy(source, partial)
    finally:
        source.close()
    os.replace(partial, target)
    return target


def check(file: Path) -> LedgerState:
    """A backup file's state after checking it: intact, and at a revision this code knows."""
    if not file.is_file():
        raise InputError(f"备份文件不存在:{file}")
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
        try:
            verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{file} 不是可用的 SQLite 数据库:{exc}") from None
    if verdict != ["ok"]:
        raise InputError(f"{file} 已损坏(integrity_check:{'; '.join(verdict[:3])})")
    state = ledger_state(f"sqlite:///{file}")
    if state.revision is None:
        raise InputError(f"{file} 不是考核助手的数据库(没有迁移版本)")
    if revision_order(state.revision) < 0:
        raise InputError(
            f"{file} 的数据库版本 {state.revision} 来自更新的考核助手,请先升级程序再恢复"
        )
    return state


def ledger_state(database_url: str) -> LedgerState:
    """The migration revision and the newest record of a database (empty: nothing)."""
    engine = make_engine(database_url)
    try:
        return _state(engine)
    finally:
        engine.dispose()


def _state(engine: Engine) -> LedgerState:
    tables = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        revision = None
        if "alembic_version" in tables:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        times = [
            conn.execute(select(func.max(column))).scalar()
            for table, column in NEWEST
            if table in tables
        ]
        last = None
        if "entry" in tables:
            last = conn.execute(select(func.max(col(Entry.id)))).scalar()
    found = [_utc(t) for t in times if t is not None]
    return LedgerState(revision, max(found) if found else None, last or 0)


def _utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Restored:
    """What a restore put back, and what it replaced."""

    backup: LedgerState
    replaced: LedgerState | None


def restore(file: Path, db: Path, *, force: bool = False) -> Restored:
    """Put the backup ``file`` in place of the database ``db`` after checking it.

    A database newer than the backup is only overwritten with ``force``. The schema is then
    brought to the newest migration (a backup taken by an older version is upgraded).
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    staged = db.with_name(f".{db.name}.restoring")
    staged.unlink(missing_ok=True)
    try:
        if not file.is_file():
            raise InputError(f"备份文件不存在:{file}")
        try:
            source = _connect(file)
            try:
                _copy(source, staged)  # check exactly what will be restored
            finally:
                source.close()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{file} 不是可用的 SQLite 数据库:{exc}") from None
        incoming = check(staged)
        current = ledger_state(f"sqlite:///{db}") if db.is_file() else None
        if current is not None and current.newer_than(incoming) and not force:
            raise InputError(_newer_message(current, incoming))
        staged_conn, live = _connect(staged), _connect(db)
        try:
            staged_conn.backup(live)  # one transaction on the live database
        finally:
            staged_conn.close()
            live.close()
    finally:
        staged.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return Restored(incoming, current)


def _when(state: LedgerState) -> str:
    return state.newest.isoformat(sep=" ", timespec="seconds") if state.newest else "无记录"


def _newer_message(current: LedgerState, incoming: LedgerState) -> str:
    return (
        f"当前数据库比备份新(当前:版本 {current.revision},最新记录 {_when(current)};"
        f"备份:版本 {incoming.revision},最新记录 {_when(incoming)})。"
        "恢复会丢掉此后的记录;确认要恢复请加 --force"
    )
