"""Standings on a real (in-memory) database: every scoring rule of reading.md, scored by hand."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from scoring.db import alembic_config
from scoring.errors import Conflict, InputError, NotFound
from scoring.ledger import entry_count
from scoring.models import Audit, Entry, VetoRecord, YearLock
from scoring.periods import Period
from scoring.rules import default_rules_text, parse_rules
from scoring.service import Service
from scoring.standings import Standing
from tests.helpers import NOW, add_person, by_name, d, enter_review

D = Decimal
Y2026 = Period.parse("2026")
H1 = Period.parse("2026H1")


@pytest.fixture
def staff(session: Session) -> dict[str, int]:
    """张三 (办公室), 李四 and 王五 (执法监察科), 赵局 who leads 执法监察科, 钱七 (法规科)."""
    ids = {
        "张三": add_person(session, "张三", "办公室"),
        "李四": add_person(session, "李四", "执法监察科"),
        "王五": add_person(session, "王五", "执法监察科"),
        "赵局": add_person(session, "赵局", "局领导", leads=("执法监察科",), roles="分管领导"),
        "钱七": add_person(session, "钱七", "法规科"),
    }
    session.commit()
    return ids


def record(service: Service, text: str, day: str = "2026-03-02") -> list[int]:
    """Record a finding as an inspector would; returns its entry ids."""
    return service.record_finding(text, fact_date=d(day), by="督查员", now=NOW)[1].entry_ids


def bonus(
    service: Service, target: str, kind: str, level: str, title: str, day: str = "2026-04-01"
) -> list[int]:
    """Record an approved bonus; returns its entry ids."""
    return service.add_bonus(
        target=target, kind=kind, level=level, title=title, fact_date=d(day), by="管理员", now=NOW
    ).entry_ids


def table(service: Service, period: Period = Y2026) -> dict[str, Standing]:
    return by_name(service.standings(period))


def score(s: Standing, code: str) -> Decimal | None:
    return s.categories[code].score


# ------------------------------------------------------------------ the schema
def test_the_migrations_build_exactly_the_tables_the_models_describe(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert compare_metadata(context, SQLModel.metadata) == []
        head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
        assert context.get_current_revision() == head


# ------------------------------------------------------------------ categories
def test_no_deductions_scores_every_category_at_its_base(
    service: Service, staff: dict[str, int]
) -> None:
    me = table(service)["张三"]
    assert {c: score(me, c) for c in ("study", "business", "central", "daily")} == {
        "study": 15,
        "business": 30,
        "central": 15,
        "daily": 20,
    }
    assert me.total == 100


def test_category_score_stops_at_zero(service: Service, staff: dict[str, int]) -> None:
    record(service, "王五 酗酒闹事 5次")  # 25 points from a category worth 20
    me = table(service)["王五"]
    assert me.categories["daily"].deducted == 25
    assert score(me, "daily") == 0
    # the other categories are untouched: 15 + 30 + 15 + 0 + 20 (review at its base)
    assert me.total == 80


def test_with_the_floor_switched_off_a_category_can_go_below_zero(
    engine: Engine, staff: dict[str, int]
) -> None:
    rules = parse_rules(
        default_rules_text().replace("floor_at_zero = true", "floor_at_zero = false")
    )
    assert rules.scoring.floor_at_zero is False
    service = Service(engine, rules)
    record(service, "王五 酗酒闹事 5次")
    me = table(service)["王五"]
    assert score(me, "daily") == -5
    assert me.total == 75


def test_deductions_add_up_within_a_category(service: Service, staff: dict[str, int]) -> None:
    record(service, "张三 迟到 3次", "2026-03-02")
    record(service, "张三 旷工 2天", "2026-03-03")
    record(service, "张三 无故不参加学习", "2026-03-04")
    me = table(service)["张三"]
    assert me.categories["daily"].deducted == D("5.5")  # 1.5 + 4
    assert score(me, "daily") == D("14.5")
    assert score(me, "study") == 14
    assert me.total == D("93.5")  # 14 + 30 + 15 + 14.5 + 20


# ------------------------------------------------------------------ who bears it
def test_a_department_charge_deducts_3_from_every_member_and_the_leader_in_charge(
    service: Service, staff: dict[str, int]
) -> None:
    ids = record(service, "执法监察科 未制定季度执法计划")
    assert len(ids) == 3
    t = table(service)
    for name in ("李四", "王五", "赵局"):
        assert t[name].categories["business"].deducted == 3, name
        assert score(t[name], "business") == 27
    assert score(t["张三"], "business") == 30
    assert score(t["钱七"], "business") == 30


def test_a_duty_incident_deducts_2_from_the_leader_and_1_from_each_member(
    service: Service, staff: dict[str, int]
) -> None:
    record(service, "带班:赵局 值班:李四、王五 信息不灵")
    t = table(service)
    assert score(t["赵局"], "daily") == 18
    assert score(t["李四"], "daily") == 19
    assert score(t["王五"], "daily") == 19


def test_every_entry_keeps_who_recorded_it_when_and_its_role(
    service: Service, staff: dict[str, int]
) -> None:
    record(service, "执法监察科 未制定季度执法计划")
    views = service.entries(Y2026)
    assert {(v.name, v.role, v.points) for v in views} == {
        ("李四", "科室共同承担", 3),
        ("王五", "科室共同承担", 3),
        ("赵局", "分管领导", 3),
    }
    assert all(v.recorded_by == "督查员" and v.fact_date == d("2026-03-02") for v in views)
    assert len({v.batch for v in views}) == 1


# ------------------------------------------------------------------ bonus
def test_bonus_items_add_up(service: Service, staff: dict[str, int]) -> None:
    bonus(service, "张三", "award", "市级", "优秀公务员")
    bonus(service, "张三", "article", "省级", "稿件一")
    me = table(service)["张三"]
    assert me.bonus == 8
    assert me.total == 108


def test_bonus_is_capped_at_10_after_adding_up(service: Service, staff: dict[str, int]) -> None:
    bonus(service, "张三", "award", "国家级", "全国先进个人")
    bonus(service, "张三", "article", "市级", "稿件一")
    me = table(service)["张三"]
    assert me.bonus_raw == 12
    assert me.bonus == 10
    assert me.total == 110


def test_a_department_honour_gives_every_member_the_points_but_not_the_leader(
    service: Service, staff: dict[str, int]
) -> None:
    ids = bonus(service, "执法监察科", "award", "市级", "先进集体")
    assert len(ids) == 2
    t = table(service)
    assert (t["李四"].bonus, t["王五"].bonus) == (5, 5)
    assert (t["赵局"].bonus, t["张三"].bonus, t["钱七"].bonus) == (0, 0, 0)


@pytest.mark.parametrize("first_second", [("市级", "省级"), ("省级", "市级")])
def test_the_same_honour_at_two_levels_counts_once_at_the_highest(
    first_second: tuple[str, str], service: Service, staff: dict[str, int]
) -> None:
    for level in first_second:
        bonus(service, "张三", "award", level, "优秀公务员")
    assert table(service)["张三"].bonus == 8  # not 5 + 8 = 13


def test_the_same_article_adopted_at_two_levels_counts_once_at_the_highest(
    service: Service, staff: dict[str, int]
) -> None:
    bonus(service, "张三", "article", "市级", "我局开展安全检查")
    bonus(service, "张三", "article", "省级", "我局开展安全检查")
    bonus(service, "张三", "article", "区级", "我局开展安全检查")
    assert table(service)["张三"].bonus == 3


def test_different_honours_at_the_same_level_both_count(
    service: Service, staff: dict[str, int]
) -> None:
    bonus(service, "张三", "award", "市级", "优秀公务员")
    bonus(service, "张三", "award", "市级", "抗洪先进个人")
    assert table(service)["张三"].bonus == 10


def test_a_personal_and_a_department_honour_with_the_same_title_count_once(
    service: Service, staff: dict[str, int]
) -> None:
    bonus(service, "执法监察科", "award", "市级", "先进集体")
    bonus(service, "李四", "award", "省级", "先进集体")
    t = table(service)
    assert (t["李四"].bonus, t["王五"].bonus) == (8, 5)


def test_an_article_cannot_go_to_a_whole_department(
    service: Service, staff: dict[str, int]
) -> None:
    with pytest.raises(InputError, match="只能加给个人"):
        bonus(service, "执法监察科", "article", "市级", "稿件")


def test_a_bonus_level_the_kind_does_not_have_is_refused(
    service: Service, staff: dict[str, int]
) -> None:
    with pytest.raises(InputError, match="国家级、省级、市级"):
        bonus(service, "张三", "award", "区级", "优秀公务员")


# ------------------------------------------------------------------ review
def test_review_is_null_before_it_is_entered_and_counted_at_its_base(
    service: Service, staff: dict[str, int]
) -> None:
    me = table(service)["张三"]
    assert score(me, "review") is None
    assert me.review_estimated
    assert me.total == 100


def test_review_counts_only_in_the_annual_period(
    service: Service, session: Session, staff: dict[str, int]
) -> None:
    enter_review(session, staff["张三"], ("9", "4", "3.5"))
    session.commit()
    year = table(service, Y2026)["张三"]
    assert score(year, "review") == D("16.5")
    assert not year.review_estimated
    assert year.total == D("96.5")
    half = table(service, H1)["张三"]
    assert score(half, "review") is None
    assert half.review_estimated


def test_review_import_checks_the_10_5_5_maxima_and_writes_nothing_on_error(
    service: Service, staff: dict[str, int], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,述职,分管领导评分,班子评议\n张三,10,5,5\n李四,10,5.5,5\n", "utf-8")
    with pytest.raises(InputError) as caught:
        service.import_reviews(bad, year=2026, now=NOW, actor="管理员")
    assert "第3行 分管领导评分" in caught.value.message
    assert score(table(service)["张三"], "review") is None
    good = tmp_path / "good.csv"
    good.write_text("姓名,述职,分管领导评分,班子评议\n张三,10,5,5\n李四,8,4.5,4\n", "utf-8")
    assert service.import_reviews(good, year=2026, now=NOW, actor="管理员") == 2
    t = table(service)
    assert (score(t["张三"], "review"), score(t["李四"], "review")) == (20, D("16.5"))
    assert score(t["王五"], "review") is None


# ------------------------------------------------------------------ totals and ranks
def test_total_is_the_sum_of_the_five_categories_and_the_bonus(
    service: Service, session: Session, staff: dict[str, int]
) -> None:
    enter_review(session, staff["李四"], ("8", "4", "4"))
    session.commit()
    record(service, "李四 无故不参加学习 2次")  # study 13
    record(service, "执法监察科 报表迟报")  # business 29
    record(service, "李四 招商引资少参加")  # central 14
    record(service, "李四 早退")  # daily 19.5
    bonus(service, "李四", "article", "区级", "稿件")  # bonus 1
    me = table(service)["李四"]
    parts = [score(me, c) for c in ("study", "business", "central", "daily", "review")]
    assert parts == [13, 29, 14, D("19.5"), 16]
    assert me.total == D("92.5")  # 13 + 29 + 14 + 19.5 + 16 + 1


def test_equal_totals_share_a_rank_and_the_next_rank_skips(
    service: Service, staff: dict[str, int]
) -> None:
    record(service, "李四、王五 迟到")  # 99.5 each
    record(service, "赵局 迟到 2次")  # 99
    record(service, "钱七 迟到 3次")  # 98.5
    t = table(service)
    ranks = {n: t[n].rank for n in ("张三", "李四", "王五", "赵局", "钱七")}
    assert ranks == {"张三": 1, "李四": 2, "王五": 2, "赵局": 4, "钱七": 5}
    assert service.standings(Y2026)[0].name == "张三"


# ------------------------------------------------------------------ periods
def test_first_half_deductions_carry_into_the_annual_result(
    service: Service, staff: dict[str, int]
) -> None:
    record(service, "张三 迟到", "2026-03-02")
    record(service, "张三 旷工", "2026-09-15")
    assert score(table(service, H1)["张三"], "daily") == D("19.5")
    assert score(table(service, Period.parse("2026H2"))["张三"], "daily") == 18
    assert score(table(service, Y2026)["张三"], "daily") == D("17.5")


def test_a_quarter_counts_only_facts_dated_in_it(service: Service, staff: dict[str, int]) -> None:
    record(service, "张三 迟到", "2026-03-31")
    record(service, "张三 早退", "2026-04-01")
    assert score(table(service, Period.parse("2026Q1"))["张三"], "daily") == D("19.5")
    assert score(table(service, Period.parse("2026Q2"))["张三"], "daily") == D("19.5")
    assert score(table(service, Period.parse("2027"))["张三"], "daily") == 20


def test_inactive_people_are_not_assessed(service: Service, session: Session) -> None:
    add_person(session, "在岗", "办公室")
    add_person(session, "调走", "办公室", active=False)
    session.commit()
    assert [s.name for s in service.standings(Y2026)] == ["在岗"]


# ------------------------------------------------------------------ revocation
def test_a_revoked_entry_no_longer_counts_but_stays_in_the_ledger(
    service: Service, session: Session, staff: dict[str, int]
) -> None:
    [kept] = record(service, "张三 迟到", "2026-03-02")
    [wrong] = record(service, "张三 旷工 2天", "2026-03-03")
    assert score(table(service)["张三"], "daily") == D("15.5")
    rev = service.revoke(wrong, reason="当天已请假,误记", by="管理员", now=NOW)
    assert score(table(service)["张三"], "daily") == D("19.5")
    views = {v.id: v for v in service.entries(Y2026)}
    assert set(views) == {kept, wrong}
    assert views[wrong].revoked_by == rev
    assert views[wrong].revoke_reason == "当天已请假,误记"
    assert views[wrong].points == 4
    assert views[kept].revoked_by is None
    revocation = session.get(Entry, rev)
    assert revocation is not None and revocation.revokes_id == wrong
    assert session.exec(select(Audit).where(Audit.action == "revoke")).one()


def test_revoking_a_bonus_restores_the_lower_level_of_the_same_honour(
    service: Service, staff: dict[str, int]
) -> None:
    bonus(service, "张三", "award", "市级", "优秀公务员")
    [provincial] = bonus(service, "张三", "award", "省级", "优秀公务员")
    assert table(service)["张三"].bonus == 8
    service.revoke(provincial, reason="文件未到", by="管理员", now=NOW)
    assert table(service)["张三"].bonus == 5


def test_revoking_twice_is_refused(
    service: Service, session: Session, staff: dict[str, int]
) -> None:
    [entry] = record(service, "张三 迟到")
    service.revoke(entry, reason="误记", by="管理员", now=NOW)
    before = entry_count(session)
    with pytest.raises(Conflict, match="已于"):
        service.revoke(entry, reason="再撤一次", by="管理员", now=NOW)
    assert entry_count(session) == before


def test_a_revocation_needs_a_reason_and_an_existing_entry(
    service: Service, staff: dict[str, int]
) -> None:
    [entry] = record(service, "张三 迟到")
    with pytest.raises(InputError, match="原因"):
        service.revoke(entry, reason="  ", by="管理员", now=NOW)
    with pytest.raises(NotFound):
        service.revoke(999, reason="误记", by="管理员", now=NOW)
    with pytest.raises(NotFound):  # a typo too long for any database integer
        service.revoke(10**20, reason="误记", by="管理员", now=NOW)
    assert score(table(service)["张三"], "daily") == D("19.5")


# ------------------------------------------------------------------ locked years
def test_a_locked_year_refuses_record_revoke_bonus_and_veto(
    service: Service, session: Session, staff: dict[str, int]
) -> None:
    [entry] = record(service, "张三 迟到", "2026-03-02")
    session.add(YearLock(year=2026, locked_at=datetime(2027, 2, 28, tzinfo=NOW.tzinfo)))
    session.commit()
    before = entry_count(session)
    with pytest.raises(Conflict, match="2026年度"):
        record(service, "李四 迟到", "2026-12-31")
    with pytest.raises(Conflict, match="2026年度"):
        service.revoke(entry, reason="误记", by="管理员", now=NOW)
    with pytest.raises(Conflict, match="2026年度"):
        bonus(service, "张三", "award", "市级", "优秀公务员", "2026-05-01")
    with pytest.raises(Conflict, match="2026年度"):
        service.add_veto(
            "张三",
            reason="对组织决定拒不服从或执行",
            fact_date=d("2026-05-01"),
            by="考核领导小组",
            now=NOW,
        )
    assert entry_count(session) == before
    assert session.exec(select(VetoRecord)).all() == []
    assert table(service)["张三"].total == D("99.5")
    # the next year is still open
    record(service, "李四 迟到", "2027-01-04")
