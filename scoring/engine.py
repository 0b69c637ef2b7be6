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


def grade_all(
    totals: Sequence[Decimal], vetoed: Sequence[bool], rules: Rules
) -> tuple[list[int], list[GradeResult]]:
    """Ranks and grades for totals sorted best first (the whole assessed population)."""
    ranks = competition_ranks(totals)
    quota = rules.grades.quota(len(totals))
    group_size: dict[int, int] = {}
    for r in ranks:
        group_size[r] = group_size.get(r, 0) + 1
    bands = rules.grades.bands
    names = [b.name for b in bands]
    cap_index = names.index(rules.veto.grade_cap)
    results: list[GradeResult] = []
    for total, rank, veto in zip(totals, ranks, vetoed, strict=True):
        last_position = rank + group_size[rank] - 1
        within_quota = last_position <= quota
        straddles = rank <= quota < last_position
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
