"""Grades, the excellent quota, ties, vetoes and payout: the pure engine and end to end."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session

from scoring.engine import capped_bonus, category_score, competition_ranks, grade_all
from scoring.periods import Period
from scoring.rules import Rules
from scoring.service import Service
from scoring.standings import Standing
from tests.helpers import NOW, add_person, by_name, d, enter_review

D = Decimal
Y2026 = Period.parse("2026")
FULL_REVIEW = ("10", "5", "5")


def assess(
    service: Service,
    session: Session,
    people: dict[str, tuple[tuple[str, str, str], list[str]]],
    period: Period = Y2026,
) -> dict[str, Standing]:
    """Put people on the roster with their review parts, record their findings, read standings."""
    for name, (review, _) in people.items():
        enter_review(session, add_person(session, name, "办公室"), review)
    session.commit()
    for name, (_, findings) in people.items():
        for finding in findings:
            service.record_finding(
                f"{name} {finding}", fact_date=d("2026-05-06"), by="督查员", now=NOW
            )
    return by_name(service.standings(period))


def grades(t: dict[str, Standing]) -> dict[str, str | None]:
    return {name: s.grade for name, s in t.items()}


# ------------------------------------------------------------------ the pure functions
@pytest.mark.parametrize(
    ("deducted", "expected"), [("0", "20"), ("19.5", "0.5"), ("20", "0"), ("35", "0")]
)
def test_category_score_stops_at_zero(deducted: str, expected: str) -> None:
    assert category_score(D(20), D(deducted), floor_at_zero=True) == D(expected)


def test_category_score_without_the_floor_goes_negative() -> None:
    assert category_score(D(20), D(35), floor_at_zero=False) == -15


@pytest.mark.parametrize(
    ("raw", "expected"), [("0", "0"), ("9.5", "9.5"), ("10", "10"), ("23", "10")]
)
def test_bonus_stops_at_the_cap(raw: str, expected: str) -> None:
    assert capped_bonus(D(raw), D(10)) == D(expected)


def test_competition_ranks_go_1_2_2_4() -> None:
    assert competition_ranks([D(100), D(99), D(99), D(98)]) == [1, 2, 2, 4]
    assert competition_ranks([D(90), D(90), D(90)]) == [1, 1, 1]
    assert competition_ranks([]) == []


@pytest.mark.parametrize(
    ("headcount", "quota"), [(1, 0), (4, 0), (5, 1), (9, 1), (10, 2), (14, 2), (15, 3), (52, 10)]
)
def test_the_excellent_quota_is_20_percent_of_headcount_rounded_down(
    rules: Rules, headcount: int, quota: int
) -> None:
    assert rules.grades.quota(headcount) == quota


def test_the_pure_grader_leaves_an_unvetoed_straddling_tie_flagged(rules: Rules) -> None:
    totals = [D(99), D(98), D(98), *[D(90)] * 7]  # 10 people, quota 2
    ranks, results = grade_all(totals, [False] * 10, rules)
    assert ranks[:4] == [1, 2, 2, 4]
    assert [r.tie_flag for r in results[:4]] == [False, True, True, False]


# ------------------------------------------------------------------ bands, end to end
def test_grade_bands_include_their_lower_bound_and_exclude_their_upper_bound(
    service: Service, session: Session
) -> None:
    t = assess(
        service,
        session,
        {
            "甲": (("10", "5", "0"), []),  # 95
            "乙": (("10", "5", "0"), ["迟到"]),  # 94.5
            "丙": (FULL_REVIEW, ["酗酒闹事 4次"]),  # 80
            "丁": (FULL_REVIEW, ["酗酒闹事 4次", "笔记不认真"]),  # 79.5
            "戊": (FULL_REVIEW, ["酗酒闹事 4次", "督办仍未完成 4次"]),  # 60
            "己": (FULL_REVIEW, ["酗酒闹事 4次", "督办仍未完成 4次", "笔记不认真"]),  # 59.5
        },
    )
    totals = {n: s.total for n, s in t.items()}
    assert totals == {
        "甲": 95,
        "乙": D("94.5"),
        "丙": 80,
        "丁": D("79.5"),
        "戊": 60,
        "己": D("59.5"),
    }
    # 6 people: quota 1, taken by 甲 at exactly 95
    assert grades(t) == {
        "甲": "优秀",
        "乙": "称职",
        "丙": "称职",
        "丁": "基本称职",
        "戊": "基本称职",
        "己": "不称职",
    }


def test_bonus_payout_is_90_percent_for_basic_and_incompetent_only(
    service: Service, session: Session
) -> None:
    t = assess(
        service,
        session,
        {
            "甲": (FULL_REVIEW, []),
            "乙": (FULL_REVIEW, ["酗酒闹事"]),
            "丙": (FULL_REVIEW, ["酗酒闹事 4次", "笔记不认真"]),
            "丁": (FULL_REVIEW, ["酗酒闹事 4次", "督办仍未完成 4次", "笔记不认真"]),
            "戊": (FULL_REVIEW, ["迟到"]),
        },
    )
    assert grades(t) == {"甲": "优秀", "乙": "称职", "丙": "基本称职", "丁": "不称职", "戊": "称职"}
    payout = {n: s.bonus_payout for n, s in t.items()}
    assert payout == {"甲": 1, "乙": 1, "丙": D("0.9"), "丁": D("0.9"), "戊": 1}


def test_grades_are_given_only_for_a_whole_year(service: Service, session: Session) -> None:
    t = assess(service, session, {"甲": (FULL_REVIEW, [])}, period=Period.parse("2026H1"))
    assert t["甲"].grade is None
    assert t["甲"].tie_flag is False


# ------------------------------------------------------------------ the quota
def _ladder(n: int) -> dict[str, tuple[tuple[str, str, str], list[str]]]:
    """n people: 甲 100, 乙 99.5, 丙 99, everyone else 90."""
    people = {
        "甲": (FULL_REVIEW, []),
        "乙": (FULL_REVIEW, ["迟到"]),
        "丙": (FULL_REVIEW, ["迟到 2次"]),
    }
    for i in range(n - 3):
        people[f"员{i}"] = (FULL_REVIEW, ["酗酒闹事 2次"])
    return people


def test_nine_people_have_one_excellent_place(service: Service, session: Session) -> None:
    t = assess(service, session, _ladder(9))
    assert (t["甲"].grade, t["乙"].grade, t["丙"].grade) == ("优秀", "称职", "称职")
    assert [s.grade for n, s in t.items() if n.startswith("员")] == ["称职"] * 6


def test_ten_people_have_two_excellent_places(service: Service, session: Session) -> None:
    t = assess(service, session, _ladder(10))
    assert (t["甲"].grade, t["乙"].grade, t["丙"].grade) == ("优秀", "优秀", "称职")


def test_95_or_more_outside_the_quota_is_competent_and_not_flagged(
    service: Service, session: Session
) -> None:
    t = assess(service, session, _ladder(5))  # quota 1
    assert t["丙"].total == 99
    assert t["丙"].grade == "称职"
    assert not any(s.tie_flag for s in t.values())


def test_a_tie_straddling_the_quota_is_flagged_for_the_leading_group_not_decided(
    service: Service, session: Session
) -> None:
    people = _ladder(10)  # quota 2: 甲 takes one place, 乙 and 丙 tie for the other
    people["丙"] = (FULL_REVIEW, ["早退"])
    t = assess(service, session, people)
    assert (t["乙"].total, t["丙"].total) == (D("99.5"), D("99.5"))
    assert (t["乙"].rank, t["丙"].rank) == (2, 2)
    assert (t["甲"].grade, t["甲"].tie_flag) == ("优秀", False)
    assert t["乙"].tie_flag and t["丙"].tie_flag
    # neither is picked: both get the same grade, and it is not the excellent one
    assert t["乙"].grade == t["丙"].grade != "优秀"
    assert not any(s.tie_flag for n, s in t.items() if n.startswith("员"))


def test_a_tie_that_fits_inside_the_quota_is_all_excellent(
    service: Service, session: Session
) -> None:
    people = _ladder(10)
    people["甲"] = (FULL_REVIEW, ["早退"])  # 甲 and 乙 tie at 99.5 for both places
    t = assess(service, session, people)
    assert (t["甲"].grade, t["乙"].grade, t["丙"].grade) == ("优秀", "优秀", "称职")
    assert not any(s.tie_flag for s in t.values())


# ------------------------------------------------------------------ veto
def test_a_veto_caps_the_grade_at_basic_competent(service: Service, session: Session) -> None:
    people = _ladder(5)
    people["丁"] = (FULL_REVIEW, ["酗酒闹事 4次", "督办仍未完成 4次", "笔记不认真"])  # 59.5
    assess(service, session, people)
    for name in ("甲", "员0", "丁"):
        service.add_veto(
            name,
            reason="对组织决定拒不服从或执行",
            fact_date=d("2026-08-01"),
            by="考核领导小组",
            now=NOW,
        )
    t = by_name(service.standings(Y2026))
    assert t["甲"].total == 100
    assert (t["甲"].grade, t["甲"].veto, t["甲"].bonus_payout) == ("基本称职", True, D("0.9"))
    assert (t["员0"].grade, t["员0"].veto) == ("基本称职", True)  # 90 → at most 基本称职
    assert (t["丁"].grade, t["丁"].veto) == ("不称职", True)  # already below: left alone
    assert t["乙"].veto is False


def test_a_veto_dated_later_in_the_year_does_not_show_in_the_first_half(
    service: Service, session: Session
) -> None:
    assess(service, session, {"甲": (FULL_REVIEW, [])})
    service.add_veto(
        "甲",
        reason="个人原因违纪受警告以上处分",
        fact_date=d("2026-08-01"),
        by="考核领导小组",
        now=NOW,
    )
    assert by_name(service.standings(Period.parse("2026H1")))["甲"].veto is False
    assert by_name(service.standings(Y2026))["甲"].veto is True
    assert by_name(service.standings(Period.parse("2027")))["甲"].veto is False
