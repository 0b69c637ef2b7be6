"""The finding parser, as inspectors write findings, against an in-memory roster."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scoring.errors import AmbiguousPerson, ParseError, UnknownItem, UnknownPerson
from scoring.parser import Finding, parse_finding
from scoring.rules import Rules
from tests.helpers import MemoryRoster

D = Decimal


@pytest.fixture
def roster() -> MemoryRoster:
    """Seven people; two are called 刘洋; 赵局 leads 执法监察科."""
    return MemoryRoster.of(
        [
            ("张三", "办公室"),
            ("李四", "执法监察科"),
            ("王五", "执法监察科"),
            ("赵局", "局领导"),
            ("刘洋", "办公室"),
            ("刘洋", "法规科"),
            ("钱七", "法规科"),
        ],
        leads={("赵局", "局领导"): ("执法监察科",)},
    )


def charges(finding: Finding) -> dict[str, tuple[Decimal, str]]:
    """Who bears what: {label: (points, role)}."""
    return {c.person.label: (c.points, c.role) for c in finding.charges}


def parse(text: str, rules: Rules, roster: MemoryRoster) -> Finding:
    return parse_finding(text, rules=rules, roster=roster)


# ------------------------------------------------------------------ people and items
def test_a_person_and_an_item_deducts_the_item_points_once(
    rules: Rules, roster: MemoryRoster
) -> None:
    f = parse("张三 迟到", rules, roster)
    assert f.item.code == "daily_late"
    assert f.count == 1
    assert charges(f) == {"张三(办公室)": (D("0.5"), "本人")}
    assert f.department is None


def test_several_people_separated_by_a_pause_mark_each_bear_the_item(
    rules: Rules, roster: MemoryRoster
) -> None:
    f = parse("张三、李四 早退", rules, roster)
    assert f.item.code == "daily_early"
    assert charges(f) == {
        "张三(办公室)": (D("0.5"), "本人"),
        "李四(执法监察科)": (D("0.5"), "本人"),
    }
    assert f.total_points == 1


@pytest.mark.parametrize("sep", [",", ",", ";", "/", " "])
def test_other_separators_between_people_work_too(
    sep: str, rules: Rules, roster: MemoryRoster
) -> None:
    f = parse(f"张三{sep}李四 早退", rules, roster)
    assert set(charges(f)) == {"张三(办公室)", "李四(执法监察科)"}


def test_absence_is_counted_by_day_two_days_cost_4_points(
    rules: Rules, roster: MemoryRoster
) -> None:
    f = parse("王五 旷工2天", rules, roster)
    assert (f.item.code, f.count) == ("daily_absent", 2)
    assert charges(f) == {"王五(执法监察科)": (D(4), "本人")}


@pytest.mark.parametrize(
    ("text", "count", "points"),
    [
        ("王五 旷工两天", 2, "4"),
        ("王五 旷工三天", 3, "6"),
        ("王五 迟到两次", 2, "1"),
        ("王五 迟到十二次", 12, "6"),
        ("王五 迟到二十一次", 21, "10.5"),
        ("王五 迟到 3次", 3, "1.5"),
        ("王五 迟到 3", 3, "1.5"),
        ("王五 迟到 两次", 2, "1"),
        ("王五 迟到3回", 3, "1.5"),
    ],
)
def test_counts_in_arabic_or_chinese_numerals_multiply_the_points(
    text: str, count: int, points: str, rules: Rules, roster: MemoryRoster
) -> None:
    f = parse(text, rules, roster)
    assert f.count == count
    assert charges(f)["王五(执法监察科)"][0] == D(points)


def test_full_width_digits_brackets_and_colons_read_like_half_width(
    rules: Rules, roster: MemoryRoster
) -> None:
    assert parse("张三 迟到 ３次", rules, roster).count == 3
    assert parse("张三　迟到２次", rules, roster).count == 2  # ideographic space
    f = parse("刘洋（法规科） 迟到", rules, roster)
    assert charges(f) == {"刘洋(法规科)": (D("0.5"), "本人")}
    f = parse("带班：赵局 值班：李四 信息不灵", rules, roster)
    assert charges(f)["赵局(局领导)"] == (D(2), "带班领导")


def test_a_name_glued_to_the_item_is_read(rules: Rules, roster: MemoryRoster) -> None:
    assert charges(parse("张三迟到", rules, roster)) == {"张三(办公室)": (D("0.5"), "本人")}


# ------------------------------------------------------------------ names
def test_a_shared_name_with_its_department_names_one_person(
    rules: Rules, roster: MemoryRoster
) -> None:
    f = parse("刘洋(办公室) 迟到", rules, roster)
    assert charges(f) == {"刘洋(办公室)": (D("0.5"), "本人")}


def test_a_shared_name_alone_is_refused_listing_both_departments(
    rules: Rules, roster: MemoryRoster
) -> None:
    with pytest.raises(AmbiguousPerson) as caught:
        parse("刘洋 迟到", rules, roster)
    assert [s.text for s in caught.value.suggestions] == ["刘洋(办公室)", "刘洋(法规科)"]
    assert "刘洋(办公室)" in caught.value.message and "刘洋(法规科)" in caught.value.message


def test_an_unknown_name_close_in_characters_is_suggested(
    rules: Rules, roster: MemoryRoster
) -> None:
    with pytest.raises(UnknownPerson) as caught:
        parse("钱七七 迟到", rules, roster)
    assert caught.value.suggestions[0].text == "钱七(法规科)"
    assert "钱七(法规科)" in caught.value.message


def test_an_unknown_name_that_sounds_alike_is_suggested_by_pinyin(
    rules: Rules, roster: MemoryRoster
) -> None:
    # 张山 and 张三 share one character of two, but read zhangshan / zhangsan
    with pytest.raises(UnknownPerson) as caught:
        parse("张山 迟到", rules, roster)
    assert caught.value.suggestions[0].text == "张三(办公室)"
    with pytest.raises(UnknownPerson) as caught:
        parse("lisi 迟到", rules, roster)
    assert caught.value.suggestions[0].text == "李四(执法监察科)"


def test_an_unknown_name_like_no_one_gets_no_suggestion(rules: Rules, roster: MemoryRoster) -> None:
    with pytest.raises(UnknownPerson) as caught:
        parse("Bob 迟到", rules, roster)
    assert caught.value.suggestions == []
    assert "Bob" in caught.value.message


def test_a_name_written_twice_is_refused(rules: Rules, roster: MemoryRoster) -> None:
    with pytest.raises(ParseError, match="张三写了两次"):
        parse("张三、张三 迟到", rules, roster)


# ------------------------------------------------------------------ items and counts
def test_an_unknown_item_suggests_close_items(rules: Rules, roster: MemoryRoster) -> None:
    with pytest.raises(UnknownItem) as caught:
        parse("张三 迟倒", rules, roster)
    assert "迟到" in [s.text for s in caught.value.suggestions]
    assert "迟倒" in caught.value.message and "迟到" in caught.value.message


def test_an_unknown_item_with_a_count_names_the_word_without_the_count(
    rules: Rules, roster: MemoryRoster
) -> None:
    with pytest.raises(UnknownItem) as caught:
        parse("王五 旷班2天", rules, roster)
    assert caught.value.word == "旷班"


@pytest.mark.parametrize("text", ["张三 迟到2天", "王五 旷工2次", "王五 旷工 3篇"])
def test_a_count_in_the_wrong_unit_is_refused(
    text: str, rules: Rules, roster: MemoryRoster
) -> None:
    with pytest.raises(ParseError, match="计"):
        parse(text, rules, roster)


def test_a_yearly_item_cannot_be_counted_more_than_once(rules: Rules, roster: MemoryRoster) -> None:
    assert parse("张三 笔记不足一万字", rules, roster).total_points == 2
    with pytest.raises(ParseError, match="每年只扣一次"):
        parse("张三 笔记不足一万字 2次", rules, roster)


@pytest.mark.parametrize("text", ["张三 迟到 0次", "张三 迟到 零次", "张三 迟到0次"])
def test_a_count_of_zero_is_refused(text: str, rules: Rules, roster: MemoryRoster) -> None:
    with pytest.raises(ParseError, match="不对"):
        parse(text, rules, roster)


@pytest.mark.parametrize(
    ("text", "maximum"),
    [
        ("张三 未制定季度执法计划 九十九次", "10 次"),  # 297 points in one entry
        ("张三 未制定季度执法计划11次", "10 次"),
        ("张三 不服从安排 十一项", "10 项"),
        ("张三 迟到 24次", "23 次"),  # a month's tally has its own maximum
        ("张三 旷工 一百天", "23 天"),
        ("张三 迟到 99999999999999999999次", "23 次"),
    ],
)
def test_a_count_above_the_items_maximum_is_refused_naming_the_maximum(
    text: str, maximum: str, rules: Rules, roster: MemoryRoster
) -> None:
    with pytest.raises(ParseError, match=f"最多 {maximum}"):
        parse(text, rules, roster)


def test_a_count_up_to_the_items_maximum_is_read(rules: Rules, roster: MemoryRoster) -> None:
    assert parse("张三 未制定季度执法计划 十次", rules, roster).total_points == 30
    assert parse("张三 迟到 23次", rules, roster).count == 23


@pytest.mark.parametrize(
    "text",
    [
        "张三 迟到 ²次",
        "张三 迟到²次",
        "张三 迟到 ₃",
        "张三 迟到 ②次",
        "张三 迟到 ٣次",
        "张三 迟到⒉",
    ],
)
def test_only_real_digits_and_chinese_numerals_count(
    text: str, rules: Rules, roster: MemoryRoster
) -> None:
    with pytest.raises(ParseError, match="0-9"):
        parse(text, rules, roster)


def test_a_count_written_twice_is_refused(rules: Rules, roster: MemoryRoster) -> None:
    with pytest.raises(ParseError, match="两遍"):
        parse("张三 迟到2次 3次", rules, roster)


@pytest.mark.parametrize("text", ["", "   ", "迟到", "张三"])
def test_a_finding_without_a_person_or_an_item_is_refused(
    text: str, rules: Rules, roster: MemoryRoster
) -> None:
    with pytest.raises(ParseError):
        parse(text, rules, roster)


# ------------------------------------------------------------------ departments
def test_a_department_charge_is_borne_in_full_by_every_member_and_its_leader(
    rules: Rules, roster: MemoryRoster
) -> None:
    f = parse("执法监察科 未制定季度执法计划", rules, roster)
    assert f.item.code == "business_no_plan"
    assert f.department == "执法监察科"
    assert charges(f) == {
        "李四(执法监察科)": (D(3), "科室共同承担"),
        "王五(执法监察科)": (D(3), "科室共同承担"),
        "赵局(局领导)": (D(3), "分管领导"),
    }
    assert f.total_points == 9


def test_a_department_charge_of_a_non_business_item_is_refused(
    rules: Rules, roster: MemoryRoster
) -> None:
    with pytest.raises(ParseError, match="只能记到个人"):
        parse("执法监察科 迟到", rules, roster)


# ------------------------------------------------------------------ duty incidents
def test_a_duty_incident_costs_the_leader_2_and_each_member_1(
    rules: Rules, roster: MemoryRoster
) -> None:
    f = parse("带班:赵局 值班:李四、王五 信息不灵", rules, roster)
    assert f.item.code == "daily_duty_incident"
    assert charges(f) == {
        "赵局(局领导)": (D(2), "带班领导"),
        "李四(执法监察科)": (D(1), "值班组员"),
        "王五(执法监察科)": (D(1), "值班组员"),
    }


def test_a_duty_incident_counted_twice_doubles_every_share(
    rules: Rules, roster: MemoryRoster
) -> None:
    f = parse("带班:赵局 值班:李四 记录不清 2项", rules, roster)
    assert charges(f) == {
        "赵局(局领导)": (D(4), "带班领导"),
        "李四(执法监察科)": (D(2), "值班组员"),
    }


def test_a_duty_incident_without_its_leader_is_refused(rules: Rules, roster: MemoryRoster) -> None:
    with pytest.raises(ParseError, match="带班"):
        parse("李四 信息不灵", rules, roster)
    with pytest.raises(ParseError, match="带班"):
        parse("值班:李四 信息不灵", rules, roster)


def test_duty_prefixes_on_an_ordinary_item_are_refused(rules: Rules, roster: MemoryRoster) -> None:
    with pytest.raises(ParseError, match="只用于值班失误"):
        parse("带班:张三 迟到", rules, roster)


def test_a_person_named_as_duty_leader_and_member_is_refused(
    rules: Rules, roster: MemoryRoster
) -> None:
    with pytest.raises(ParseError, match="写了两次"):
        parse("带班:赵局 值班:赵局 信息不灵", rules, roster)
