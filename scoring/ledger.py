"""Ledger operations inside a caller's session: record, revoke, bonus, veto, reviews.

Entries are only ever added. Every function here checks everything before it adds
anything, so an error leaves the session as it found it; the caller commits.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from sqlalchemy import bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from scoring.directory import directory
from scoring.errors import Conflict, InputError, NotFound, PermissionDenied
from scoring.models import Audit, Department, Entry, Person, VetoRecord
from scoring.parser import Finding, RosterPerson, normalize, resolve_person
from scoring.periods import Period
from scoring.points import from_cp, to_cp
from scoring.roster import LEADER_ROLE, DbRoster
from scoring.rules import Rules


@dataclass(frozen=True)
class EntryView:
    """An entry as people read it."""

    id: int
    kind: str
    person_id: int | None
    name: str
    department: str
    category: str
    item_code: str
    item_name: str
    count: int
    points: Decimal
    fact_date: date
    role: str
    batch: str
    recorded_by: str
    recorded_at: datetime
    source: str
    evidence: str
    note: str
    evidence_file: str = ""
    revoked_by: int | None = None
    revoke_reason: str = ""


def audit(session: Session, *, now: datetime, actor: str, action: str, **detail: object) -> None:
    """Add one line to the audit trail."""
    session.add(
        Audit(
            at=now,
            actor=actor,
            action=action,
            detail=json.dumps(detail, ensure_ascii=False, default=str),
        )
    )


def check_year_open(session: Session, year: int) -> None:
    """Refuse anything dated in a year the leading group has finalized."""
    if year in directory(session).locked_years:
        raise Conflict(f"{year}年度考核已定案锁定,不能再记录或更改该年度的分数")


def _add_entry(session: Session, **fields: object) -> Entry:
    entry = Entry(**fields)  # type: ignore[arg-type]
    session.add(entry)
    return entry


def record_finding(
    session: Session,
    finding: Finding,
    *,
    fact_date: date,
    by: str,
    now: datetime,
    source: str = "cli",
    evidence: str = "",
    note: str = "",
    evidence_file: str = "",
) -> list[Entry]:
    """Store a parsed finding: one deduction entry per person who bears it."""
    check_year_open(session, fact_date.year)
    _check_yearly_limit(session, finding, fact_date.year)
    batch = uuid.uuid4().hex
    entries = [
        _add_entry(
            session,
            kind="deduction",
            person_id=charge.person.id,
            category=finding.item.category,
            item_code=finding.item.code,
            count=finding.count,
            points_cp=to_cp(charge.points),
            fact_date=fact_date,
            recorded_by=by,
            recorded_at=now,
            source=source,
            finding=finding.text,
            batch=batch,
            role=charge.role,
            evidence=evidence,
            evidence_file=evidence_file,
            note=note,
        )
        for charge in finding.charges
    ]
    session.flush()
    audit(
        session,
        now=now,
        actor=by,
        action="record",
        batch=batch,
        finding=finding.text,
        entries=[e.id for e in entries],
    )
    return entries


def _check_yearly_limit(session: Session, finding: Finding, year: int) -> None:
    """An item the plan deducts at most N times a year (笔记不足一万字 once, 心得 two)."""
    limit = finding.item.max_per_year
    if limit is None:
        return
    revoked = select(Entry.revokes_id).where(col(Entry.revokes_id).is_not(None))
    for charge in finding.charges:
        already = session.exec(
            select(func.coalesce(func.sum(Entry.count), 0)).where(
                Entry.kind == "deduction",
                Entry.person_id == charge.person.id,
                Entry.item_code == finding.item.code,
                col(Entry.fact_date) >= date(year, 1, 1),
                col(Entry.fact_date) < date(year + 1, 1, 1),
                col(Entry.id).not_in(revoked),
            )
        ).one()
        if int(already) + finding.count > limit:
            raise Conflict(
                f"“{finding.item.name}”每年最多扣 {limit} {finding.item.unit},"
                f"{charge.person.label} {year}年已扣 {already} {finding.item.unit}"
            )


def revoke_entry(
    session: Session,
    entry_id: int,
    *,
    reason: str,
    by: str,
    now: datetime,
    actor_person_id: int | None = None,
) -> Entry:
    """Undo an entry by adding a revoking entry with the reason; the original stays.

    ``actor_person_id`` is who revokes, when known: no one revokes an entry of their own
    (that is what an appeal decided by others is for).
    """
    reason = reason.strip()
    if not reason:
        raise InputError("撤销必须写明原因")
    # an id no database integer can hold (a typo) is simply not there
    entry = session.get(Entry, entry_id) if 0 < entry_id < 2**63 else None
    if entry is None or entry.kind == "revocation":
        raise NotFound(f"没有编号为 {entry_id} 的扣分或加分记录")
    if actor_person_id is not None and entry.person_id == actor_person_id:
        raise PermissionDenied("不能撤销本人的记录;如有异议,请通过“申诉”由考核领导小组决定")
    check_year_open(session, entry.fact_date.year)
    already = session.exec(select(Entry).where(Entry.revokes_id == entry_id)).first()
    if already is not None:
        raise Conflict(
            f"记录 {entry_id} 已于 {already.recorded_at:%Y-%m-%d} 被撤销:{already.reason}"
        )
    revocation = _add_entry(
        session,
        kind="revocation",
        person_id=entry.person_id,
        category=entry.category,
        item_code=entry.item_code,
        count=entry.count,
        points_cp=0,
        fact_date=entry.fact_date,
        recorded_by=by,
        recorded_at=now,
        source="revoke",
        revokes_id=entry_id,
        reason=reason,
        batch=entry.batch,
    )
    session.flush()
    audit(session, now=now, actor=by, action="revoke", entry=entry_id, reason=reason)
    return revocation


def add_bonus(
    session: Session,
    rules: Rules,
    *,
    target: str,
    kind: str,
    level: str,
    title: str,
    fact_date: date,
    by: str,
    now: datetime,
    source: str = "cli",
    evidence: str = "",
    evidence_file: str = "",
) -> list[Entry]:
    """An approved bonus: to a person, or to every member of a department for its honour."""
    try:
        bonus_kind = rules.bonus_kind(kind)
    except KeyError:
        names = "、".join(f"{k.code}({k.name})" for k in rules.bonus.kinds)
        raise InputError(f"加分类别“{kind}”不对,应为 {names}") from None
    if level not in bonus_kind.levels:
        raise InputError(
            f"{bonus_kind.name}的级别应为 {'、'.join(bonus_kind.levels)},收到“{level}”"
        )
    title = normalize(title)
    if not title:
        raise InputError("请写明加分事项的名称(表彰名称或稿件标题)")
    check_year_open(session, fact_date.year)
    roster = DbRoster(session)
    target = normalize(target)
    dept = roster.department_named(target) if not roster.people_named(target) else None
    if dept is not None:
        if not bonus_kind.department_wide:
            raise InputError(f"{bonus_kind.name}只能加给个人,请写姓名")
        people = [p for p, role in roster.department_bearers(dept) if role != LEADER_ROLE]
        if not people:
            raise InputError(f"{dept}没有在岗人员")
        role = f"{dept}集体荣誉"
    else:
        people = [resolve_person(target, roster)]
        role = "本人"
    points = bonus_kind.levels[level]
    batch = uuid.uuid4().hex
    entries = [
        _add_entry(
            session,
            kind="bonus",
            person_id=p.id,
            category="bonus",
            item_code=bonus_kind.code,
            points_cp=to_cp(points),
            fact_date=fact_date,
            recorded_by=by,
            recorded_at=now,
            source=source,
            finding=title,
            batch=batch,
            role=role,
            evidence=evidence,
            evidence_file=evidence_file,
            bonus_kind=bonus_kind.code,
            bonus_level=level,
            bonus_key=f"{bonus_kind.code}:{title}",
        )
        for p in people
    ]
    session.flush()
    audit(
        session,
        now=now,
        actor=by,
        action="bonus",
        batch=batch,
        title=title,
        level=level,
        entries=[e.id for e in entries],
    )
    return entries


def add_veto(
    session: Session,
    *,
    person: RosterPerson,
    reason: str,
    fact_date: date,
    by: str,
    now: datetime,
) -> VetoRecord:
    """Record a one-vote veto for the person's year, with its reason."""
    reason = reason.strip()
    if not reason:
        raise InputError("一票否决必须写明原因")
    check_year_open(session, fact_date.year)
    veto = VetoRecord(
        person_id=person.id,
        year=fact_date.year,
        fact_date=fact_date,
        reason=reason,
        recorded_by=by,
        recorded_at=now,
    )
    session.add(veto)
    session.flush()
    audit(session, now=now, actor=by, action="veto", person=person.id, reason=reason)
    return veto


def revoke_veto(
    session: Session,
    veto_id: int,
    *,
    reason: str,
    by: str,
    now: datetime,
    actor_person_id: int | None = None,
) -> VetoRecord:
    """Take a veto back with a reason: a revoking row points at it; nothing is deleted."""
    reason = reason.strip()
    if not reason:
        raise InputError("撤销一票否决必须写明原因")
    veto = session.get(VetoRecord, veto_id) if 0 < veto_id < 2**63 else None
    if veto is None or veto.revokes_id is not None:
        raise NotFound(f"没有编号为 {veto_id} 的一票否决记录")
    if actor_person_id is not None and veto.person_id == actor_person_id:
        raise PermissionDenied("不能撤销针对本人的一票否决")
    check_year_open(session, veto.year)
    if session.exec(select(VetoRecord).where(VetoRecord.revokes_id == veto_id)).first():
        raise Conflict(f"一票否决 {veto_id} 已经撤销过了")
    revocation = VetoRecord(
        person_id=veto.person_id, year=veto.year, fact_date=veto.fact_date, reason=reason,
        recorded_by=by, recorded_at=now, revokes_id=veto_id,
    )  # fmt: skip
    session.add(revocation)
    session.flush()
    audit(session, now=now, actor=by, action="revoke_veto", veto=veto_id, reason=reason)
    return revocation


def _entry_view(
    rules: Rules, e: Entry, name: str, dept: str, rev: tuple[int, str] | None
) -> EntryView:
    assert e.id is not None
    if e.kind == "bonus":
        item_name = f"{rules.bonus_kind(e.bonus_kind).name}({e.bonus_level}):{e.finding}"
    else:
        item_name = rules.item_name(e.item_code)
    return EntryView(
        id=e.id,
        kind=e.kind,
        person_id=e.person_id,
        name=name,
        department=dept,
        category=e.category,
        item_code=e.item_code,
        item_name=item_name,
        count=e.count,
        points=from_cp(e.points_cp),
        fact_date=e.fact_date,
        role=e.role,
        batch=e.batch,
        recorded_by=e.recorded_by,
        recorded_at=e.recorded_at,
        source=e.source,
        evidence=e.evidence,
        note=e.note,
        evidence_file=e.evidence_file,
        revoked_by=rev[0] if rev else None,
        revoke_reason=rev[1] if rev else "",
    )


def entry_views(
    session: Session, rules: Rules, period: Period, *, person_id: int | None = None
) -> list[EntryView]:
    """Deductions and bonuses with fact dates in the period, revoked ones marked."""
    revocation = select(Entry.revokes_id, Entry.id, Entry.reason).where(
        col(Entry.revokes_id).is_not(None)
    )
    revoked = {rid: (int(rev_id or 0), reason) for rid, rev_id, reason in session.exec(revocation)}
    query = (
        select(Entry, Person.name, Department.name)
        .join(Person, col(Person.id) == col(Entry.person_id))
        .join(Department, col(Department.id) == col(Person.department_id))
        .where(
            col(Entry.kind).in_(["deduction", "bonus"]),
            col(Entry.fact_date) >= period.start,
            col(Entry.fact_date) < period.end,
        )
        .order_by(col(Entry.fact_date), col(Entry.id))
    )
    if person_id is not None:
        query = query.where(Entry.person_id == person_id)
    return [
        _entry_view(rules, e, name, dept, revoked.get(e.id or 0))
        for e, name, dept in session.exec(query).all()
    ]


def person_entry_count(session: Session, period: Period, person_id: int) -> int:
    """How many deductions and bonuses (revoked ones included) a person has in the period."""
    count, _ = _person_queries()
    return int(session.exec(count, params=_person_params(period, person_id)).one())


def person_entries(
    session: Session, rules: Rules, period: Period, person_id: int, *, offset: int, limit: int
) -> list[EntryView]:
    """A slice of one person's entries in the period (as ``entry_views`` orders and marks
    them), read through the person's index and the revocations' index only."""
    _, page = _person_queries()
    params = {**_person_params(period, person_id), "offset": offset, "limit": limit}
    return [
        _entry_view(rules, e, name, dept, None if rev_id is None else (int(rev_id), reason))
        for e, name, dept, rev_id, reason in session.exec(page, params=params).all()
    ]


def _person_params(period: Period, person_id: int) -> dict[str, object]:
    return {"person_id": person_id, "start": period.start, "end": period.end}


@cache
def _person_queries():  # type: ignore[no-untyped-def]
    """(count, page) of a person's entries in a period, built once: /score asks them often."""
    mine = (
        col(Entry.person_id) == bindparam("person_id"),
        col(Entry.kind).in_(["deduction", "bonus"]),
        col(Entry.fact_date) >= bindparam("start"),
        col(Entry.fact_date) < bindparam("end"),
    )
    count = select(func.count()).select_from(Entry).where(*mine)
    # the page's ids from the person's index alone; then only those rows are read and joined
    ids = (
        select(Entry.id)
        .where(*mine)
        .order_by(col(Entry.fact_date), col(Entry.id))
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )
    revocation = aliased(Entry)
    page = (
        select(Entry, Person.name, Department.name, revocation.id, revocation.reason)
        .join(Person, col(Person.id) == col(Entry.person_id))
        .join(Department, col(Department.id) == col(Person.department_id))
        .outerjoin(revocation, col(revocation.revokes_id) == col(Entry.id))
        .where(col(Entry.id).in_(ids.scalar_subquery()))
        .order_by(col(Entry.fact_date), col(Entry.id))
    )
    return count, page


def entry_count(session: Session) -> int:
    """How many ledger lines there are (for tests that check nothing was written)."""
    return int(session.exec(select(func.count()).select_from(Entry)).one())
