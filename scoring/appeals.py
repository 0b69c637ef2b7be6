"""Appeals in the core: the person charged appeals an entry; the leading group decides once.

An appeal is a pending card (kind ``appeal``), one open appeal per entry. Only the person
the entry charges may appeal it; only the leading group (考核领导小组) decides, never the
appellant. Revoking goes through ``ledger.revoke_entry`` in the caller's transaction,
together with the card's conditional move (and, by the use case, the event's key).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from scoring import ledger
from scoring.accounts import GROUP, Account, account_of_person, accounts_with_role
from scoring.cards import AppealCard, AppealedRow, Outcome
from scoring.claims import check_reason, decided_message
from scoring.errors import Conflict, KaoheError, NotFound, PermissionDenied
from scoring.models import Entry
from scoring.parser import normalize, resolve_person
from scoring.pending import Card, cards, get_card, open_card, resolve_card
from scoring.points import from_cp
from scoring.roster import DbRoster
from scoring.rules import Rules

KIND = AppealCard.card_kind


@dataclass(frozen=True)
class AppealedEntry:
    """The deduction appealed, as people read it."""

    entry_id: int
    item: str
    category: str
    count: int
    points: Decimal
    fact_date: date
    recorded_by: str


@dataclass(frozen=True)
class AppealView:
    """An appeal card's content."""

    card_id: int
    state: str
    appellant_id: int
    appellant: str
    reason: str
    entry: AppealedEntry
    decided_by: str = ""
    copies: tuple[tuple[str, str, str], ...] = ()

    @property
    def revoked(self) -> bool:
        """Whether the leading group revoked the entry."""
        return self.state == "revoked"


def _entry(rules: Rules, entry: Entry) -> AppealedEntry:
    assert entry.id is not None
    try:
        category = rules.category(entry.category).name
    except KeyError:
        category = entry.category
    return AppealedEntry(
        entry_id=entry.id,
        item=rules.item_name(entry.item_code),
        category=category,
        count=entry.count,
        points=from_cp(entry.points_cp),
        fact_date=entry.fact_date,
        recorded_by=entry.recorded_by,
    )


def _view(card: Card) -> AppealView:
    p = card.body(AppealCard)
    return AppealView(
        card_id=card.id,
        state=card.state,
        appellant_id=p.appellant_id,
        appellant=p.appellant,
        reason=p.reason,
        entry=AppealedEntry(**p.entry.model_dump()),
        decided_by=card.result.by,
        copies=card.copies,
    )


def _open_appeal_on(session: Session, entry_id: int) -> Card | None:
    return next((c for c in cards(session, KIND) if c.body(AppealCard).entry_id == entry_id), None)


# ------------------------------------------------------------ the appellant
def appealable_entry(
    session: Session, rules: Rules, entry_id: int, *, by: Account
) -> AppealedEntry:
    """The deduction this person may appeal: their own, unrevoked, with no open appeal."""
    entry = session.get(Entry, entry_id)
    if entry is None or entry.kind != "deduction":
        raise NotFound(f"没有编号为 {entry_id} 的扣分记录")
    if entry.person_id != by.person_id:
        raise PermissionDenied("只有被扣分的本人可以对这条记录申诉")
    ledger.check_year_open(session, entry.fact_date.year)
    revoked = session.exec(select(Entry.id).where(col(Entry.revokes_id) == entry_id)).first()
    if revoked is not None:
        raise Conflict(f"记录 #{entry_id} 已撤销,无需申诉")
    if _open_appeal_on(session, entry_id) is not None:
        raise Conflict(f"记录 #{entry_id} 的申诉正在处理中,请等待考核领导小组决定")
    return _entry(rules, entry)


def open_appeal(
    session: Session,
    rules: Rules,
    entry_id: int,
    *,
    reason: str,
    by: Account,
    now: datetime,
) -> AppealView:
    """Open an appeal card for the leading group; the entry counts until they revoke it."""
    reason = check_reason(reason)
    entry = appealable_entry(session, rules, entry_id, by=by)
    body = AppealCard(
        entry_id=entry_id,
        appellant_id=by.person_id,
        appellant=by.label,
        reason=reason,
        entry=AppealedRow(**asdict(entry)),
    )
    card = open_card(session, body, person_id=by.person_id, now=now)
    return _view(card)


def deciders(session: Session, appeal: AppealView) -> list[Account]:
    """The bound leading-group members who decide an appeal (never the appellant)."""
    return [a for a in accounts_with_role(session, GROUP) if a.person_id != appeal.appellant_id]


# ------------------------------------------------------------ the leading group
def decide_appeal(
    session: Session,
    rules: Rules,
    card_id: int,
    *,
    revoke: bool,
    by: Account,
    now: datetime,
) -> AppealView:
    """Uphold the entry, or revoke it (申诉成立); a second press finds the appeal decided."""
    card = get_card(session, card_id, KIND)
    if not by.has(GROUP):
        raise PermissionDenied("只有考核领导小组成员可以裁决申诉")
    if by.person_id == card.person_id:
        raise PermissionDenied("不能裁决本人的申诉")
    if card.state != "pending":
        raise Conflict(decided_message(session, card_id, "申诉"))
    appeal = _view(card)
    if revoke:
        ledger.revoke_entry(
            session,
            appeal.entry.entry_id,
            reason=f"申诉成立:{appeal.reason}",
            by=by.label,
            now=now,
        )
    state = "revoked" if revoke else "upheld"
    moved = resolve_card(
        session, card_id, to=state, by=by.person_id, now=now, result=Outcome(by=by.label)
    )
    if not moved:
        raise Conflict(decided_message(session, card_id, "申诉"))
    return replace(appeal, state=state, decided_by=by.label)


def recorder_of(session: Session, appeal: AppealView) -> Account | None:
    """The bound person who recorded the appealed entry ("李督查(办公室)"), if any."""
    try:
        person = resolve_person(normalize(appeal.entry.recorded_by), DbRoster(session))
    except KaoheError:
        return None
    return account_of_person(session, person.id)
