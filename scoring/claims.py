"""Bonus claims in the core: a claim card with evidence, decided once by the claimant's leader.

A claim is a pending card (kind ``claim``). Only the claimant's leader in charge (分管领导) or a
member of the leading group (考核领导小组) may decide it, never the claimant. Approval records
the bonus through ``ledger.add_bonus`` (which de-duplicates by title and is capped in the
standings) in the caller's transaction, together with the card's conditional move (and, by
the use case, the event's key), so a second press or a second approver records nothing.

A bonus counts for the year of the honour or the publication (获奖/刊发日期), not of the
claim: the claimant gives that date, and approval records the bonus on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from scoring import ledger
from scoring.accounts import GROUP, Account, accounts_with_role, leaders_of
from scoring.cards import ClaimCard, Outcome, load_outcome
from scoring.errors import Conflict, InputError, PermissionDenied
from scoring.models import Department, PendingAction, Person
from scoring.parser import normalize
from scoring.pending import Card, cards, get_card, open_card, resolve_card
from scoring.rules import BonusKind, Rules

KIND = ClaimCard.card_kind
EVIDENCE_TYPES = ("photo", "document")
MAX_TITLE = 100
MAX_REASON = 200
# 2026-12-20, 2026/12/20, 2026年12月20日 or 12月20日 (after NFKC: full-width digits read too).
_DATE_FORMS = (
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})"),
    re.compile(r"(?:(?P<y>\d{4}) ?年 ?)?(?P<m>\d{1,2}) ?月 ?(?P<d>\d{1,2}) ?[日号]?"),
)


@dataclass(frozen=True)
class ClaimView:
    """A claim card's content, as the claimant and the approvers read it."""

    card_id: int
    state: str
    claimant_id: int
    claimant: str
    kind: str
    kind_name: str
    level: str
    points: Decimal
    title: str
    evidence: str
    evidence_type: str
    claim_date: date
    fact_date: date
    evidence_file: str = ""
    decided_by: str = ""
    reason: str = ""
    entry_ids: tuple[int, ...] = ()
    copies: tuple[tuple[str, str, str], ...] = ()


def _view(rules: Rules, card: Card) -> ClaimView:
    p, r = card.body(ClaimCard), card.result
    try:
        bonus_kind = rules.bonus_kind(p.kind)
        kind_name, points = bonus_kind.name, bonus_kind.levels.get(p.level, Decimal(0))
    except KeyError:  # the rules file no longer has this kind
        kind_name, points = p.kind, Decimal(0)
    return ClaimView(
        card_id=card.id,
        state=card.state,
        claimant_id=p.claimant_id,
        claimant=p.claimant,
        kind=p.kind,
        kind_name=kind_name,
        level=p.level,
        points=points,
        title=p.title,
        evidence=p.evidence,
        evidence_type=p.evidence_type,
        claim_date=p.claim_date,
        fact_date=p.fact_date,
        evidence_file=p.evidence_file,
        decided_by=r.by,
        reason=r.reason,
        entry_ids=r.entries,
        copies=card.copies,
    )


# ------------------------------------------------------------ checks of the claim's parts
def check_kind(rules: Rules, kind: str) -> BonusKind:
    """The bonus kind claimed (表彰 or 信息稿件)."""
    try:
        return rules.bonus_kind(kind)
    except KeyError:
        names = "、".join(k.name for k in rules.bonus.kinds)
        raise InputError(f"加分类别应为 {names} 之一") from None


def check_level(rules: Rules, kind: str, level: str) -> Decimal:
    """The points of a level of a kind (国家级 10, 省级 8 …)."""
    bonus_kind = check_kind(rules, kind)
    if level not in bonus_kind.levels:
        levels = "、".join(bonus_kind.levels)
        raise InputError(f"{bonus_kind.name}的级别应为 {levels} 之一")
    return bonus_kind.levels[level]


def check_title(title: str) -> str:
    """The claimed honour's or article's name, tidied."""
    return _tidied(
        title, MAX_TITLE, "请发送表彰名称或稿件标题", f"名称太长了,请控制在 {MAX_TITLE} 字以内"
    )


def parse_fact_date(text: str, *, today: date) -> date:
    """The honour's or publication's date as typed, from last year or this year, not ahead.

    Written 2026-12-20, 2026/12/20, 2026年12月20日 or 12月20日; without a year it is the
    most recent such day not after ``today``.
    """
    clean = normalize(text)
    match = next((m for form in _DATE_FORMS if (m := form.fullmatch(clean))), None)
    if match is None:
        raise InputError(f"没看懂日期“{clean}”" if clean else "请发送获奖/刊发日期")
    month, day = int(match["m"]), int(match["d"])
    if match["y"] is not None:
        years = [int(match["y"])]
    else:  # this year's, else the last year that has the day (29 February) and is not ahead
        years = list(range(today.year, today.year - 9, -1))
    for year in years:
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if match["y"] is not None or found <= today:
            return _check_in_reach(found, today=today)
    shown = f"{month}月{day}日" if match["y"] is None else f"{years[0]}年{month}月{day}日"
    raise InputError(f"没有{shown}这一天")


def _check_in_reach(day: date, *, today: date) -> date:
    """A claimed honour or article dates from last year or this year, and not the future."""
    shown = f"{day.year}年{day.month}月{day.day}日"
    if day > today:
        raise InputError(f"{shown}还没到,获奖/刊发日期不能晚于今天")
    if day.year < today.year - 1:
        raise InputError(
            f"{shown}早于去年,只能申报 {today.year - 1} 年和 {today.year} 年的表彰和稿件"
        )
    return day


def check_fact_date(session: Session, day: date, *, today: date) -> date:
    """The honour's or publication's date: in reach (see parse_fact_date), its year not locked."""
    _check_in_reach(day, today=today)
    ledger.check_year_open(session, day.year)
    return day


def check_reason(reason: str) -> str:
    """A decision's or an appeal's reason, tidied."""
    return _tidied(reason, MAX_REASON, "请写明理由", f"理由请控制在 {MAX_REASON} 字以内")


def _tidied(text: str, limit: int, missing: str, too_long: str) -> str:
    """Text normalized; refused with ``missing`` when empty, ``too_long`` past ``limit``."""
    text = normalize(text)
    if not text:
        raise InputError(missing)
    if len(text) > limit:
        raise InputError(too_long)
    return text


# ------------------------------------------------------------ the claimant
def open_claim(
    session: Session,
    rules: Rules,
    *,
    claimant: Account,
    kind: str,
    level: str,
    title: str,
    evidence: str,
    evidence_type: str,
    fact_date: date,
    now: datetime,
    evidence_file: str = "",
) -> ClaimView:
    """Open a claim card with its evidence; nothing counts until it is approved.

    ``fact_date`` is the honour's or publication's date: the bonus counts for its year.
    """
    check_level(rules, kind, level)
    title = check_title(title)
    if not evidence or evidence_type not in EVIDENCE_TYPES:
        raise InputError("加分申报必须附证据:请发送批准文件、证书或通报的照片或文件")
    check_fact_date(session, fact_date, today=now.date())
    body = ClaimCard(
        claimant_id=claimant.person_id,
        claimant=claimant.label,
        kind=kind,
        level=level,
        title=title,
        evidence=evidence,
        evidence_type=evidence_type,
        evidence_file=evidence_file,
        claim_date=now.date(),
        fact_date=fact_date,
    )
    card = open_card(session, body, person_id=claimant.person_id, now=now)
    return _view(rules, card)


def approvers(session: Session, claim: ClaimView) -> list[Account]:
    """Who is asked to decide: the claimant's leaders in charge and the leading group."""
    person = session.get(Person, claim.claimant_id)
    leaders = leaders_of(session, person.department_id) if person is not None else []
    out: dict[int, Account] = {}
    for account in [*leaders, *accounts_with_role(session, GROUP)]:
        if account.person_id != claim.claimant_id:
            out.setdefault(account.person_id, account)
    return list(out.values())


# ------------------------------------------------------------ the approvers
def check_decider(by: Account, claimant_id: int, claimant_department_id: int | None) -> None:
    """Only the claimant's leader in charge or the leading group decide, never the claimant."""
    if by.person_id == claimant_id:
        raise PermissionDenied("不能审批本人的加分申报")
    if by.has(GROUP) or claimant_department_id in by.leads:
        return
    raise PermissionDenied("只有申报人的分管领导或考核领导小组成员可以审批这项申报")


def _may_decide(session: Session, by: Account, card: Card) -> None:
    claimant_id = card.body(ClaimCard).claimant_id
    person = session.get(Person, claimant_id)
    check_decider(by, claimant_id, person.department_id if person is not None else None)


def decided_message(session: Session, card_id: int, what: str) -> str:
    """Who already decided a card, read fresh from the database (another may just have)."""
    state, result = session.exec(
        select(PendingAction.state, PendingAction.result).where(col(PendingAction.id) == card_id)
    ).one()
    by = load_outcome(result).by
    verb = {
        "approved": "批准",
        "rejected": "驳回",
        "upheld": "维持原记录",
        "revoked": "撤销原记录",
    }.get(state, "处理")
    return f"这项{what}已由 {by} {verb}" if by else f"这项{what}已经处理过了"


def _current_label(session: Session, claim: ClaimView) -> str:
    """The claimant as the roster names them now (their department may have changed)."""
    person = session.get(Person, claim.claimant_id)
    dept = session.get(Department, person.department_id) if person is not None else None
    return f"{person.name}({dept.name})" if person is not None and dept else claim.claimant


def _pending_claim(session: Session, card_id: int, by: Account) -> Card:
    card = get_card(session, card_id, KIND)
    _may_decide(session, by, card)
    if card.state != "pending":
        raise Conflict(decided_message(session, card_id, "申报"))
    return card


def claim_to_decide(session: Session, rules: Rules, card_id: int, *, by: Account) -> ClaimView:
    """A pending claim this person may decide (before asking them for a rejection reason)."""
    return _view(rules, _pending_claim(session, card_id, by))


def approve_claim(
    session: Session, rules: Rules, card_id: int, *, by: Account, now: datetime
) -> ClaimView:
    """Record the claimed bonus once; a second press or approver finds it decided."""
    card = _pending_claim(session, card_id, by)
    claim = _view(rules, card)
    entries = ledger.add_bonus(
        session,
        rules,
        target=_current_label(session, claim),
        kind=claim.kind,
        level=claim.level,
        title=claim.title,
        fact_date=claim.fact_date,
        by=by.label,
        now=now,
        source="bot",
        evidence=claim.evidence,
        evidence_file=claim.evidence_file,
    )
    ids = [e.id for e in entries if e.id is not None]
    result = Outcome(by=by.label, entries=tuple(ids))
    if not resolve_card(session, card_id, to="approved", by=by.person_id, now=now, result=result):
        raise Conflict(decided_message(session, card_id, "申报"))
    return replace(claim, state="approved", decided_by=by.label, entry_ids=tuple(ids))


def reject_claim(
    session: Session,
    rules: Rules,
    card_id: int,
    *,
    reason: str,
    by: Account,
    now: datetime,
) -> ClaimView:
    """Turn a claim down with a reason; nothing is recorded."""
    reason = check_reason(reason)
    claim = _view(rules, _pending_claim(session, card_id, by))
    result = Outcome(by=by.label, reason=reason)
    if not resolve_card(session, card_id, to="rejected", by=by.person_id, now=now, result=result):
        raise Conflict(decided_message(session, card_id, "申报"))
    return replace(claim, state="rejected", decided_by=by.label, reason=reason)


def claims_awaiting(session: Session, rules: Rules, *, by: Account) -> list[ClaimView]:
    """Pending claims this person may decide, oldest first."""
    out = []
    for card in cards(session, KIND):
        try:
            _may_decide(session, by, card)
        except PermissionDenied:
            continue
        out.append(_view(rules, card))
    return out
