"""The rules file: the bundled plan holds every number of reading.md; broken files are named."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session

from scoring.db import upgrade
from scoring.errors import RulesError
from scoring.periods import Period
from scoring.rules import RULES_ENV, Rules, default_rules_text, load_rules, parse_rules
from scoring.service import Service
from tests.helpers import NOW, CliCall, add_person, d, memory_engine, run_cli_many

D = Decimal


def swap(text: str, old: str, new: str) -> str:
    """Replace one exact, unique passage of the rules text (fails loudly if it moved)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


# ------------------------------------------------------------------ the bundled file
def test_bundled_rules_file_loads_when_no_other_file_is_set() -> None:
    rules = load_rules()
    assert rules.unit.name
    assert rules == parse_rules(default_rules_text())


def test_category_bases_are_15_30_15_20_20_and_add_up_to_100(rules: Rules) -> None:
    bases = {c.code: c.base for c in rules.categories}
    assert bases == {"study": 15, "business": 30, "central": 15, "daily": 20, "review": 20}
    assert sum(bases.values()) == 100
    assert rules.category("study").name == "政治理论和业务知识学习"
    assert rules.category("daily").name == "机关日常"
    assert rules.category("review").name == "述职测评"


def test_deductions_stop_at_zero_by_default(rules: Rules) -> None:
    assert rules.scoring.floor_at_zero is True


def test_only_business_work_may_be_charged_to_a_department(rules: Rules) -> None:
    assert [c.code for c in rules.categories if c.department_chargeable] == ["business"]


def test_review_is_entered_at_year_end_and_never_deducted(rules: Rules) -> None:
    assert rules.category("review").entered_at_year_end
    assert "review" not in {c.code for c in rules.deducted_categories}
    assert not [i for i in rules.items if i.category == "review"]


def test_review_maxima_are_10_5_5(rules: Rules) -> None:
    parts = {p.name: p.max for p in rules.review.parts}
    assert parts == {"述职": 10, "分管领导评分": 5, "班子综合评议": 5}
    assert rules.review.category == "review"


# Every item of reading.md: (category, points, unit) as the plan sets them.
PLAN_ITEMS = {
    "study_absent": ("study", "1", "次"),
    "study_notes_poor": ("study", "0.5", "次"),
    "study_notes_short": ("study", "2", "年"),
    "study_reflection_missing": ("study", "1", "篇"),
    "study_online_missing": ("study", "2", "项"),
    "study_xuexi_notified": ("study", "1", "次"),
    "business_no_plan": ("business", "3", "次"),
    "business_evidence": ("business", "3", "次"),
    "business_court_revoked": ("business", "5", "次"),
    "business_report_late": ("business", "1", "次"),
    "business_report_missing": ("business", "2", "次"),
    "business_overdue_supervised": ("business", "5", "次"),
    "central_epidemic": ("central", "3", "次"),
    "central_investment_absent": ("central", "1", "次"),
    "central_safety_absent": ("central", "1", "次"),
    "central_safety_disobey": ("central", "3", "项"),
    "central_village_notified": ("central", "5", "次"),
    "daily_late": ("daily", "0.5", "次"),
    "daily_early": ("daily", "0.5", "次"),
    "daily_off_post": ("daily", "1", "次"),
    "daily_absent": ("daily", "2", "天"),
    "daily_duty_missed": ("daily", "1", "次"),
    "daily_post_check_absent": ("daily", "1", "次"),
    "daily_drinking": ("daily", "2", "次"),
    "daily_misconduct": ("daily", "5", "次"),
    "daily_notified": ("daily", "5", "次"),
}


def test_every_deduction_item_of_the_plan_has_its_points_and_unit(rules: Rules) -> None:
    found = {i.code: (i.category, i.points, i.unit) for i in rules.items if i.bearer == "person"}
    assert found == {code: (cat, D(p), unit) for code, (cat, p, unit) in PLAN_ITEMS.items()}


def test_duty_incident_costs_the_leader_2_and_each_member_1(rules: Rules) -> None:
    item = rules.item("daily_duty_incident")
    assert item.bearer == "duty"
    assert (item.leader_points, item.member_points) == (2, 1)
    assert (rules.duty.leader_prefix, rules.duty.member_prefix) == ("带班", "值班")


# The plan's own words, as an inspector types them, and the item each one names.
PLAN_WORDS = {
    "迟到": "daily_late",
    "早退": "daily_early",
    "旷工": "daily_absent",
    "脱岗": "daily_off_post",
    "缺岗": "daily_duty_missed",
    "工作日饮酒": "daily_drinking",
    "酗酒闹事": "daily_misconduct",
    "信息不灵": "daily_duty_incident",
    "无故不参加学习": "study_absent",
    "学习强国被通报": "study_xuexi_notified",
    "网络学习未完成": "study_online_missing",
    "未制定计划": "business_no_plan",
    "证据不充足": "business_evidence",
    "案件被法院撤销": "business_court_revoked",
    "报表迟报": "business_report_late",
    "报表未报": "business_report_missing",
    "督办仍未完成": "business_overdue_supervised",
    "不服从疫情防控": "central_epidemic",
    "招商引资少参加": "central_investment_absent",
    "平安建设少参与": "central_safety_absent",
    "不服从安排": "central_safety_disobey",
    "驻村工作被通报": "central_village_notified",
    "违反八项规定被通报": "daily_notified",
}


def test_the_plans_own_words_name_the_right_items(rules: Rules) -> None:
    assert {w: rules.words[w].code for w in PLAN_WORDS} == PLAN_WORDS


def test_bonus_is_capped_at_10_with_levels_10_8_5_and_3_2_1(rules: Rules) -> None:
    assert rules.bonus.cap == 10
    assert rules.bonus.dedupe == "highest_level"
    award, article = rules.bonus_kind("award"), rules.bonus_kind("article")
    assert award.levels == {"国家级": 10, "省级": 8, "市级": 5}
    assert article.levels == {"省级": 3, "市级": 2, "区级": 1}
    assert award.department_wide and not article.department_wide


def test_grade_bands_are_95_80_60_with_a_20_percent_quota(rules: Rules) -> None:
    bands = [(b.name, b.min_total, b.needs_quota) for b in rules.grades.bands]
    assert bands == [
        ("优秀", 95, True),
        ("称职", 80, False),
        ("基本称职", 60, False),
        ("不称职", 0, False),
    ]
    assert rules.grades.quota_ratio == D("0.2")
    assert rules.grades.excellent == "优秀"


def test_veto_caps_at_basic_and_the_lower_grades_get_90_percent(rules: Rules) -> None:
    assert rules.veto.grade_cap == "基本称职"
    assert len(rules.veto.reasons) == 3
    assert rules.payout.reduced_factor == D("0.9")
    assert set(rules.payout.reduced_grades) == {"基本称职", "不称职"}


# ------------------------------------------------------------------ broken files
def _broken_text() -> str:
    text = default_rules_text()
    # 1. wrong type: 迟到's points are not a number
    text = swap(text, 'name = "迟到"\npoints = "0.5"', 'name = "迟到"\npoints = "半分"')
    # 2. an item in a category that does not exist
    text = swap(
        text,
        'code = "study_absent"\ncategory = "study"',
        'code = "study_absent"\ncategory = "studying"',
    )
    # 3. one word naming two items: 早退 also answers to 迟到
    text = swap(text, 'aliases = ["早退"]', 'aliases = ["早退", "迟到"]')
    # 4. bands not descending: 称职 starts above 优秀
    text = swap(text, 'name = "称职"\nmin_total = "80"', 'name = "称职"\nmin_total = "96"')
    return text


def test_a_broken_rules_file_lists_every_problem_with_its_place() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(_broken_text(), "other.toml")
    problems = caught.value.problems
    index = {item.code: n for n, item in enumerate(parse_rules(default_rules_text()).items)}
    late = f"items[{index['daily_late']}] (daily_late).points"
    early = f"items[{index['daily_early']}] (daily_early)"
    assert len(problems) == 4, problems
    assert any(p.startswith(late) and "decimal" in p for p in problems), problems
    assert any(p.startswith("items[0] (study_absent)") and "studying" in p for p in problems)
    assert any(p.startswith(early) and "'迟到'" in p and "daily_late" in p for p in problems)
    assert any(p.startswith("grades.bands") for p in problems), problems
    message = str(caught.value)
    assert "other.toml" in message and "4 处问题" in message


def test_each_cross_reference_problem_is_listed_on_its_own_line() -> None:
    text = swap(default_rules_text(), 'grade_cap = "基本称职"', 'grade_cap = "较差"')
    text = swap(
        text, 'reduced_grades = ["基本称职", "不称职"]', 'reduced_grades = ["基本称职", "差"]'
    )
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    assert caught.value.problems == [
        "veto.grade_cap: '较差' is not a band",
        "payout.reduced_grades: '差' is not a band",
    ]


def test_review_maxima_must_add_up_to_the_review_base() -> None:
    text = swap(default_rules_text(), 'header = "述职"\nmax = "10"', 'header = "述职"\nmax = "12"')
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    assert caught.value.problems == ["review.parts: the maxima must add up to the category base"]


def test_a_file_that_is_not_toml_is_refused_with_the_line() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules("[unit\nname = 1", "bad.toml")
    assert caught.value.problems[0].startswith("TOML:")
    assert "line 1" in caught.value.problems[0]


def test_a_missing_rules_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path / "nope.toml")
    assert "cannot read" in caught.value.problems[0]


def test_rules_check_exits_0_for_a_good_file_and_1_for_a_broken_one(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(default_rules_text(), "utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(_broken_text(), "utf-8")
    runs = run_cli_many(
        [
            CliCall(("rules", "check", str(good)), None, tmp_path),
            CliCall(("rules", "check", str(bad)), None, tmp_path),
        ]
    )
    ok, broken = runs
    assert ok.code == 0, ok.output
    assert "规则文件无误" in ok.stdout
    assert broken.code == 1
    assert "4 处问题" in broken.stderr
    assert "(daily_late).points" in broken.stderr and "grades.bands" in broken.stderr
    assert all("Traceback" not in r.output for r in runs)


def test_a_finding_counts_at_most_10_of_an_item_or_23_of_a_months_attendance(
    rules: Rules,
) -> None:
    assert rules.counts.max_per_finding == 10
    assert {code: rules.max_count(rules.item(code)) for code in rules.counts.items} == {
        "daily_late": 23, "daily_early": 23, "daily_absent": 23,
    }  # fmt: skip
    assert rules.max_count(rules.item("business_no_plan")) == 10


def test_rules_check_names_a_wrong_count_maximum(tmp_path: Path) -> None:
    text = swap(default_rules_text(), "daily_early = 23", "daily_erly = 23")
    text = swap(text, "max_per_finding = 10", "max_per_finding = 0")
    bad = tmp_path / "counts.toml"
    bad.write_text(text, "utf-8")
    [run] = run_cli_many([CliCall(("rules", "check", str(bad)), None, tmp_path)])
    assert run.code == 1 and "2 处问题" in run.stderr, run.output
    assert "counts.max_per_finding: Input should be greater than or equal to 1" in run.stderr
    assert "counts.items: unknown item 'daily_erly'" in run.stderr


# ------------------------------------------------------------------ another unit's plan
def _score_one_person_under_the_rules_in_force() -> tuple[Decimal | None, Decimal, Decimal]:
    """张三 is late once and gets a provincial honour: (daily score, bonus, total)."""
    engine = memory_engine()
    upgrade(engine)
    with Session(engine) as s:
        add_person(s, "张三", "办公室")
        s.commit()
    service = Service(engine, load_rules())
    service.record_finding("张三 迟到", fact_date=d("2026-03-02"), by="督查员", now=NOW)
    service.add_bonus(
        target="张三",
        kind="award",
        level="省级",
        title="先进个人",
        fact_date=d("2026-04-01"),
        by="管理员",
        now=NOW,
    )
    [me] = service.standings(Period.parse("2026H1"))
    engine.dispose()
    return me.categories["daily"].score, me.bonus, me.total


def test_another_units_rules_file_changes_the_scores_with_no_code_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the other unit: 迟到 costs 1 point, and the bonus cap is 5
    other = swap(
        default_rules_text(), 'name = "迟到"\npoints = "0.5"', 'name = "迟到"\npoints = "1"'
    )
    other = swap(other, 'cap = "10"', 'cap = "5"')
    path = tmp_path / "other-unit.toml"
    path.write_text(other, "utf-8")
    # the bundled plan: 100 - 0.5 + 8
    assert _score_one_person_under_the_rules_in_force() == (D("19.5"), D(8), D("107.5"))
    monkeypatch.setenv(RULES_ENV, str(path))
    # the other unit's plan: 100 - 1 + min(8, 5)
    assert _score_one_person_under_the_rules_in_force() == (D(19), D(5), D(104))
