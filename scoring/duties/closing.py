"""Closing the year: review scores in, proposals settled, the year locked, the annual result.

Finalizing is refused while review parts are missing or proposals await the office; it is
idempotent, and locks the year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from scoring import ledger
from scoring.duties.common import aware, calendar_tz
from scoring.duties.proposals import pending_proposals
from scoring.errors import Conflict, InputError
from scoring.models import YearLock
from scoring.periods import Period
from scoring.review import Missing, missing_parts
from scoring.rules import Rules
from scoring.standings import Standing, StandingsOf, compute_standings


def missing_reviews(session: Session, rules: Rules, year: int) -> list[Missing]:
    """Active people whose review parts for the year are not all in, and what each lacks."""
    return missing_parts(session, rules, year)


@dataclass(frozen=True)
class Finalized:
    """A locked year: when, by whom, and whether it already was."""

    year: int
    locked_at: datetime
    locked_by: str
    already: bool


def finalize_year(
    session: Session, rules: Rules, year: int, *, by: str, now: datetime
) -> Finalized:
    """Lock a year once its review parts are all in; a locked year is reported, not relocked."""
    lock = session.get(YearLock, year)
    if lock is not None:
        return Finalized(year, aware(lock.locked_at, calendar_tz(now)), lock.locked_by, True)
    if not 2000 <= year <= now.year:
        raise InputError(f"年度“{year}”不对,请写成 /finalize {now.year - 1} 这样的形式")
    if now.date() < date(year + 1, 1, 1):
        raise Conflict(f"{year}年尚未结束,年度考核要到{year + 1}年才能定案")
    missing = missing_reviews(session, rules, year)
    if missing:
        shown = "\n".join(f"  - {m}" for m in missing[:10])
        more = f"\n  …等共 {len(missing)} 人" if len(missing) > 10 else ""
        raise Conflict(
            f"{year}年还有 {len(missing)} 人的述职测评分数未录入齐全,不能定案:\n{shown}{more}\n"
            "请在聊天中完成民主评议(/vote)、分管领导评分(/leaderscore)、班子评议"
            "(/groupscore),或用 kaohe review import 导入述职测评表"
        )
    pending = pending_proposals(session, year)
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


def annual_result(
    session: Session, rules: Rules, year: int, *, standings: StandingsOf = compute_standings
) -> AnnualResult:
    """The year's standings with grades, read for the annual bulletin."""
    rows = standings(session, rules, Period.parse(str(year)))
    ranks = set(rules.grades.section_level_ranks)
    excellent = [(s, s.rank_level in ranks) for s in rows if s.grade == rules.grades.excellent]
    reduced = [s for s in rows if s.bonus_payout != 1]
    ties = [s for s in rows if s.tie_flag]
    return AnnualResult(year, rows, excellent, reduced, ties, rules.grades.excellent)


def review_done(session: Session, year: int) -> bool:
    """Whether the year is finalized (the review reminders stop then)."""
    return session.get(YearLock, year) is not None
