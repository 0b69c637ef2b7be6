"""The calendar's duties in the core: the run book, notices, proposals and the year's close.

- The run book (``DutyRun``): a duty's key is written once it is done; a duty that sends
  several messages notes each part sent under ``<key>#parts``, so a retry sends only what
  is missing. The first tick writes ``installed``: nothing due before it is ever replayed.
- Quarterly notices: what was deducted, vetoed and awarded in a quarter, by category and
  department; a posted notice opens an objection window, and a period's entries are final
  once every quarter it touches has been noticed and its window has closed.
- Spot checks: a month counts as checked when any deduction other than a year-end
  proposal (source ``duty``) is dated in it (a check that found nothing leaves no trace;
  the office may disregard the alert then).
- Year-end proposals: notes under the yearly characters, missing reflections; cards the
  office confirms (recorded through the ledger, source ``duty``) or dismisses.
- Finalizing a year: refused while review scores are missing; idempotent; locks the year.

Every function takes the caller's session and ``now``; nothing here reads the clock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from scoring import calendar, ledger
from scoring.accounts import bound_accounts  # noqa: F401  (callers use duties.bound_accounts)
from scoring.calendar import Duty
from scoring.errors import Conflict, InputError
from scoring.ledger import EntryView
from scoring.models import (
    Department,
    DutyRun,
    Entry,
    Person,
    PublicNotice,
    ReviewScore,
    SpotCheck,
    StudySubmission,
    VetoRecord,
    YearLock,
)
from scoring.parser import Charge, Finding, RosterPerson
from scoring.pending import Card, cards, get_card, open_card, resolve_card
from scoring.periods import Period
from scoring.rules import Calendar, Rules
from scoring.standings import Standing, compute_standings, live_entries

INSTALLED = "installed"
PARTS = "#parts"
PROPOSAL = "proposal"
DUTY_SOURCE = "duty"


def aware(value: datetime, tz: tzinfo) -> datetime:
    """A stored time in the bot's zone (a naive one, from some databases, read as local)."""
    return value.astimezone(tz) if value.tzinfo is not None else value.replace(tzinfo=tz)


# ------------------------------------------------------------------ the run book
def installed_at(session: Session, now: datetime) -> datetime:
    """When the bot first ran its duties (written now, on the very first call)."""
    row = session.get(DutyRun, INSTALLED)
    if row is None:
        row = DutyRun(key=INSTALLED, done_at=now, detail="")
        session.add(row)
        session.flush()
        return now
    return aware(row.done_at, now.tzinfo or calendar_tz(now))


def calendar_tz(now: datetime) -> tzinfo:
    """The zone of an aware time (a naive one is refused: the core needs zoned times)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.tzinfo


def install_time(session: Session, tz: tzinfo) -> datetime | None:
    """When the bot first ran its duties, or None if it never has."""
    row = session.get(DutyRun, INSTALLED)
    return aware(row.done_at, tz) if row is not None else None


def done_runs(session: Session) -> dict[str, DutyRun]:
    """Every duty done, by key (the install mark and part notes left out)."""
    rows = session.exec(select(DutyRun)).all()
    return {r.key: r for r in rows if r.key != INSTALLED and PARTS not in r.key}


def is_done(session: Session, key: str) -> bool:
    """Whether the duty with this key is done."""
    return session.get(DutyRun, key) is not None


def parts_done(session: Session, key: str) -> set[str]:
    """The parts of an unfinished duty already sent."""
    row = session.get(DutyRun, key + PARTS)
    return set(json.loads(row.detail)) if row is not None and row.detail else set()


def add_part(session: Session, key: str, part: str, *, now: datetime) -> None:
    """Note one part of a duty as sent."""
    row = session.get(DutyRun, key + PARTS)
    if row is None:
        row = DutyRun(key=key + PARTS, done_at=now, detail="[]")
    sent = sorted({*json.loads(row.detail or "[]"), part})
    row.detail = json.dumps(sent, ensure_ascii=False)
    row.done_at = now
    session.add(row)


def mark_done(session: Session, key: str, *, now: datetime, detail: str = "") -> bool:
    """Record a duty as done (its part notes go); False if it already was."""
    session.execute(delete(DutyRun).where(col(DutyRun.key) == key + PARTS))
    if session.get(DutyRun, key) is not None:
        return False
    session.add(DutyRun(key=key, done_at=now, detail=detail))
    session.flush()
    return True


def duties_due(session: Session, cal: Calendar, tz: tzinfo, now: datetime) -> list[Duty]:
    """Every duty to run now: the calendar's (see scoring.calendar) and annual bulletins.

    An annual bulletin is due once its year is locked, until it has been posted.
    """
    installed = installed_at(session, now)
    done = set(done_runs(session))
    due = calendar.due_duties(cal, tz, now, installed=installed, done=done)
    for lock in session.exec(select(YearLock).order_by(col(YearLock.year))).all():
        key = f"annual:{lock.year}"
        if key not in done:
            due.append(Duty(aware(lock.locked_at, tz), key, "annual", str(lock.year)))
    return sorted(due)


@dataclass(frozen=True)
class JobRow:
    """A line of ``kaohe jobs``: a duty, when it falls, and where it stands."""

    key: str
    kind: str
    name: str
    due: datetime
    status: str  # done | due | skipped | scheduled
    done_at: datetime | None = None


def job_rows(session: Session, cal: Calendar, tz: tzinfo, now: datetime) -> list[JobRow]:
    """Of each kind of duty the latest one due (done, due, or skipped) and the next one."""
    installed = install_time(session, tz)
    runs = done_runs(session)
    rows: list[JobRow] = []
    for d in calendar.latest_due(cal, tz, now):
        run = runs.get(d.key)
        if run is not None:
            status = "done"
        elif installed is None or d.due < installed:
            status = "skipped"
        else:
            status = "due"
        rows.append(JobRow(d.key, d.kind, d.name, d.due, status,
                           aware(run.done_at, tz) if run else None))  # fmt: skip
    for d in calendar.upcoming(cal, tz, now):
        rows.append(JobRow(d.key, d.kind, d.name, d.due, "scheduled"))
    for lock in session.exec(select(YearLock).order_by(col(YearLock.year))).all():
        key = f"annual:{lock.year}"
        run = runs.get(key)
        rows.append(
            JobRow(key, "annual", calendar.KIND_NAMES["annual"], aware(lock.locked_at, tz),
                   "done" if run else "due", aware(run.done_at, tz) if run else None)
        )  # fmt: skip
    order = (*calendar.KINDS, "annual")
    return sorted(rows, key=lambda r: order.index(r.kind))


# ------------------------------------------------------------------ notices and windows
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


# ------------------------------------------------------------------ spot checks
def spot_checks(session: Session, year: int, month: int) -> int:
    """Spot checks in a month: those recorded with /checked (even finding nothing), and
    deductions dated in it (year-end proposals left out). 0: no spot check recorded."""
    start = date(year, month, 1)
    end = date(year + month // 12, month % 12 + 1, 1)
    findings = session.exec(
        select(func.count())
        .select_from(Entry)
        .where(
            Entry.kind == "deduction",
            col(Entry.fact_date) >= start,
            col(Entry.fact_date) < end,
            col(Entry.source) != DUTY_SOURCE,
        )
    ).one()
    checks = session.exec(
        select(func.count())
        .select_from(SpotCheck)
        .where(col(SpotCheck.day) >= start, col(SpotCheck.day) < end)
    ).one()
    return int(findings) + int(checks)


def record_spot_check(
    session: Session, *, day: date, inspector_id: int | None, inspector: str, note: str,
    now: datetime,
) -> int:  # fmt: skip
    """The office says it carried out a spot check (one that found nothing leaves a trace)."""
    check = SpotCheck(day=day, inspector_id=inspector_id, inspector=inspector,
                      note=note.strip()[:500], recorded_at=now)  # fmt: skip
    session.add(check)
    session.flush()
    ledger.audit(session, now=now, actor=inspector, action="spot_check", day=day.isoformat())
    assert check.id is not None
    return check.id


# ------------------------------------------------------------------ year-end proposals
@dataclass(frozen=True)
class Proposal:
    """A year-end deduction the data implies, for the office to confirm or dismiss."""

    year: int
    person_id: int
    name: str
    department: str
    item_code: str
    item_name: str
    count: int
    points: Decimal
    have: int  # characters of notes, or reflections handed in
    need: int  # characters required, or reflections required

    @property
    def key(self) -> str:
        """What the proposal is about, stable across runs."""
        return f"{self.year}:{self.person_id}:{self.item_code}"

    @property
    def label(self) -> str:
        """The person as people read them."""
        return f"{self.name}({self.department})"


def _already_charged(session: Session, year: int, item_code: str) -> dict[int, int]:
    """Live counts of an item already recorded per person in the year."""
    rows = session.exec(
        select(col(Entry.person_id), func.sum(col(Entry.count)))
        .where(live_entries("deduction", Period.parse(str(year))), Entry.item_code == item_code)
        .group_by(col(Entry.person_id))
    ).all()
    return {int(pid): int(n or 0) for pid, n in rows if pid is not None}


def year_end_proposals(session: Session, rules: Rules, year: int) -> list[Proposal]:
    """Notes under the yearly characters and missing reflections, per active person.

    Reflections are counted over the year (每少1篇扣1分: one per piece short of the
    yearly number). Deductions for these items already recorded in the year are
    subtracted, so a confirmed proposal is never proposed again.
    """
    study = rules.study
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    totals: dict[tuple[int, str], tuple[int, int]] = {}
    for pid, kind, chars, n in session.exec(
        select(col(StudySubmission.person_id), col(StudySubmission.kind),
               func.sum(col(StudySubmission.chars)), func.count())
        .where(col(StudySubmission.fact_date) >= start, col(StudySubmission.fact_date) < end)
        .group_by(col(StudySubmission.person_id), col(StudySubmission.kind))
    ).all():  # fmt: skip
        totals[(int(pid), str(kind))] = (int(chars or 0), int(n))
    notes_item = rules.item(study.notes_short_item)
    reflection_item = rules.item(study.reflection_missing_item)
    notes_charged = _already_charged(session, year, notes_item.code)
    reflections_charged = _already_charged(session, year, reflection_item.code)
    people = session.exec(
        select(Person.id, Person.name, Department.name)
        .join(Department, col(Department.id) == col(Person.department_id))
        .where(col(Person.active).is_(True))
        .order_by(col(Department.id), col(Person.id))
    ).all()
    out: list[Proposal] = []
    for person_id, name, dept in people:
        pid = int(person_id or 0)
        chars = totals.get((pid, "notes"), (0, 0))[0]
        if chars < study.notes_chars_per_year and not notes_charged.get(pid):
            out.append(Proposal(year, pid, name, dept, notes_item.code, notes_item.name, 1,
                                notes_item.points, chars, study.notes_chars_per_year))  # fmt: skip
        handed = totals.get((pid, "reflection"), (0, 0))[1]
        missing = study.reflections_per_year - handed - reflections_charged.get(pid, 0)
        if missing > 0:
            out.append(Proposal(year, pid, name, dept, reflection_item.code, reflection_item.name,
                                missing, reflection_item.points * missing, handed,
                                study.reflections_per_year))  # fmt: skip
    return out


def _proposal_payload(p: Proposal) -> dict[str, object]:
    return {
        "key": p.key, "year": p.year, "person_id": p.person_id, "name": p.name,
        "department": p.department, "item_code": p.item_code, "item_name": p.item_name,
        "count": p.count, "points": str(p.points), "have": p.have, "need": p.need,
    }  # fmt: skip


def proposal_of(card: Card) -> Proposal:
    """The proposal a card holds."""
    p = card.payload
    return Proposal(
        int(p["year"]), int(p["person_id"]), p["name"], p["department"], p["item_code"],
        p["item_name"], int(p["count"]), Decimal(p["points"]), int(p["have"]), int(p["need"]),
    )  # fmt: skip


def open_proposal_cards(
    session: Session, rules: Rules, year: int, *, now: datetime
) -> list[tuple[Card, Proposal]]:
    """A card for every proposal of the year not carded before (running twice adds none).

    Returns the year's cards still pending, new and old.
    """
    known = {
        c.payload.get("key")
        for state in ("pending", "confirmed", "dismissed", "obsolete")
        for c in cards(session, PROPOSAL, state=state)
    }
    for p in year_end_proposals(session, rules, year):
        if p.key not in known:
            open_card(session, PROPOSAL, person_id=p.person_id, payload=_proposal_payload(p),
                      now=now)  # fmt: skip
    return [(c, proposal_of(c)) for c in cards(session, PROPOSAL) if c.payload["year"] == year]


@dataclass(frozen=True)
class ProposalOutcome:
    """What became of a proposal card: confirmed (with its entries) or obsolete."""

    state: str
    proposal: Proposal
    entry_ids: tuple[int, ...] = ()


def confirm_proposal(
    session: Session, rules: Rules, card_id: int, *, by: str, by_id: int, now: datetime
) -> ProposalOutcome:
    """Record a proposal through the ledger (source ``duty``), as the data stands now.

    If the person has since handed in what was missing, nothing is recorded and the card
    becomes obsolete.
    """
    card = get_card(session, card_id, PROPOSAL)
    if card.state != "pending":
        raise Conflict(_handled(card))
    asked = proposal_of(card)
    ledger.check_year_open(session, asked.year)
    current = next(
        (p for p in year_end_proposals(session, rules, asked.year) if p.key == asked.key), None
    )
    if current is None:
        resolve_card(session, card_id, to="obsolete", by=by_id, now=now)
        return ProposalOutcome("obsolete", asked)
    item = rules.item(current.item_code)
    finding = Finding(
        text=f"{current.label} {item.name}",
        item=item,
        count=current.count,
        charges=(
            Charge(RosterPerson(current.person_id, current.name, current.department),
                   current.points, "本人"),
        ),
    )  # fmt: skip
    fact = min(now.date(), date(current.year, 12, 31))
    entries = ledger.record_finding(
        session, finding, fact_date=fact, by=by, now=now, source=DUTY_SOURCE,
        note=f"年终核查:{current.have}/{current.need}",
    )  # fmt: skip
    ids = tuple(e.id for e in entries if e.id is not None)
    if not resolve_card(session, card_id, to="confirmed", by=by_id, now=now,
                        result={"entries": list(ids)}):  # fmt: skip
        raise Conflict("这条建议已经处理过了")
    return ProposalOutcome("confirmed", current, ids)


def dismiss_proposal(
    session: Session, card_id: int, *, by: str, by_id: int, now: datetime
) -> Proposal:
    """Dismiss a proposal: nothing is recorded."""
    card = get_card(session, card_id, PROPOSAL)
    if not resolve_card(session, card_id, to="dismissed", by=by_id, now=now):
        raise Conflict(_handled(card))
    ledger.audit(session, now=now, actor=by, action="proposal_dismiss", card=card_id,
                 proposal=card.payload.get("key"))  # fmt: skip
    return proposal_of(card)


def _handled(card: Card) -> str:
    return {
        "confirmed": "这条建议已确认记录",
        "dismissed": "这条建议已驳回",
        "obsolete": "情况已变化,这条建议已失效",
    }.get(card.state, "这条建议已经处理过了")


# ------------------------------------------------------------------ the year's close
def missing_reviews(session: Session, year: int) -> list[str]:
    """Active people without review scores for the year (name(department))."""
    scored = select(ReviewScore.person_id).where(ReviewScore.year == year)
    rows = session.exec(
        select(Person.name, Department.name)
        .join(Department, col(Department.id) == col(Person.department_id))
        .where(col(Person.active).is_(True), col(Person.id).not_in(scored))
        .order_by(col(Department.id), col(Person.id))
    ).all()
    return [f"{n}({d})" for n, d in rows]


@dataclass(frozen=True)
class Finalized:
    """A locked year: when, by whom, and whether it already was."""

    year: int
    locked_at: datetime
    locked_by: str
    already: bool


def finalize_year(session: Session, year: int, *, by: str, now: datetime) -> Finalized:
    """Lock a year once its review scores are all in; a locked year is reported, not relocked."""
    lock = session.get(YearLock, year)
    if lock is not None:
        return Finalized(year, aware(lock.locked_at, calendar_tz(now)), lock.locked_by, True)
    if not 2000 <= year <= now.year:
        raise InputError(f"年度“{year}”不对,请写成 /finalize {now.year - 1} 这样的形式")
    if now.date() < date(year + 1, 1, 1):
        raise Conflict(f"{year}年尚未结束,年度考核要到{year + 1}年才能定案")
    missing = missing_reviews(session, year)
    if missing:
        shown = "、".join(missing[:10]) + (f" 等{len(missing)}人" if len(missing) > 10 else "")
        raise Conflict(
            f"{year}年还有 {len(missing)} 人的述职测评分数未录入({shown}),不能定案。"
            "请先用 kaohe review import 导入述职测评表"
        )
    pending = [c for c in cards(session, PROPOSAL) if c.payload.get("year") == year]
    if pending:
        raise Conflict(
            f"{year}年还有 {len(pending)} 条年终扣分建议待办公室确认或驳回,处理完后再定案"
        )
    session.add(YearLock(year=year, locked_at=now, locked_by=by))
    ledger.audit(session, now=now, actor=by, action="finalize", year=year)
    session.flush()
    return Finalized(year, now, by, False)


@dataclass(frozen=True)
class AnnualResult:
    """The annual bulletin's content: every grade, the excellent, the reduced payouts."""

    year: int
    standings: list[Standing]
    excellent: list[tuple[Standing, bool]]  # with whether they are 科级干部
    reduced: list[Standing]
    ties: list[Standing]
    excellent_grade: str

    def section_level(self) -> list[Standing]:
        """The excellent 科级干部 (recommended to the district organisation department)."""
        return [s for s, section in self.excellent if section]


def annual_result(session: Session, rules: Rules, year: int) -> AnnualResult:
    """The year's standings with grades, read for the annual bulletin."""
    rows = compute_standings(session, rules, Period.parse(str(year)))
    ranks = set(rules.grades.section_level_ranks)
    excellent = [(s, s.rank_level in ranks) for s in rows if s.grade == rules.grades.excellent]
    reduced = [s for s in rows if s.bonus_payout != 1]
    ties = [s for s in rows if s.tie_flag]
    return AnnualResult(year, rows, excellent, reduced, ties, rules.grades.excellent)


def review_done(session: Session, year: int) -> bool:
    """Whether the year is finalized (the review reminders stop then)."""
    return session.get(YearLock, year) is not None
