"""Pure scoring rules: category floors, the bonus cap, ranks, grades, vetoes and payout.

Everything here is a function of plain values and the rules; the database is elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from scoring.rules import Rules

ZERO = Decimal(0)
ONE = Decimal(1)


def category_score(base: Decimal, deducted: Decimal, *, floor_at_zero: bool) -> Decimal:
    """A category's score: base − deducted, stopping at zero when the plan says 扣完为止."""
    score = base - deducted
    return max(score, ZERO) if floor_at_zero else score


def capped_bonus(raw: Decimal, cap: Decimal) -> Decimal:
    """The year's bonus after the cap (加分不超过10分)."""
    return min(raw, cap)


def competition_ranks(totals: Sequence[Decimal]) -> list[int]:
    """Ranks for totals already sorted best first: equal totals share a rank (1, 2, 2, 4)."""
    ranks: list[int] = []
    for i, total in enumerate(totals):
        ranks.append(ranks[-1] if i and total == totals[i - 1] else i + 1)
    return ranks


@dataclass(frozen=True)
class GradeResult:
    """A grade with its payout factor and whether a quota tie needs the leading group."""

    grade: str
    payout: Decimal
    tie_flag: bool


def _quota_positions(
    totals: Sequence[Decimal], racing: Sequence[bool]
) -> list[tuple[int, int] | None]:
    """(first, last) position of each one's tie group among those racing for the quota."""
    field = [t for t, r in zip(totals, racing, strict=True) if r]
    ranks = competition_ranks(field)
    size: dict[int, int] = {}
    for r in ranks:
        size[r] = size.get(r, 0) + 1
    places = iter((r, r + size[r] - 1) for r in ranks)
    return [next(places) if r else None for r in racing]


def grade_all(
    totals: Sequence[Decimal], vetoed: Sequence[bool], rules: Rules
) -> tuple[list[int], list[GradeResult]]:
    """Ranks and grades for totals sorted best first (the whole assessed population).

    Everyone is ranked. Whether a vetoed person still takes a place of the excellence quota
    is the rules file's ``grades.vetoed_hold_quota_places`` (the plan is silent).
    """
    ranks = competition_ranks(totals)
    quota = rules.grades.quota(len(totals))
    hold = rules.grades.vetoed_hold_quota_places
    positions = _quota_positions(totals, [hold or not v for v in vetoed])
    bands = rules.grades.bands
    names = [b.name for b in bands]
    cap_index = names.index(rules.veto.grade_cap)
    results: list[GradeResult] = []
    for total, veto, place in zip(totals, vetoed, positions, strict=True):
        first, last = place or (quota + 1, quota + 1)
        within_quota = last <= quota
        straddles = first <= quota < last
        tie_flag = False
        index = len(bands) - 1
        for i, band in enumerate(bands):
            if total < band.min_total:
                continue
            if band.needs_quota and not within_quota:
                tie_flag = tie_flag or straddles
                continue
            index = i
            break
        if veto:
            index = max(index, cap_index)
        grade = names[index]
        payout = rules.payout.reduced_factor if grade in rules.payout.reduced_grades else ONE
        results.append(GradeResult(grade, payout, tie_flag and not veto))
    return ranks, results
