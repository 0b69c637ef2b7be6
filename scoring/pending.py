"""Cards awaiting a button (a finding to confirm, a claim, an appeal, a proposal).

A card moves from ``pending`` to one final state exactly once: the move is a conditional
UPDATE, so a second press (or a redelivered update) finds nothing to move. What a card holds
is a typed model of its kind (``scoring.cards``), stored and read there only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TypeVar

from sqlalchemy import Executable, exists, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from scoring.cards import (
    CardBody,
    Copy,
    Outcome,
    dump_outcome,
    dump_payload,
    load_outcome,
    load_payload,
    merged_copies,
)
from scoring.errors import Conflict, NotFound
from scoring.models import PendingAction, ProcessedEvent

Body = TypeVar("Body", bound=CardBody)
GONE = "这张卡片已失效"


@dataclass(frozen=True)
class Card:
    """A pending action as plain data: ``payload`` is the model of its kind."""

    id: int
    kind: str
    state: str
    person_id: int | None
    chat_id: int | None
    message_id: int | None
    payload: CardBody
    result: Outcome
    created_at: datetime
    resolved_at: datetime | None

    @property
    def copies(self) -> tuple[Copy, ...]:
        """The (messenger, chat, message) of each copy of the card sent out (``add_copies``)."""
        return self.payload.copies

    def body(self, model: type[Body]) -> Body:
        """The payload as the model expected (a card of another kind is refused as gone)."""
        if not isinstance(self.payload, model):
            raise NotFound(GONE)
        return self.payload


def _card(row: PendingAction) -> Card:
    assert row.id is not None
    return Card(
        id=row.id,
        kind=row.kind,
        state=row.state,
        person_id=row.person_id,
        chat_id=row.chat_id,
        message_id=row.message_id,
        payload=load_payload(row.kind, row.payload),
        result=load_outcome(row.result),
        created_at=row.created_at,
        resolved_at=row.resolved_at,
    )


def open_card(session: Session, body: CardBody, *, person_id: int | None, now: datetime) -> Card:
    """Create a pending card of the body's kind."""
    row = PendingAction(
        kind=body.card_kind, person_id=person_id, payload=dump_payload(body), created_at=now
    )
    session.add(row)
    session.flush()
    return _card(row)


def get_card(session: Session, card_id: int, kind: str | None = None) -> Card:
    """A card by id (of the kind expected)."""
    row = session.get(PendingAction, card_id)
    if row is None or (kind is not None and row.kind != kind):
        raise NotFound(GONE)
    return _card(row)


def resolve_card(
    session: Session,
    card_id: int,
    *,
    to: str,
    by: int | None,
    now: datetime,
    result: Outcome | None = None,
    from_state: str = "pending",
) -> bool:
    """Move a card from ``from_state`` to ``to``; False if someone else already moved it."""
    moved = session.execute(
        update(PendingAction)
        .where(col(PendingAction.id) == card_id, col(PendingAction.state) == from_state)
        .values(
            state=to,
            resolved_at=now,
            resolved_by=by,
            result=dump_outcome(result or Outcome()),
        )
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def add_copies(session: Session, card_id: int, copies: Iterable[Sequence[str | int]]) -> None:
    """Remember where each copy of a card was sent, to edit them later: (messenger, chat,
    message) triples, or Telegram (chat, message) pairs. Each copy is kept once."""
    row = session.get(PendingAction, card_id)
    copies = list(copies)
    if row is None or not copies:
        return
    body = load_payload(row.kind, row.payload)
    row.payload = dump_payload(
        body.model_copy(update={"copies": merged_copies(body.copies, copies)})
    )
    session.add(row)


def require_pending(session: Session, card_id: int, kind: str) -> Card:
    """The card, which must still be pending."""
    card = get_card(session, card_id, kind)
    if card.state != "pending":
        raise Conflict("这张卡片已经处理过了")
    return card


def cards(session: Session, kind: str, *, state: str = "pending") -> list[Card]:
    """Cards of a kind in a state, oldest first."""
    rows = session.exec(
        select(PendingAction)
        .where(PendingAction.kind == kind, PendingAction.state == state)
        .order_by(col(PendingAction.id))
    ).all()
    return [_card(r) for r in rows]


def event_seen(session: Session, key: str) -> bool:
    """Whether this incoming event ("tg:<update_id>", "dt:<msgId>") was already processed."""
    return bool(session.exec(select(exists().where(col(ProcessedEvent.key) == key))).one())


def mark_event(session: Session, key: str, *, now: datetime) -> bool:
    """Store the event's key in the caller's transaction: what it records commits with it.

    False if it was already stored (the event was processed before). One statement where
    the database can skip a duplicate key itself (SQLite, PostgreSQL): it is the
    transaction's first, so the event's work holds the database's write lock from its start
    and reads one consistent state."""
    connection = session.connection()
    skip_duplicate = _skip_duplicate(connection.dialect.name)
    if skip_duplicate is not None:
        added = connection.execute(skip_duplicate, {"key": key, "processed_at": now})
        return bool(added.rowcount)
    if event_seen(session, key):
        return False
    session.add(ProcessedEvent(key=key, processed_at=now))
    return True


@cache
def _skip_duplicate(dialect: str) -> Executable | None:
    """INSERT … ON CONFLICT DO NOTHING of an event's key, built once per database kind (its
    row count kept: 0 when the key was there)."""
    table = ProcessedEvent.metadata.tables[ProcessedEvent.__tablename__]
    stmt: Executable
    if dialect == "sqlite":
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "postgresql":
        stmt = postgresql_insert(table).on_conflict_do_nothing(index_elements=["key"])
    else:
        return None
    return stmt.execution_options(preserve_rowcount=True)
