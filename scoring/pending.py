"""Cards awaiting a button (a finding to confirm, a claim, an appeal, a proposal).

A card moves from ``pending`` to one final state exactly once: the move is a conditional
UPDATE, so a second press (or a redelivered update) finds nothing to move.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, update
from sqlmodel import Session, col, select

from scoring.errors import Conflict, NotFound
from scoring.models import PendingAction, ProcessedEvent


@dataclass(frozen=True)
class Card:
    """A pending action as plain data."""

    id: int
    kind: str
    state: str
    person_id: int | None
    chat_id: int | None
    message_id: int | None
    payload: dict[str, Any]
    result: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None

    @property
    def copies(self) -> tuple[tuple[str, str, str], ...]:
        """The (messenger, chat, message) of each copy of the card sent out (``add_copies``).

        Cards stored before there was more than one messenger hold Telegram (chat, message)."""
        return tuple(
            (str(c[0]), str(c[1]), str(c[2])) if len(c) == 3 else ("tg", str(c[0]), str(c[1]))
            for c in self.payload.get("copies", ())
        )


def _card(row: PendingAction) -> Card:
    assert row.id is not None
    return Card(
        id=row.id,
        kind=row.kind,
        state=row.state,
        person_id=row.person_id,
        chat_id=row.chat_id,
        message_id=row.message_id,
        payload=json.loads(row.payload or "{}"),
        result=json.loads(row.result or "{}"),
        created_at=row.created_at,
        resolved_at=row.resolved_at,
    )


def open_card(
    session: Session, kind: str, *, person_id: int | None, payload: dict[str, Any], now: datetime
) -> Card:
    """Create a pending card."""
    row = PendingAction(
        kind=kind,
        person_id=person_id,
        payload=json.dumps(payload, ensure_ascii=False),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _card(row)


def get_card(session: Session, card_id: int, kind: str | None = None) -> Card:
    """A card by id (of the kind expected)."""
    row = session.get(PendingAction, card_id)
    if row is None or (kind is not None and row.kind != kind):
        raise NotFound("这张卡片已失效")
    return _card(row)


def resolve_card(
    session: Session,
    card_id: int,
    *,
    to: str,
    by: int | None,
    now: datetime,
    result: dict[str, Any] | None = None,
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
            result=json.dumps(result or {}, ensure_ascii=False),
        )
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def add_copies(session: Session, card_id: int, copies: list[tuple[str, str, str]]) -> None:
    """Remember the (messenger, chat, message) of each copy of a card sent out, to edit them
    later."""
    row = session.get(PendingAction, card_id)
    if row is None or not copies:
        return
    payload: dict[str, Any] = json.loads(row.payload or "{}")
    known = [
        c if len(c) == 3 else ("tg", str(c[0]), str(c[1]))
        for c in map(tuple, payload.get("copies", []))
    ]
    payload["copies"] = [list(c) for c in dict.fromkeys([*known, *copies])]
    row.payload = json.dumps(payload, ensure_ascii=False)
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

    False if it was already stored (the event was processed before)."""
    if event_seen(session, key):
        return False
    session.add(ProcessedEvent(key=key, processed_at=now))
    return True
