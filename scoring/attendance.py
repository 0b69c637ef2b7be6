"""Attendance exports as proposal cards: 迟到, 早退, 旷工 from the bureau's attendance system.

A monthly export (钉钉 考勤 月度汇总, 企业微信 打卡月报; .xlsx or .csv) is read as the rules
file's ``[attendance]`` section says: the header row is the first with a name header (title
rows and merged cells above it are skipped, and a two-level header's second row is read
too), each mapped column is a count of a deduction item, and a blank cell counts 0. People
are matched by name, and by department where the export has a department column.

Importing records nothing: it opens a card per person and item (kind ``attendance``) with
the month, the file's name and its SHA-256, for the office to confirm or dismiss. A card is
keyed by month, person and item, so importing the same file again (or another export of the
same month) opens none; a count that differs from the card already opened is reported. A
confirmed card is recorded through the ledger (source ``attendance``, the SHA-256 as its
evidence), dated the month's last day (or the day of confirming, within the month).

Every function takes the caller's session and ``now``; nothing here reads the clock.
"""

from __future__ import annotations

import calendar as monthdays
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func
from sqlmodel import Session, col, select

from scoring import ledger
from scoring.cards import AttendanceCard, Outcome
from scoring.errors import Conflict, InputError
from scoring.models import Department, Entry, Person
from scoring.parser import Charge, Finding, RosterPerson, normalize
from scoring.pending import Card, cards, get_card, open_card, resolve_card
from scoring.periods import Period
from scoring.rules import Attendance, Rules
from scoring.standings import live_entries
from scoring.tables import read_grid

ATTENDANCE = "attendance"  # the cards' kind and the entries' source
STATES = ("pending", "confirmed", "dismissed")
# how far down a title and a two-level header may push the header row
_HEADER_SEARCH_ROWS = 30
_MONTH = re.compile(r"(20\d\d)\s*[-/.年]\s*(\d{1,2})(?!\d)")
_BLANK = ("", "-", "--", "—", "/")
# a title's date that says when the report was made, not which month it covers
_MADE_AT = ("生成", "导出", "打印")


@dataclass(frozen=True)
class AttendanceProposal:
    """A deduction an attendance export implies, for the office to confirm or dismiss."""

    month: str  # 2026-03
    person_id: int
    name: str
    department: str
    item_code: str
    item_name: str
    unit: str
    count: int
    points: Decimal
    file_name: str
    sha256: str
    line: int  # the export's row (the first, if the person has several)
    recorded: int  # live deductions of the item already in the ledger for the month

    @property
    def key(self) -> str:
        """What the proposal is about, the same in every export of the month."""
        return f"{self.month}:{self.person_id}:{self.item_code}"

    @property
    def label(self) -> str:
        """The person as people read them."""
        return f"{self.name}({self.department})"


@dataclass(frozen=True)
class UnmatchedRow:
    """A row (or, for ``value``, a cell) of the export that was not proposed, and why.

    ``reason``: ``unknown`` (no one of the name on the roster), ``ambiguous`` (several,
    and no department tells them apart), ``department`` (the name is on the roster, in
    other departments: ``detail`` lists them), ``value`` (a count that is not a whole
    number: ``detail`` is the column and the cell; the row's other counts are proposed).
    """

    line: int
    name: str
    department: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class AttendanceImport:
    """What an import did: cards opened, proposals carded before, rows not matched."""

    file_name: str
    sha256: str
    month: str
    people: int  # rows of people read (matched or not)
    opened: list[tuple[Card, AttendanceProposal]]
    already: list[AttendanceProposal]  # carded before with the same count
    # carded before with another count: (this file's proposal, the card opened before)
    changed: list[tuple[AttendanceProposal, Card]]
    unmatched: list[UnmatchedRow]


# ------------------------------------------------------------------ reading the export
def _header(text: str) -> str:
    return normalize(text).replace(" ", "")


def _is_header(cell: str, names: Sequence[str]) -> bool:
    """The cell is one of the headers, perhaps with a unit in brackets (迟到次数(次))."""
    text = _header(cell)
    return any(text == h or text.startswith(h + "(") for h in map(_header, names))


def _find(row: Sequence[str], names: Sequence[str]) -> int | None:
    return next((i for i, cell in enumerate(row) if _is_header(cell, names)), None)


@dataclass(frozen=True)
class _Layout:
    header_row: int  # index in the grid
    name: int
    department: int | None
    columns: tuple[tuple[int, str, str], ...]  # (column index, item code, header)


def _layout(grid: list[list[str]], spec: Attendance, file_name: str) -> _Layout:
    for r, row in enumerate(grid[:_HEADER_SEARCH_ROWS]):
        name = _find(row, spec.name_headers)
        if name is None:
            continue
        below = grid[r + 1] if r + 1 < len(grid) else []
        columns = []
        for column in spec.columns:
            for line in (row, below):  # a two-level header names some columns a row lower
                if (i := _find(line, column.headers)) is not None:
                    columns.append((i, column.item, line[i].strip()))
                    break
        if not columns:
            continue
        dept = _find(row, spec.department_headers) if spec.department_headers else None
        return _Layout(r, name, dept, tuple(columns))
    wanted = "、".join(c.headers[0] for c in spec.columns)
    raise InputError(
        f"{file_name} 中找不到考勤表头:前{_HEADER_SEARCH_ROWS}行中应有“{spec.name_headers[0]}”"
        f"和 {wanted} 中至少一列"
    )


def _month_of(grid: list[list[str]], layout: _Layout, file_name: str) -> str:
    """The month a title above the header names: the start of a range (统计日期:2026-03-01
    至 2026-03-31), else a lone date not marked as when the report was made (报表生成时间)."""
    lone: list[str] = []
    for row in grid[: layout.header_row]:
        for cell in row:
            text = normalize(cell)
            months = [
                f"{int(m.group(1))}-{int(m.group(2)):02d}"
                for m in _MONTH.finditer(text)
                if 1 <= int(m.group(2)) <= 12
            ]
            if len(months) > 1:
                return months[0]
            if months and not any(word in text for word in _MADE_AT):
                lone.append(months[0])
    if lone:
        return lone[0]
    raise InputError(f"{file_name} 的标题中没有找到考勤月份,请写明月份,例如 --month 2026-03")


def parse_month(text: str) -> str:
    """A month as 2026-03 (also 2026-3, 2026年3月)."""
    m = _MONTH.fullmatch(normalize(text).strip().rstrip("月"))
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise InputError(f"月份“{text}”不对,请写成 YYYY-MM,例如 2026-03")
    return f"{int(m.group(1))}-{int(m.group(2)):02d}"


def _count(cell: str) -> int | None:
    """A count cell: blank is 0; None if it is not a whole number."""
    text = _header(cell).rstrip("次天")
    if text in _BLANK:
        return 0
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if value < 0 or value != value.to_integral_value():
        return None
    return int(value)


# ------------------------------------------------------------------ matching people
@dataclass(frozen=True)
class _Row:
    line: int
    name: str
    department: str
    counts: dict[str, int]  # item code → count


def _rows(
    grid: list[list[str]], layout: _Layout, spec: Attendance
) -> tuple[list[_Row], list[UnmatchedRow]]:
    names = {_header(n) for n in spec.name_headers}
    rows: list[_Row] = []
    bad: list[UnmatchedRow] = []

    def cell(raw: list[str], i: int | None) -> str:
        return raw[i].strip() if i is not None and i < len(raw) else ""

    for n, raw in enumerate(grid[layout.header_row + 1 :], start=layout.header_row + 2):
        name = normalize(cell(raw, layout.name)).replace(" ", "")
        if not name or name in names:  # a two-level header's second row, a repeated header
            continue
        dept = normalize(cell(raw, layout.department))
        counts: dict[str, int] = {}
        for i, code, header in layout.columns:
            value = _count(cell(raw, i))
            if value is None:  # reported; the row's other counts are still proposed
                bad.append(UnmatchedRow(n, name, dept, "value", f"{header}:{cell(raw, i)}"))
                continue
            counts[code] = counts.get(code, 0) + value
        rows.append(_Row(n, name, dept, counts))
    return rows, bad


def _department_matches(department: str, cell: str) -> bool:
    """The export's department cell names the roster's (办公室; 某某局-办公室; 局办公室)."""
    return not cell or department in cell


def _match(
    session: Session, rows: list[_Row]
) -> tuple[list[tuple[_Row, RosterPerson]], list[UnmatchedRow]]:
    people: dict[str, list[RosterPerson]] = {}
    for pid, name, dept in session.exec(
        select(Person.id, Person.name, Department.name)
        .join(Department, col(Department.id) == col(Person.department_id))
        .where(col(Person.active).is_(True))
        .order_by(col(Person.id))
    ).all():
        people.setdefault(name, []).append(RosterPerson(int(pid or 0), name, dept))
    matched: list[tuple[_Row, RosterPerson]] = []
    unmatched: list[UnmatchedRow] = []
    for row in rows:
        named = people.get(row.name, [])
        fits = [p for p in named if _department_matches(p.department, row.department)]
        if len(fits) == 1:
            matched.append((row, fits[0]))
            continue
        if not named:
            reason, detail = "unknown", ""
        elif fits:
            reason, detail = "ambiguous", "、".join(p.department for p in fits)
        else:
            reason, detail = "department", "、".join(p.department for p in named)
        unmatched.append(UnmatchedRow(row.line, row.name, row.department, reason, detail))
    return matched, unmatched


# ------------------------------------------------------------------ proposals and cards
def _month_period(month: str) -> tuple[date, date]:
    year, m = (int(x) for x in month.split("-"))
    return date(year, m, 1), date(year, m, monthdays.monthrange(year, m)[1])


def _recorded(session: Session, month: str, item_code: str) -> dict[int, int]:
    """Live counts of an item already recorded per person in the month."""
    first, last = _month_period(month)
    rows = session.exec(
        select(col(Entry.person_id), func.sum(col(Entry.count)))
        .where(
            live_entries("deduction", Period.parse(str(first.year))),
            Entry.item_code == item_code,
            col(Entry.fact_date) >= first,
            col(Entry.fact_date) <= last,
        )
        .group_by(col(Entry.person_id))
    ).all()
    return {int(pid): int(n or 0) for pid, n in rows if pid is not None}


def _body(p: AttendanceProposal) -> AttendanceCard:
    return AttendanceCard(
        key=p.key, month=p.month, person_id=p.person_id, name=p.name,
        department=p.department, item_code=p.item_code, item_name=p.item_name, unit=p.unit,
        count=p.count, points=p.points, file=p.file_name, sha256=p.sha256, line=p.line,
        recorded=p.recorded,
    )  # fmt: skip


def proposal_of(card: Card) -> AttendanceProposal:
    """The proposal an attendance card holds."""
    p = card.body(AttendanceCard)
    return AttendanceProposal(
        p.month, p.person_id, p.name, p.department, p.item_code, p.item_name, p.unit,
        p.count, p.points, p.file, p.sha256, p.line, p.recorded,
    )  # fmt: skip


def _carded(session: Session) -> dict[str, Card]:
    """Every attendance card ever opened, by its proposal's key."""
    return {
        c.body(AttendanceCard).key: c
        for state in STATES
        for c in cards(session, ATTENDANCE, state=state)
    }


def import_attendance(
    session: Session,
    rules: Rules,
    data: bytes,
    file_name: str,
    *,
    by: str,
    now: datetime,
    month: str | None = None,
) -> AttendanceImport:
    """Read an export and open a card for every proposal not carded before.

    ``month`` (2026-03) is read from the title when not given.
    """
    spec = rules.attendance
    if spec is None:
        raise InputError("规则文件中没有 [attendance] 一节,无法读取考勤导出表")
    grid = read_grid(data, file_name)
    layout = _layout(grid, spec, file_name)
    month = parse_month(month) if month else _month_of(grid, layout, file_name)
    first, _ = _month_period(month)
    if first > now.date():
        raise InputError(f"考勤月份 {month} 还没有到,请核对文件或 --month")
    ledger.check_year_open(session, first.year)
    rows, unreadable = _rows(grid, layout, spec)
    matched, not_found = _match(session, rows)
    sha = hashlib.sha256(data).hexdigest()
    totals: dict[tuple[int, str], AttendanceProposal] = {}
    for code in dict.fromkeys(code for _, code, _ in layout.columns):
        item = rules.item(code)
        recorded = _recorded(session, month, code)
        for row, person in matched:
            n = row.counts.get(code, 0)
            if n <= 0:
                continue
            known = totals.get((person.id, code))
            if known is not None:  # the same person on two rows (two 考勤组): added up
                n += known.count
            totals[(person.id, code)] = AttendanceProposal(
                month, person.id, person.name, person.department, code, item.name, item.unit,
                n, item.points * n, file_name, sha, known.line if known else row.line,
                recorded.get(person.id, 0),
            )  # fmt: skip
    carded = _carded(session)
    opened: list[tuple[Card, AttendanceProposal]] = []
    already: list[AttendanceProposal] = []
    changed: list[tuple[AttendanceProposal, Card]] = []
    for p in sorted(totals.values(), key=lambda p: (p.line, p.item_code)):
        before = carded.get(p.key)
        if before is None:
            card = open_card(session, _body(p), person_id=p.person_id, now=now)
            opened.append((card, p))
        elif before.body(AttendanceCard).count == p.count:
            already.append(p)
        else:
            changed.append((p, before))
    if opened:
        ledger.audit(session, now=now, actor=by, action="attendance_import", file=file_name,
                     sha256=sha, month=month, cards=[c.id for c, _ in opened])  # fmt: skip
    return AttendanceImport(
        file_name, sha, month, len(rows), opened, already, changed,
        sorted([*unreadable, *not_found], key=lambda u: u.line),
    )  # fmt: skip


def pending_attendance(session: Session) -> list[tuple[Card, AttendanceProposal]]:
    """Attendance cards awaiting the office, oldest first."""
    return [(c, proposal_of(c)) for c in cards(session, ATTENDANCE)]


# ------------------------------------------------------------------ confirm or dismiss
@dataclass(frozen=True)
class AttendanceOutcome:
    """A confirmed attendance card: the proposal as recorded, and its entries."""

    proposal: AttendanceProposal
    entry_ids: tuple[int, ...]


def confirm_attendance(
    session: Session, rules: Rules, card_id: int, *, by: str, by_id: int | None, now: datetime
) -> AttendanceOutcome:
    """Record an attendance card through the ledger (source ``attendance``, the file's
    SHA-256 as evidence), at the rules' points now; dated the month's last day, or today
    while the month is still running."""
    card = get_card(session, card_id, ATTENDANCE)
    if card.state != "pending":
        raise Conflict(_handled(card))
    asked = proposal_of(card)
    try:
        item = rules.item(asked.item_code)
    except KeyError:
        raise Conflict(f"规则文件中已没有“{asked.item_name}”这一扣分项,请驳回这条建议") from None
    p = replace(asked, item_name=item.name, unit=item.unit, points=item.points * asked.count)
    first, last = _month_period(p.month)
    fact = max(first, min(last, now.date()))
    finding = Finding(
        text=f"{p.label} {item.name}{p.count}{item.unit}",
        item=item,
        count=p.count,
        charges=(Charge(RosterPerson(p.person_id, p.name, p.department), p.points, "本人"),),
    )
    entries = ledger.record_finding(
        session, finding, fact_date=fact, by=by, now=now, source=ATTENDANCE,
        evidence=p.sha256, note=f"考勤导入:{p.file_name}({p.month},第{p.line}行)",
    )  # fmt: skip
    ids = tuple(e.id for e in entries if e.id is not None)
    if not resolve_card(session, card_id, to="confirmed", by=by_id, now=now,
                        result=Outcome(entries=ids)):  # fmt: skip
        raise Conflict("这条考勤扣分建议已经处理过了")
    return AttendanceOutcome(p, ids)


def dismiss_attendance(
    session: Session, card_id: int, *, by: str, by_id: int | None, now: datetime
) -> AttendanceProposal:
    """Dismiss an attendance card: nothing is recorded (the same export will not card it
    again)."""
    card = get_card(session, card_id, ATTENDANCE)
    if not resolve_card(session, card_id, to="dismissed", by=by_id, now=now):
        raise Conflict(_handled(card))
    ledger.audit(session, now=now, actor=by, action="attendance_dismiss", card=card_id,
                 proposal=card.body(AttendanceCard).key)  # fmt: skip
    return proposal_of(card)


def _handled(card: Card) -> str:
    return {
        "confirmed": "这条考勤扣分建议已确认记录",
        "dismissed": "这条考勤扣分建议已驳回",
    }.get(card.state, "这条考勤扣分建议已经处理过了")
