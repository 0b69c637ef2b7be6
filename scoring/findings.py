"""The inspector's flow in the core: a finding card, confirmed once, undone in time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from scoring import ledger
from scoring.accounts import Account
from scoring.errors import Conflict, ParseError, PermissionDenied
from scoring.parser import Charge, Finding, RosterPerson, apply_suggestion, parse_finding
from scoring.pending import Card, get_card, open_card, require_pending, resolve_card
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
    return FindingView(
        card_id=card.id,
        text=finding.text,
        item=finding.item.name,
        category=rules.category(finding.item.category).name,
        count=finding.count,
        unit=finding.item.unit,
        fact_date=date.fromisoformat(card.payload["fact_date"]),
        evidence=card.payload.get("evidence", ""),
        recorder=card.payload["recorder"],
        charges=tuple(
            ChargeView(c.person.id, c.person.label, c.points, c.role, i)
            for c, i in zip(finding.charges, ids, strict=True)
        ),
        department=finding.department,
    )


def finding_payload(finding: Finding) -> dict[str, object]:
    """What the card showed, stored with it: the confirmation records exactly this."""
    return {
        "item": finding.item.code,
        "count": finding.count,
        "department": finding.department,
        "charges": [
            [c.person.id, c.person.name, c.person.department, str(c.points), c.role]
            for c in finding.charges
        ],
    }


def stored_finding(rules: Rules, card: Card) -> Finding:
    """The finding a card showed, as it showed it (even if the roster changed since)."""
    shown = card.payload["shown"]
    try:
        item = rules.item(shown["item"])
    except KeyError:
        raise Conflict("扣分项目已在规则文件中变更,请重新发送这条记录") from None
    charges = tuple(
        Charge(RosterPerson(int(pid), name, dept), Decimal(points), role)
        for pid, name, dept, points, role in shown["charges"]
    )
    return Finding(card.payload["text"], item, int(shown["count"]), charges, shown["department"])


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
) -> FindingView:
    """Parse a finding and open its confirmation card (nothing is recorded yet)."""
    ledger.check_year_open(session, fact_date.year)
    finding = _parse(session, rules, text)
    payload = {
        "text": finding.text,
        "fact_date": fact_date.isoformat(),
        "evidence": evidence,
        "recorder": recorder.label,
        "recorder_id": recorder.person_id,
        "shown": finding_payload(finding),
    }
    card = open_card(session, "finding", person_id=recorder.person_id, payload=payload, now=now)
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
) -> Card:
    """A card remembering a failed finding, so a picked suggestion can complete it."""
    payload = {
        "text": text,
        "fact_date": fact_date.isoformat(),
        "evidence": evidence,
        "wrong": error.wrong,
        "about": error.about,
        "options": [s.text for s in error.suggestions],
    }
    return open_card(session, "suggest", person_id=recorder.person_id, payload=payload, now=now)


def pick_suggestion(
    session: Session, rules: Rules, card_id: int, choice: int, *, by: Account, now: datetime
) -> FindingView:
    """Use a suggestion: the corrected finding gets its own confirmation card."""
    card = require_pending(session, card_id, "suggest")
    if card.person_id != by.person_id:
        raise PermissionDenied("只有记录人可以选择")
    options = card.payload["options"]
    if not 0 <= choice < len(options):
        raise Conflict("这个选项已失效,请重新发送")
    text = apply_suggestion(
        card.payload["text"],
        card.payload["wrong"],
        options[choice],
        item=card.payload["about"] == "item",
    )
    resolve_card(session, card_id, to="used", by=by.person_id, now=now)
    return open_finding(
        session,
        rules,
        text,
        recorder=by,
        fact_date=date.fromisoformat(card.payload["fact_date"]),
        evidence=card.payload.get("evidence", ""),
        now=now,
    )


def _own_card(session: Session, card_id: int, by: Account) -> Card:
    card = get_card(session, card_id, "finding")
    if card.person_id != by.person_id:
        raise PermissionDenied("只有记录人本人可以操作这张卡片")
    return card


def confirm_finding(
    session: Session, rules: Rules, card_id: int, *, by: Account, now: datetime
) -> FindingView:
    """Record the card's finding once; a second press finds it already confirmed."""
    card = _own_card(session, card_id, by)
    if card.state != "pending":
        raise Conflict(_state_message(card.state))
    finding = stored_finding(rules, card)
    entries = ledger.record_finding(
        session,
        finding,
        fact_date=date.fromisoformat(card.payload["fact_date"]),
        by=card.payload["recorder"],
        now=now,
        source="bot",
        evidence=card.payload["evidence"],
    )
    ids = [e.id for e in entries if e.id is not None]
    if not resolve_card(
        session, card_id, to="confirmed", by=by.person_id, now=now, result={"entries": ids}
    ):
        raise Conflict("这条记录已经确认过了")
    return _view(rules, card, finding, ids)


def cancel_finding(session: Session, card_id: int, *, by: Account, now: datetime) -> None:
    """Drop a card unrecorded."""
    card = _own_card(session, card_id, by)
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
    ids: list[int] = card.result.get("entries", [])
    for entry_id in ids:
        ledger.revoke_entry(
            session, entry_id, reason="记录人撤回", by=card.payload["recorder"], now=now
        )
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
