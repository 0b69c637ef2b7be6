"""Standings for a period, aggregated in the database and finished by the pure engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from scoring.engine import capped_bonus, category_score, grade_all
from scoring.models import Department, Entry, Person, ReviewScore, VetoRecord
from scoring.periods import Period
from scoring.points import from_cp
from scoring.rules import Rules
from scoring.versions import LEDGER, Memo


@dataclass(frozen=True)
class CategoryResult:
    """Deducted points and score of one category (score None: review not yet entered)."""

    deducted: Decimal
    score: Decimal | None


@dataclass
class Standing:
    """One person's result for a period."""

    person_id: int
    name: str
    department: str
    rank_level: str
    categories: dict[str, CategoryResult]
    bonus_raw: Decimal
    bonus: Decimal
    total: Decimal
    review_estimated: bool
    veto: bool
    rank: int = 0
    grade: str | None = None
    bonus_payout: Decimal = Decimal(1)
    tie_flag: bool = False
    extra: dict[str, object] = field(default_factory=dict)


def live_entries(kind: str, period: Period):  # type: ignore[no-untyped-def]
    """The WHERE clause for unrevoked entries of a kind with fact dates in the period."""
    revoked = select(Entry.revokes_id).where(col(Entry.revokes_id).is_not(None))
    return and_(
        col(Entry.kind) == kind,
        col(Entry.fact_date) >= period.start,
        col(Entry.fact_date) < period.end,
        col(Entry.id).not_in(revoked),
    )


def assessed_in(period: Period) -> tuple[ColumnElement[bool], ...]:
    """Who is assessed for a period: on the roster by the end of its year, and not gone
    (离岗) before the period ended. Someone hired later does not join a past year's result."""
    year_end = datetime(period.year + 1, 1, 1, tzinfo=UTC)
    return (
        col(Person.created_at) < year_end,
        or_(
            and_(col(Person.left_on).is_(None), col(Person.active).is_(True)),
            col(Person.left_on) >= period.end,
        ),
    )


def compute_standings(session: Session, rules: Rules, period: Period) -> list[Standing]:
    """Every active person's standing, best first, with ranks (and grades if annual)."""
    deducted: dict[int | None, dict[str, int]] = {}
    rows = session.exec(
        select(Entry.person_id, Entry.category, func.sum(Entry.points_cp))
        .where(live_entries("deduction", period))
        .group_by(col(Entry.person_id), col(Entry.category))
    )
    for person_id, category, cp in rows:
        deducted.setdefault(person_id, {})[category] = cp

    best = (
        select(Entry.person_id, func.max(Entry.points_cp).label("cp"))
        .where(live_entries("bonus", period))
        .group_by(col(Entry.person_id), col(Entry.bonus_key))
        .subquery()
    )
    bonus: dict[int | None, int] = dict(
        session.exec(select(best.c.person_id, func.sum(best.c.cp)).group_by(best.c.person_id)).all()
    )
    reviews: dict[int | None, int] = {}
    if period.annual:
        reviews = dict(
            session.exec(
                select(ReviewScore.person_id, ReviewScore.total_cp).where(
                    ReviewScore.year == period.year
                )
            ).all()
        )
    taken_back = select(VetoRecord.revokes_id).where(col(VetoRecord.revokes_id).is_not(None))
    vetoed = set(
        session.exec(
            select(VetoRecord.person_id).where(
                VetoRecord.year == period.year,
                col(VetoRecord.fact_date) < period.end,
                col(VetoRecord.revokes_id).is_(None),
                col(VetoRecord.id).not_in(taken_back),
            )
        ).all()
    )
    people = session.exec(
        select(Person.id, Person.name, Department.name, Person.rank)
        .join(Department, col(Department.id) == col(Person.department_id))
        .where(*assessed_in(period))
    ).all()

    review_code = rules.review.category
    policy = rules.scoring
    standings: list[Standing] = []
    for person_id, name, dept, rank_level in people:
        assert person_id is not None  # a stored row always has its id
        mine = deducted.get(person_id, {})
        cats: dict[str, CategoryResult] = {}
        total = Decimal(0)
        estimated = False
        for cat in rules.categories:
            if cat.code == review_code:
                if person_id in reviews:
                    score: Decimal | None = from_cp(reviews[person_id])
                    total += score or 0
                else:
                    score = None
                    if policy.assume_review_base_until_entered:
                        total += cat.base
                        estimated = True
                cats[cat.code] = CategoryResult(Decimal(0), score)
                continue
            d = from_cp(mine.get(cat.code, 0))
            s = category_score(cat.base, d, floor_at_zero=policy.floor_at_zero)
            cats[cat.code] = CategoryResult(d, s)
            total += s
        raw = from_cp(bonus.get(person_id, 0))
        capped = capped_bonus(raw, rules.bonus.cap)
        standings.append(
            Standing(
                person_id=person_id,
                name=name,
                department=dept,
                rank_level=rank_level,
                categories=cats,
                bonus_raw=raw,
                bonus=capped,
                total=total + capped,
                review_estimated=estimated,
                veto=person_id in vetoed,
            )
        )
    standings.sort(key=lambda s: (-s.total, s.department, s.name, s.person_id))
    ranks, grades = grade_all([s.total for s in standings], [s.veto for s in standings], rules)
    for standing, rank, g in zip(standings, ranks, grades, strict=True):
        standing.rank = rank
        standing.grade = g.grade if period.annual else None
        standing.bonus_payout = g.payout if period.annual else Decimal(1)
        standing.tie_flag = g.tie_flag if period.annual else False
    return standings


StandingsOf = Callable[[Session, Rules, Period], list[Standing]]


class StandingsCache:
    """``compute_standings`` computed once per change of the ledger, not once per question.

    The last standings of each period are kept for one version of the ledger (see
    ``scoring.versions``: every write bumps it, in every process) and recomputed on demand
    after a change; what it returns is exactly what ``compute_standings`` would. The rows
    are shared between callers: read them, never change them.
    """

    def __init__(self, periods: int = 8) -> None:
        self._memo: Memo[_Kept] = Memo(LEDGER, periods)
        self._rules: dict[int, Rules] = {}  # held, so that no other rules can take their id

    def _kept(self, session: Session, rules: Rules, period: Period) -> _Kept:
        self._rules.setdefault(id(rules), rules)
        return self._memo.get(
            session,
            (period.label, id(rules)),
            lambda: _Kept.of(compute_standings(session, rules, period)),
        )

    def __call__(self, session: Session, rules: Rules, period: Period) -> list[Standing]:
        """Every assessed person's standing in the period, best first (as compute_standings)."""
        return list(self._kept(session, rules, period).rows)

    def standing(
        self, session: Session, rules: Rules, period: Period, person_id: int
    ) -> tuple[Standing | None, int]:
        """One person's standing (None: not assessed) and how many are assessed."""
        kept = self._kept(session, rules, period)
        return kept.by_person.get(person_id), len(kept.rows)


@dataclass(frozen=True)
class _Kept:
    rows: tuple[Standing, ...]
    by_person: dict[int, Standing]

    @classmethod
    def of(cls, rows: list[Standing]) -> _Kept:
        return cls(tuple(rows), {s.person_id: s for s in rows})


def standing_of(
    standings: StandingsOf, session: Session, rules: Rules, period: Period, person_id: int
) -> tuple[Standing | None, int]:
    """One person's standing (None: not assessed) and how many are assessed, looked up in
    the cache's index when ``standings`` is a ``StandingsCache``."""
    if isinstance(standings, StandingsCache):
        return standings.standing(session, rules, period, person_id)
    rows = standings(session, rules, period)
    return next((s for s in rows if s.person_id == person_id), None), len(rows)
