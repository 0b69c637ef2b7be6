"""Data versions: what a process may keep in memory, and until when.

Two versions live in the database (table ``data_version``): ``ledger``, what standings are
computed from (entries, vetoes, review marks, year locks, and the roster), and ``roster``,
who is who (people, departments, who leads which department) and which years are locked.
Session events give a version a new value in the transaction of every flush that adds,
changes or deletes a row of a table it covers, and of every bulk INSERT/UPDATE/DELETE
through a session on such a table: no write path can forget, and every process sees the
change once the writer commits. (SQL run on a bare connection bypasses the session:
``bench/data.py`` fills a fresh file that way, before anything reads it.)

A new value is random, never a count: a database restored from a backup cannot come back
to a value a process remembers for other data.

``Memo`` keeps one computed value per key for one version and recomputes it on demand after
a change. Within a transaction that has itself written to what a version covers, nothing is
taken from memory or kept there (that transaction may yet roll back).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, bindparam, column, event, insert, select, table, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

LEDGER, ROSTER = "ledger", "roster"
# which versions a write to each table changes
COVERED: dict[str, frozenset[str]] = {
    "entry": frozenset({LEDGER}),
    "veto": frozenset({LEDGER}),
    "review_score": frozenset({LEDGER}),
    "year_lock": frozenset({LEDGER, ROSTER}),
    "person": frozenset({LEDGER, ROSTER}),
    "person_leads": frozenset({LEDGER, ROSTER}),
    "department": frozenset({LEDGER, ROSTER}),
}
_VERSIONS = table("data_version", column("name"), column("value"))
_READ = select(_VERSIONS.c.name, _VERSIONS.c.value)
_WRITE = (
    update(_VERSIONS).where(_VERSIONS.c.name == bindparam("which")).values(value=bindparam("stamp"))
)
_SEEN = "kaohe.versions"  # session.info: the versions read in this transaction
_WRITTEN = "kaohe.written"  # session.info: the versions this transaction changed

T = TypeVar("T")


def versions(session: Session) -> dict[str, int]:
    """Every version as this transaction sees it (read once per transaction)."""
    seen: dict[str, int] | None = session.info.get(_SEEN)
    if seen is None:
        rows = session.connection().execute(_READ)
        seen = {str(name): int(value) for name, value in rows}
        session.info[_SEEN] = seen
    return seen


def written_here(session: Session, name: str) -> bool:
    """Whether this transaction has changed what the version ``name`` covers."""
    if any(_covers(obj, name) for obj in (*session.new, *session.dirty, *session.deleted)):
        return True
    return name in session.info.get(_WRITTEN, ())


def _covers(obj: object, name: str) -> bool:
    table_name = getattr(type(obj), "__tablename__", None)
    return name in COVERED.get(str(table_name), ())


def _bump(session: Session, connection: Connection, names: Iterable[str]) -> None:
    """Give each named version a new value in the session's transaction."""
    names = sorted(set(names))
    if not names:
        return
    session.info.setdefault(_WRITTEN, set()).update(names)
    for name in names:
        stamp = secrets.randbits(62)
        if connection.execute(_WRITE, {"which": name, "stamp": stamp}).rowcount == 0:
            # a schema made without the migrations (create_all) has no row yet
            connection.execute(insert(_VERSIONS), {"name": name, "value": stamp})


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    changed = [
        *session.new,
        *session.deleted,
        *(o for o in session.dirty if session.is_modified(o, include_collections=False)),
    ]
    names = {
        name
        for obj in changed
        for name in COVERED.get(str(getattr(type(obj), "__tablename__", "")), ())
    }
    if names:
        _bump(session, session.connection(), names)


@event.listens_for(Session, "do_orm_execute")
def _on_bulk(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    target = getattr(state.statement, "table", None)
    names = COVERED.get(str(getattr(target, "name", "")), frozenset())
    if names:
        _bump(state.session, state.session.connection(), names)


@event.listens_for(Session, "after_transaction_end")
def _on_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction ended: read afresh next time
        session.info.pop(_SEEN, None)
        session.info.pop(_WRITTEN, None)


class Memo(Generic[T]):
    """The last value computed per key for one version of the data; thread-safe.

    ``get`` answers from memory while the version is unchanged, else computes (in the
    caller's transaction) and remembers. At most ``size`` keys are kept, the least recently
    used going first.
    """

    def __init__(self, version: str, size: int = 8) -> None:
        self.version = version
        self.size = size
        self._values: OrderedDict[Hashable, tuple[int, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, key: Hashable, compute: Callable[[], T]) -> T:
        """The value for ``key`` as of this transaction's version."""
        if written_here(session, self.version):
            return compute()
        version = versions(session).get(self.version, 0)
        with self._lock:  # one computation at a time: a burst waits for the first
            hit = self._values.get(key)
            if hit is not None and hit[0] == version:
                self._values.move_to_end(key)
                return hit[1]
            value = compute()
            self._values[key] = (version, value)
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
            return value

    def clear(self) -> None:
        """Forget everything (the next ``get`` computes)."""
        with self._lock:
            self._values.clear()
