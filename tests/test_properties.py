"""Properties that hold for any ledger and any text (hypothesis)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel

from scoring.engine import capped_bonus, category_score, grade_all
from scoring.errors import ParseError
from scoring.parser import parse_finding
from scoring.periods import Period
from scoring.rules import Rules, default_rules_text, parse_rules
from scoring.service import Service
from scoring.standings import Standing
from tests.helpers import NOW, MemoryRoster, add_person, memory_engine

RULES = parse_rules(default_rules_text())
FAST = settings(max_examples=150, deadline=None)
DB = settings(max_examples=60, deadline=None)

PEOPLE = [
    ("张三", "办公室"),
    ("李四", "执法监察科"),
    ("王五", "执法监察科"),
    ("赵局", "局领导"),
    ("刘洋", "办公室"),
    ("刘洋", "法规科"),
]
LEADS = {("赵局", "局领导"): ("执法监察科",)}
NAMES = ["张三", "李四", "王五", "赵局", "刘洋(办公室)", "刘洋(法规科)"]

points = st.decimals(min_value=0, max_value=200, places=1, allow_nan=False, allow_infinity=False)


# ------------------------------------------------------------------ the pure engine
@FAST
@given(base=points, deducted=points)
def test_a_category_score_stays_between_zero_and_its_base(base: Decimal, deducted: Decimal) -> None:
    s = category_score(base, deducted, floor_at_zero=True)
    assert 0 <= s <= base
    assert s == base - deducted or (s == 0 and deducted >= base)


@FAST
@given(raw=points, cap=points)
def test_the_bonus_never_exceeds_the_cap_nor_what_was_earned(raw: Decimal, cap: Decimal) -> None:
    b = capped_bonus(raw, cap)
    assert b <= cap and b <= raw
    assert b in (raw, cap)


@FAST
@given(totals=st.lists(points, max_size=40), data=st.data())
def test_ranks_and_grades_follow_totals(totals: list[Decimal], data: st.DataObject) -> None:
    totals = sorted(totals, reverse=True)
    ranks, results = grade_all(totals, [False] * len(totals), RULES)
    bands = [b.name for b in RULES.grades.bands]
    excellent = sum(r.grade == RULES.grades.excellent for r in results)
    assert excellent <= RULES.grades.quota(len(totals))
    for i in range(len(totals) - 1):
        higher, lower = i, i + 1
        if totals[higher] == totals[lower]:
            assert ranks[higher] == ranks[lower]
            assert results[higher] == results[lower]
        else:
            assert ranks[higher] < ranks[lower]
            assert bands.index(results[higher].grade) <= bands.index(results[lower].grade)
    vetoed = data.draw(st.lists(st.booleans(), min_size=len(totals), max_size=len(totals)))
    _, capped = grade_all(totals, vetoed, RULES)
    cap = bands.index(RULES.veto.grade_cap)
    for veto, free, result in zip(vetoed, results, capped, strict=True):
        expected = max(bands.index(free.grade), cap) if veto else bands.index(free.grade)
        assert bands.index(result.grade) == expected


# ------------------------------------------------------------------ ledgers
def _finding_texts(rules: Rules) -> st.SearchStrategy[str]:
    # items limited per year (笔记不足一万字, 心得缺少) have their own tests of the limit
    personal = [i for i in rules.items if i.bearer == "person" and i.max_per_year is None]
    business = [i for i in personal if rules.category(i.category).department_chargeable]

    def counted(word: str, unit: str, n: int) -> str:
        return f"{word} {n}{unit}"

    one = st.builds(
        lambda name, item, n: f"{name} {counted(item.words[-1], item.unit, n)}",
        st.sampled_from(NAMES),
        st.sampled_from(personal),
        st.integers(1, 6),
    )
    dept = st.builds(
        lambda item, n: f"执法监察科 {counted(item.words[-1], item.unit, n)}",
        st.sampled_from(business),
        st.integers(1, 3),
    )
    duty = st.builds(lambda n: f"带班:赵局 值班:李四、张三 信息不灵 {n}项", st.integers(1, 3))
    return st.one_of(one, one, dept, duty)


FINDING = _finding_texts(RULES)
TITLE = st.sampled_from(["甲", "乙"])
AWARD = st.tuples(
    st.sampled_from([*NAMES, "执法监察科"]),
    st.just("award"),
    st.sampled_from(["国家级", "省级", "市级"]),
    TITLE,
)
ARTICLE = st.tuples(
    st.sampled_from(NAMES), st.just("article"), st.sampled_from(["省级", "市级", "区级"]), TITLE
)
DAY = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31))
FACT = st.one_of(
    st.tuples(st.just("finding"), FINDING, DAY),
    st.tuples(st.just("bonus"), st.one_of(AWARD, ARTICLE), DAY),
)
PERIOD = st.sampled_from([Period.parse(p) for p in ("2026", "2026H1", "2026H2", "2026Q3")])


@contextmanager
def ledger() -> Iterator[Service]:
    """A fresh database with the property roster."""
    engine = memory_engine()
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        for name, dept in PEOPLE:
            leads = LEADS.get((name, dept), ())
            add_person(s, name, dept, leads=leads)
        s.commit()
    try:
        yield Service(engine, RULES)
    finally:
        engine.dispose()


def put(service: Service, fact: tuple[str, object, date]) -> list[int]:
    """Record one fact; returns its entry ids."""
    kind, what, day = fact
    if kind == "finding":
        assert isinstance(what, str)
        return service.record_finding(what, fact_date=day, by="督查员", now=NOW)[1].entry_ids
    assert isinstance(what, tuple)
    target, bonus_kind, level, title = what
    return service.add_bonus(
        target=target,
        kind=bonus_kind,
        level=level,
        title=title,
        fact_date=day,
        by="管理员",
        now=NOW,
    ).entry_ids


@DB
@given(facts=st.lists(FACT, max_size=12), period=PERIOD)
def test_scores_stay_in_range_and_the_total_is_the_sum_of_its_parts(
    facts: list[tuple[str, object, date]], period: Period
) -> None:
    with ledger() as service:
        for fact in facts:
            put(service, fact)
        table = service.standings(period)
    assert len(table) == len(PEOPLE)
    for s in table:
        parts = Decimal(0)
        for cat in RULES.categories:
            score = s.categories[cat.code].score
            if score is None:  # review not entered: counted at its base
                assert cat.code == "review" and s.review_estimated
                score = cat.base
            assert 0 <= score <= cat.base
            parts += score
        assert 0 <= s.bonus <= RULES.bonus.cap
        assert s.bonus == min(s.bonus_raw, RULES.bonus.cap)
        assert s.total == parts + s.bonus
    for better, worse in pairwise(table):
        assert better.total >= worse.total
        assert better.rank <= worse.rank
        assert (better.rank == worse.rank) == (better.total == worse.total)


def _snapshot(service: Service, period: Period) -> list[Standing]:
    return service.standings(period)


@DB
@given(facts=st.lists(FACT, max_size=8), mistake=FACT, period=PERIOD)
def test_a_revoked_entry_leaves_standings_as_if_it_had_never_been_recorded(
    facts: list[tuple[str, object, date]], mistake: tuple[str, object, date], period: Period
) -> None:
    with ledger() as service:
        for fact in facts:
            put(service, fact)
        before = _snapshot(service, period)
        for entry_id in put(service, mistake):
            service.revoke(entry_id, reason="误记", by="管理员", now=NOW)
        assert _snapshot(service, period) == before


# ------------------------------------------------------------------ the parser never crashes
ROSTER = MemoryRoster.of(PEOPLE, leads=LEADS)


def _parse_or_parse_error(text: str) -> None:
    try:
        finding = parse_finding(text, rules=RULES, roster=ROSTER)
    except ParseError as exc:
        assert exc.message  # a message for the user, never empty
        return
    assert finding.charges
    assert finding.count >= 1


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_parsing_any_text_raises_nothing_but_a_parse_error(text: str) -> None:
    _parse_or_parse_error(text)


WORDS = [
    *NAMES,
    "刘洋",
    "执法监察科",
    "办公室",
    "带班:",
    "值班:",
    "带班",
    "值班",
    *RULES.words,
    "2",
    "两",
    "十二",
    "0",
    "100",
    "次",
    "天",
    "项",
    "年",
    "篇",
    "3天",
    "２次",
    "(",
    ")",
    "（",
    "）",
    "【",
    "】",
    ":",
    "、",
    ",",
    "zhangsan",
    "张山",
    "百",
    "零",
]
GLUE = st.sampled_from([" ", "", "、", " ", "  ", ",", ";", "/", "\u3000"])


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.tuples(st.sampled_from(WORDS) | st.text(max_size=3), GLUE), max_size=7))
def test_parsing_roster_names_item_words_and_noise_raises_nothing_but_a_parse_error(
    parts: list[tuple[str, str]],
) -> None:
    _parse_or_parse_error("".join(word + glue for word, glue in parts))
