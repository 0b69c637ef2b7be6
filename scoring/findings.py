"""The inspector's flow in the core: a finding card, confirmed once, undone in time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from scoring import ledger
from scoring.accounts import Account
from scoring.cards import ChargeRow, FindingCard, Outcome, Shown, SuggestCard
from scoring.errors import Conflict, ParseError, PermissionDenied
from scoring.parser import Charge, Finding, RosterPerson, apply_suggestion, parse_finding
from scoring.pending import (
    Card,
    get_card,
    open_card,
    require_pending,
    resolve_card,
    set_outcome,
)
from scoring.roster import DbRoster
from scoring.rules import Rules


@dataclass(frozen=True)
class ChargeView:
    """One person's share of a finding, for cards and notices."""

    person_id: int
    label: str
    points: Decimal
    role: str
    entry_id: int | None = None


@dataclass(frozen=True)
class FindingView:
    """A finding card's content."""

    card_id: int
    text: str
    item: str
    category: str
    count: int
    unit: str
    fact_date: date
    evidence: str
    recorder: str
    charges: tuple[ChargeView, ...]
    department: str | None


def _view(
    rules: Rules, card: Card, finding: Finding, entry_ids: list[int] | None = None
) -> FindingView:
    """The card's content (with the entry ids once recorded)."""
    ids: list[int | None] = list(entry_ids) if entry_ids else [None] * len(finding.charges)
    body = card.body(FindingCard)
    return FindingView(
        card_id=card.id,
        text=finding.text,
        item=finding.item.name,
        category=rules.category(finding.item.category).name,
        count=finding.count,
        unit=finding.item.unit,
        fact_date=body.fact_date,
        evidence=body.evidence,
        recorder=body.recorder,
        charges=tuple(
            ChargeView(c.person.id, c.person.label, c.points, c.role, i)
            for c, i in zip(finding.charges, ids, strict=True)
        ),
        department=finding.department,
    )


def shown_of(finding: Finding) -> Shown:
    """What the card showed, stored with it: the confirmation records exactly this."""
    return Shown(
        item=finding.item.code,
        count=finding.count,
        department=finding.department,
        charges=tuple(
            ChargeRow(c.person.id, c.person.name, c.person.department, c.points, c.role)
            for c in finding.charges
        ),
    )


def stored_finding(rules: Rules, card: Card) -> Finding:
    """The finding a card showed, as it showed it (even if the roster changed since)."""
    body = card.body(FindingCard)
    shown = body.shown
    try:
        item = rules.item(shown.item)
    except KeyError:
        raise Conflict("扣分项目已在规则文件中变更,请重新发送这条记录") from None
    charges = tuple(
        Charge(RosterPerson(c.person_id, c.name, c.department), c.points, c.role)
        for c in shown.charges
    )
    return Finding(body.text, item, shown.count, charges, shown.department)


def _parse(session: Session, rules: Rules, text: str) -> Finding:
    return parse_finding(text, rules=rules, roster=DbRoster(session))


def open_finding(
    session: Session,
    rules: Rules,
    text: str,
    *,
    recorder: Account,
    fact_date: date,
    evidence: str,
    now: datetime,
    evidence_file: str = "",
) -> FindingView:
    """Parse a finding and open its confirmation card (nothing is recorded yet)."""
    ledger.check_year_open(session, fact_date.year)
    finding = _parse(session, rules, text)
    body = FindingCard(
        text=finding.text,
        fact_date=fact_date,
        evidence=evidence,
        evidence_file=evidence_file,
        recorder=recorder.label,
        recorder_id=recorder.person_id,
        shown=shown_of(finding),
    )
    card = open_card(session, body, person_id=recorder.person_id, now=now)
    return _view(rules, card, finding)


def open_suggestions(
    session: Session,
    error: ParseError,
    text: str,
    *,
    recorder: Account,
    fact_date: date,
    evidence: str,
    now: datetime,
    evidence_file: str = "",
) -> Card:
    """A card remembering a failed finding, so a picked suggestion can complete it."""
    body = SuggestCard(
        text=text,
        fact_date=fact_date,
        evidence=evidence,
        evidence_file=evidence_file,
        wrong=error.wrong,
        about=error.about,
        options=tuple(s.text for s in error.suggestions),
    )
    return open_card(session, body, person_id=recorder.person_id, now=now)


def pick_suggestion(
    session: Session, rules: Rules, card_id: int, choice: int, *, by: Account, now: datetime
) -> FindingView:
    """Use a suggestion: the corrected finding gets its own confirmation card."""
    card = require_pending(session, card_id, SuggestCard.card_kind)
    if card.person_id != by.person_id:
        raise PermissionDenied("只有记录人可以选择")
    body = card.body(SuggestCard)
    if not 0 <= choice < len(body.options):
        raise Conflict("这个选项已失效,请重新发送")
    text = apply_suggestion(body.text, body.wrong, body.options[choice], item=body.about == "item")
    resolve_card(session, card_id, to="used", by=by.person_id, now=now)
    return open_finding(
        session,
        rules,
        text,
        recorder=by,
        fact_date=body.fact_date,
        evidence=body.evidence,
        now=now,
        evidence_file=body.evidence_file,
    )


def _own_card(session: Session, card_id: int, by: Account) -> Card:
    card = get_card(session, card_id, FindingCard.card_kind)
    if card.person_id != by.person_id:
        raise PermissionDenied("只有记录人本人可以操作这张卡片")
    return card


def confirm_finding(
    session: Session,
    rules: Rules,
    card_id: int,
    *,
    by: Account,
    now: datetime,
) -> FindingView:
    """Record the card's finding once; a second press finds it already confirmed."""
    card = _own_card(session, card_id, by)
    if card.state != "pending":
        raise Conflict(_state_message(card.state))
    # no messenger here: everyone charged counts as owed a notice (noticed stays False)
    view, _ = _confirm(session, rules, card, by=by, now=now, reachable=set)
    return view


@dataclass(frozen=True)
class Telling:
    """Whom a 确认 tells: ``owed`` a notice now (they can be reached), ``untold`` (charged,
    not told, and with no account to be told through)."""

    owed: tuple[int, ...]
    untold: tuple[int, ...]


def press_confirm(
    session: Session,
    rules: Rules,
    card_id: int,
    *,
    by: Account,
    now: datetime,
    reachable: Callable[[list[int]], set[int]],
) -> tuple[FindingView, Telling]:
    """确认 pressed (the card read once): its finding recorded, or, confirmed before, shown
    as recorded; and whom to tell.

    ``reachable(person ids)`` says which of them have an account to be told through. A card
    pressed again tells whoever was not surely told: everyone it charges if the notices were
    not noted as sent (the bot stopped midway), else those left untold who can now be reached.
    Where nobody can be told, the card notes that at once: nothing is left to note after
    delivery."""
    card = _own_card(session, card_id, by)
    if card.state == "confirmed":
        view = _view(rules, card, stored_finding(rules, card), list(card.result.entries))
        charged = _charged(view)
        waiting = list(card.result.untold) if card.result.noticed else charged
        return view, _telling(waiting, reachable(waiting))
    if card.state != "pending":
        raise Conflict(_state_message(card.state))
    return _confirm(session, rules, card, by=by, now=now, reachable=reachable)


def _charged(view: FindingView) -> list[int]:
    return [c.person_id for c in view.charges if c.entry_id is not None]


def _telling(people: list[int], reached: set[int]) -> Telling:
    return Telling(
        owed=tuple(p for p in people if p in reached),
        untold=tuple(p for p in people if p not in reached),
    )


def _confirm(
    session: Session,
    rules: Rules,
    card: Card,
    *,
    by: Account,
    now: datetime,
    reachable: Callable[[list[int]], set[int]],
) -> tuple[FindingView, Telling]:
    body = card.body(FindingCard)
    finding = stored_finding(rules, card)
    entries = ledger.record_finding(
        session,
        finding,
        fact_date=body.fact_date,
        by=body.recorder,
        now=now,
        source="bot",
        evidence=body.evidence,
        evidence_file=body.evidence_file,
    )
    ids = [e.id for e in entries if e.id is not None]
    view = _view(rules, card, finding, ids)
    charged = _charged(view)
    telling = _telling(charged, reachable(charged))
    done = Outcome(entries=tuple(ids), noticed=not telling.owed, untold=telling.untold)
    if not resolve_card(session, card.id, to="confirmed", by=by.person_id, now=now, result=done):
        raise Conflict("这条记录已经确认过了")
    return view, telling


def mark_noticed(session: Session, card_id: int, untold: Sequence[int] = ()) -> None:
    """Note that the people a confirmed finding charges were told, but for ``untold``."""
    card = get_card(session, card_id, FindingCard.card_kind)
    noted = card.result.model_copy(update={"noticed": True, "untold": tuple(untold)})
    set_outcome(session, card_id, noted)


def cancel_finding(session: Session, card_id: int, *, by: Account, now: datetime) -> None:
    """Drop a card unrecorded (pressed again once dropped, it stays so)."""
    card = _own_card(session, card_id, by)
    if card.state == "cancelled":
        return
    if not resolve_card(session, card.id, to="cancelled", by=by.person_id, now=now):
        raise Conflict(_state_message(get_card(session, card_id).state))


def undo_finding(
    session: Session, rules: Rules, card_id: int, *, by: Account, now: datetime
) -> FindingView:
    """The recorder takes a confirmed finding back within the undo window."""
    card = _own_card(session, card_id, by)
    if card.state != "confirmed" or card.resolved_at is None:
        raise Conflict(_state_message(card.state))
    confirmed_at = card.resolved_at
    if confirmed_at.tzinfo is None:
        confirmed_at = confirmed_at.replace(tzinfo=now.tzinfo)
    minutes = rules.bot.undo_minutes
    if now - confirmed_at > timedelta(minutes=minutes):
        raise Conflict(f"已超过 {minutes} 分钟,不能撤回;如有错误请向考核领导小组申请撤销")
    ids = list(card.result.entries)
    recorder = card.body(FindingCard).recorder
    for entry_id in ids:
        ledger.revoke_entry(session, entry_id, reason="记录人撤回", by=recorder, now=now)
    resolve_card(
        session,
        card_id,
        to="undone",
        by=by.person_id,
        now=now,
        result=card.result,
        from_state="confirmed",
    )
    return _view(rules, card, stored_finding(rules, card), ids)


def _state_message(state: str) -> str:
    return {
        "confirmed": "这条记录已经确认过了",
        "cancelled": "这条记录已取消",
        "undone": "这条记录已撤回",
    }.get(state, "这张卡片已经处理过了")
