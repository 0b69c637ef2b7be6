"""Quarterly notices: what a quarter deducted, vetoed and awarded, and their objection windows.

A notice lists the quarter's live entries by category and department; posting it opens an
objection window, and a period's entries are final once every quarter it touches has been
noticed and its window has closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from scoring import calendar, ledger
from scoring.ledger import EntryView
from scoring.models import Department, Person, PublicNotice, VetoRecord
from scoring.periods import Period
from scoring.rules import Calendar, Rules


def record_notice(session: Session, cal: Calendar, quarter: str, *, now: datetime) -> PublicNotice:
    """A quarter's notice was posted now: its objection window opens."""
    row = session.get(PublicNotice, quarter) or PublicNotice(
        period=quarter, posted_at=now, window_closes=now.date()
    )
    row.posted_at = now
    row.window_closes = calendar.window_closes(now.date(), cal)
    session.add(row)
    session.flush()
    return row


def notice_of(session: Session, quarter: str) -> PublicNotice | None:
    """The posted notice of a quarter (2026Q3), if any."""
    return session.get(PublicNotice, quarter)


def period_final(session: Session, period: Period, today: date) -> bool:
    """Whether every quarter of the period has been noticed and its window has closed."""
    for quarter in calendar.quarters_of(period):
        notice = session.get(PublicNotice, quarter)
        if notice is None or calendar.window_open(notice.window_closes, today):
            return False
    return True


@dataclass(frozen=True)
class NoticeLine:
    """One entry of a notice."""

    entry_id: int
    name: str
    item: str
    count: int
    unit: str
    points: Decimal
    fact_date: date
    role: str


@dataclass
class DepartmentLines:
    """A department's lines of a notice."""

    department: str
    lines: list[NoticeLine] = field(default_factory=list)


@dataclass
class CategoryLines:
    """A category's departments of a notice, with its points in all."""

    code: str
    name: str
    departments: list[DepartmentLines]

    @property
    def total(self) -> Decimal:
        """All points of the category in the quarter."""
        return sum((ln.points for d in self.departments for ln in d.lines), Decimal(0))


@dataclass(frozen=True)
class VetoLine:
    """A one-vote veto recorded in the quarter."""

    name: str
    department: str
    reason: str
    fact_date: date


@dataclass(frozen=True)
class QuarterNotice:
    """What a quarterly notice announces (扣分、处罚、奖励情况)."""

    period: Period
    title: str
    deductions: list[CategoryLines]
    vetoes: list[VetoLine]
    bonuses: list[DepartmentLines]

    @property
    def empty(self) -> bool:
        """Nothing was recorded in the quarter."""
        return not (self.deductions or self.vetoes or self.bonuses)


def _department_order(session: Session) -> dict[str, int]:
    rows = session.exec(select(col(Department.id), col(Department.name))).all()
    return {name: i or 0 for i, name in rows}


def _unit(rules: Rules, entry: EntryView) -> str:
    if entry.kind != "deduction":
        return ""
    try:
        return rules.item(entry.item_code).unit
    except KeyError:  # an item this rules file no longer has
        return ""


def _grouped(
    entries: Sequence[EntryView], rules: Rules, order: dict[str, int]
) -> list[DepartmentLines]:
    groups: dict[str, DepartmentLines] = {}
    for e in entries:
        unit = _unit(rules, e)
        groups.setdefault(e.department, DepartmentLines(e.department)).lines.append(
            NoticeLine(e.id, e.name, e.item_name, e.count, unit, e.points, e.fact_date, e.role)
        )
    return sorted(groups.values(), key=lambda g: (order.get(g.department, 1 << 30), g.department))


def quarter_notice(session: Session, rules: Rules, period: Period) -> QuarterNotice:
    """A quarter's live deductions by category and department, its vetoes, its bonuses."""
    views = [e for e in ledger.entry_views(session, rules, period) if e.revoked_by is None]
    order = _department_order(session)
    deductions = []
    for cat in rules.deducted_categories:
        mine = [e for e in views if e.kind == "deduction" and e.category == cat.code]
        if mine:
            deductions.append(CategoryLines(cat.code, cat.name, _grouped(mine, rules, order)))
    bonuses = _grouped([e for e in views if e.kind == "bonus"], rules, order)
    vetoes = [
        VetoLine(name, dept, v.reason, v.fact_date)
        for v, name, dept in session.exec(
            select(VetoRecord, Person.name, Department.name)
            .join(Person, col(Person.id) == col(VetoRecord.person_id))
            .join(Department, col(Department.id) == col(Person.department_id))
            .where(
                col(VetoRecord.fact_date) >= period.start, col(VetoRecord.fact_date) < period.end
            )
            .order_by(col(VetoRecord.fact_date), col(VetoRecord.id))
        ).all()
    ]
    return QuarterNotice(period, calendar.period_title(period), deductions, vetoes, bonuses)


def own_deductions(
    session: Session, rules: Rules, period: Period, person_id: int
) -> list[EntryView]:
    """A person's live deductions in a period (what they may appeal from a notice)."""
    return [
        e
        for e in ledger.entry_views(session, rules, period, person_id=person_id)
        if e.kind == "deduction" and e.revoked_by is None
    ]
