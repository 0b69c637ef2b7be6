"""The duties' core: notices and their windows, spot checks, year-end proposals, finalize."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from scoring import duties
from scoring.errors import Conflict
from scoring.models import DutyRun, Entry, StudySubmission, YearLock
from scoring.periods import Period
from scoring.rules import Rules
from scoring.service import Service
from templates.views import Views
from tests.helpers import add_person, d, enter_review, small_bureau
from usecases.bulletins import notice_text

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 5, 10, 0, tzinfo=TZ)
BY = "李督查(办公室)"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def bureau(session: Session) -> dict[str, int]:
    """The small bureau of tests.helpers.small_bureau."""
    return small_bureau(session)


def record(service: Service, text: str, day: str) -> list[int]:
    _, rec = service.record_finding(text, fact_date=d(day), by=BY, now=NOW, source="bot")
    return rec.entry_ids


def submit(session: Session, person_id: int, kind: str, day: str, chars: int = 0) -> None:
    session.add(
        StudySubmission(person_id=person_id, kind=kind, chars=chars, fact_date=d(day),
                        recorded_at=NOW)
    )  # fmt: skip
    session.commit()


# ------------------------------------------------------------------ the quarterly notice
def third_quarter(service: Service) -> None:
    record(service, "冯科员 迟到", "2026-07-03")
    record(service, "执法监察科 未制定季度执法计划", "2026-08-10")
    [early] = record(service, "张三 早退", "2026-09-01")
    service.revoke(early, reason="查明已请假", by="周组长", now=NOW)
    record(service, "李四 旷工2天", "2026-09-15")
    record(service, "张三 迟到", "2026-06-30")  # the quarter before
    service.add_bonus(target="张三", kind="article", level="市级", title="应急演练报道",
                      fact_date=d("2026-08-20"), by="陈局", now=NOW)  # fmt: skip
    service.add_veto("李四", reason="对组织决定拒不服从或执行", fact_date=d("2026-09-20"),
                     by="周组长", now=NOW)  # fmt: skip


EXPECTED_NOTICE = """\
<b>某某单位 2026年第三季度扣分、处罚、奖励情况通报</b>
根据内部量化考核工作方案,现将2026年第三季度扣分、处罚、奖励情况通报如下。

<b>一、扣分情况</b>
【业务工作】共扣 9 分
执法监察科:
  • 张三 未按要求制定监管执法计划,扣 3 分(8月10日,科室共同承担)
  • 李四 未按要求制定监管执法计划,扣 3 分(8月10日,科室共同承担)
局领导:
  • 陈局 未按要求制定监管执法计划,扣 3 分(8月10日,分管领导)
【机关日常】共扣 4.5 分
办公室:
  • 冯科员 迟到,扣 0.5 分(7月3日)
执法监察科:
  • 李四 旷工 2天,扣 4 分(9月15日)

<b>二、处罚情况(一票否决)</b>
  • 李四(执法监察科):对组织决定拒不服从或执行(9月20日)

<b>三、奖励情况(加分)</b>
执法监察科:
  • 张三 信息稿件(市级):应急演练报道,加 2 分(8月20日)

公示期 5 个工作日,至10月12日止。如有异议,请点下方“申诉”,在私聊中选择要申诉的记录。"""


def test_quarter_notice_reads_as_the_plan_announces_it(
    session: Session, rules: Rules, service: Service, bureau: dict[str, int]
) -> None:
    third_quarter(service)
    notice = duties.quarter_notice(session, rules, Period.parse("2026Q3"))
    assert [c.name for c in notice.deductions] == ["业务工作", "机关日常"]
    assert Views().say(notice_text(rules, notice, d("2026-10-12"))) == EXPECTED_NOTICE


def test_an_empty_quarter_is_announced_as_such(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    notice = duties.quarter_notice(session, rules, Period.parse("2026Q1"))
    assert notice.empty
    text = Views().say(notice_text(rules, notice, d("2026-04-13")))
    assert "<b>一、扣分情况</b>\n无\n\n<b>二、处罚情况(一票否决)</b>\n无" in text


def test_a_person_sees_only_their_own_live_deductions_to_appeal(
    session: Session, rules: Rules, service: Service, bureau: dict[str, int]
) -> None:
    third_quarter(service)
    mine = duties.own_deductions(session, rules, Period.parse("2026Q3"), bureau["张三"])
    assert [(e.item_code, e.fact_date) for e in mine] == [("business_no_plan", d("2026-08-10"))]


# ------------------------------------------------------------------ windows and final
def test_a_period_is_final_once_every_quarter_is_noticed_and_its_window_closed(
    session: Session, rules: Rules
) -> None:
    h1 = Period.parse("2026H1")
    assert not duties.period_final(session, h1, d("2026-12-31"))
    duties.record_notice(session, rules.calendar, "2026Q1", now=at("2026-04-06 10:00"))
    assert not duties.period_final(session, h1, d("2026-12-31"))  # Q2 not yet noticed
    row = duties.record_notice(session, rules.calendar, "2026Q2", now=at("2026-07-06 10:00"))
    assert row.window_closes == d("2026-07-13")
    assert not duties.period_final(session, h1, d("2026-07-13"))  # last day of objections
    assert duties.period_final(session, h1, d("2026-07-14"))
    assert duties.period_final(session, Period.parse("2026Q1"), d("2026-07-14"))
    assert not duties.period_final(session, Period.parse("2026"), d("2026-07-14"))


# ------------------------------------------------------------------ spot checks
def test_a_month_counts_as_checked_when_a_deduction_is_dated_in_it(
    session: Session, service: Service, bureau: dict[str, int]
) -> None:
    assert duties.spot_checks(session, 2026, 7) == 0
    record(service, "冯科员 迟到", "2026-07-31")
    assert duties.spot_checks(session, 2026, 7) == 1
    assert duties.spot_checks(session, 2026, 8) == 0
    assert duties.spot_checks(session, 2026, 12) == 0


def test_a_confirmed_year_end_proposal_is_not_a_spot_check(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    card, _ = duties.open_proposal_cards(session, rules, 2026, now=at("2026-12-20 09:00"))[0]
    duties.confirm_proposal(session, rules, card.id, by=BY, by_id=1, now=at("2026-12-21 09:00"))
    session.commit()
    assert duties.spot_checks(session, 2026, 12) == 0


# ------------------------------------------------------------------ year-end proposals
def test_short_notes_and_missing_reflections_are_proposed(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    submit(session, bureau["冯科员"], "notes", "2026-03-01", 6000)
    submit(session, bureau["冯科员"], "notes", "2026-09-01", 4000)  # 10,000 in all: enough
    submit(session, bureau["冯科员"], "reflection", "2026-06-01")
    submit(session, bureau["冯科员"], "reflection", "2026-11-01")
    submit(session, bureau["张三"], "notes", "2026-05-01", 9999)
    submit(session, bureau["张三"], "reflection", "2026-05-01")
    submit(session, bureau["李四"], "notes", "2025-12-31", 20000)  # last year's notes
    found = {(p.name, p.item_code): (p.count, p.points, p.have, p.need)
             for p in duties.year_end_proposals(session, rules, 2026)}  # fmt: skip
    assert found == {
        ("张三", "study_notes_short"): (1, Decimal(2), 9999, 10000),
        ("张三", "study_reflection_missing"): (1, Decimal(1), 1, 2),
        ("李四", "study_notes_short"): (1, Decimal(2), 0, 10000),
        ("李四", "study_reflection_missing"): (2, Decimal(2), 0, 2),
        ("陈局", "study_notes_short"): (1, Decimal(2), 0, 10000),
        ("陈局", "study_reflection_missing"): (2, Decimal(2), 0, 2),
    }


def test_proposal_cards_are_opened_once(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    first = duties.open_proposal_cards(session, rules, 2026, now=at("2026-12-20 09:00"))
    again = duties.open_proposal_cards(session, rules, 2026, now=at("2026-12-20 09:01"))
    assert len(first) == 8 and [c.id for c, _ in again] == [c.id for c, _ in first]


def test_confirming_a_proposal_records_it_through_the_ledger_once(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    submit(session, bureau["李四"], "reflection", "2026-03-01")
    cards = duties.open_proposal_cards(session, rules, 2026, now=at("2026-12-20 09:00"))
    card = next(
        c for c, p in cards if (p.name, p.item_code) == ("李四", "study_reflection_missing")
    )
    out = duties.confirm_proposal(
        session, rules, card.id, by=BY, by_id=2, now=at("2026-12-21 09:00")
    )
    session.commit()
    entry = session.get(Entry, out.entry_ids[0])
    assert entry is not None
    assert (entry.source, entry.item_code, entry.count, entry.points_cp, entry.fact_date) == (
        "duty", "study_reflection_missing", 1, 100, d("2026-12-21"))  # fmt: skip
    with pytest.raises(Conflict, match="已确认"):
        duties.confirm_proposal(session, rules, card.id, by=BY, by_id=2, now=at("2026-12-21 09:01"))
    # the recorded deduction is not proposed again
    again = duties.year_end_proposals(session, rules, 2026)
    assert ("李四", "study_reflection_missing") not in {(p.name, p.item_code) for p in again}


def test_a_proposal_confirmed_in_january_is_dated_in_its_year(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    card, _ = duties.open_proposal_cards(session, rules, 2026, now=at("2026-12-20 09:00"))[0]
    out = duties.confirm_proposal(
        session, rules, card.id, by=BY, by_id=2, now=at("2027-01-04 09:00")
    )
    entry = session.get(Entry, out.entry_ids[0])
    assert entry is not None and entry.fact_date == d("2026-12-31")


def test_dismissing_a_proposal_records_nothing(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    card, _ = duties.open_proposal_cards(session, rules, 2026, now=at("2026-12-20 09:00"))[0]
    duties.dismiss_proposal(session, card.id, by=BY, by_id=2, now=at("2026-12-21 09:00"))
    assert session.exec(select(Entry)).all() == []
    with pytest.raises(Conflict, match="已驳回"):
        duties.confirm_proposal(session, rules, card.id, by=BY, by_id=2, now=at("2026-12-21 09:01"))


def test_a_proposal_made_obsolete_by_a_late_submission_records_nothing(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    cards = duties.open_proposal_cards(session, rules, 2026, now=at("2026-12-20 09:00"))
    card = next(c for c, p in cards if (p.name, p.item_code) == ("冯科员", "study_notes_short"))
    submit(session, bureau["冯科员"], "notes", "2026-12-22", 12000)
    out = duties.confirm_proposal(
        session, rules, card.id, by=BY, by_id=2, now=at("2026-12-23 09:00")
    )
    assert out.state == "obsolete" and session.exec(select(Entry)).all() == []


# ------------------------------------------------------------------ finalize
def reviews_for_all(session: Session, bureau: dict[str, int]) -> None:
    for pid in bureau.values():
        enter_review(session, pid, ("10", "5", "5"))
    session.commit()


def test_finalize_refuses_while_review_scores_are_missing_naming_who_lacks_what(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    enter_review(session, bureau["冯科员"], ("9", "5", "5"))
    with pytest.raises(
        Conflict,
        match=re.escape(
            "还有 3 人的述职测评分数未录入齐全,不能定案:\n"
            "  - 张三(执法监察科):缺述职、分管领导评分、班子综合评议(待陈局评分)\n  - 李四"
        ),
    ):
        duties.finalize_year(session, rules, 2026, by="周组长", now=at("2027-02-10 10:00"))
    assert session.get(YearLock, 2026) is None


def test_finalize_refuses_before_the_year_is_over(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    reviews_for_all(session, bureau)
    with pytest.raises(Conflict, match="尚未结束"):
        duties.finalize_year(session, rules, 2026, by="周组长", now=at("2026-12-31 23:00"))


def test_finalize_refuses_while_proposals_await_the_office(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    reviews_for_all(session, bureau)
    duties.open_proposal_cards(session, rules, 2026, now=at("2026-12-20 09:00"))
    with pytest.raises(Conflict, match="8 条年终扣分建议"):
        duties.finalize_year(session, rules, 2026, by="周组长", now=at("2027-02-10 10:00"))


def test_finalize_locks_the_year_once_and_is_idempotent(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    reviews_for_all(session, bureau)
    first = duties.finalize_year(session, rules, 2026, by="周组长", now=at("2027-02-10 10:00"))
    session.commit()
    again = duties.finalize_year(session, rules, 2026, by="别人", now=at("2027-02-11 10:00"))
    assert not first.already and again.already
    assert (again.locked_by, again.locked_at) == ("周组长", at("2027-02-10 10:00"))
    assert len(session.exec(select(YearLock)).all()) == 1


def test_a_locked_year_refuses_entries(
    session: Session, rules: Rules, service: Service, bureau: dict[str, int]
) -> None:
    reviews_for_all(session, bureau)
    duties.finalize_year(session, rules, 2026, by="周组长", now=at("2027-02-10 10:00"))
    session.commit()
    with pytest.raises(Conflict, match="2026年度考核已定案锁定"):
        record(service, "冯科员 迟到", "2026-12-30")
    record(service, "冯科员 迟到", "2027-02-11")  # the new year is open


def test_the_annual_result_marks_section_level_cadres_and_reduced_payouts(
    session: Session, rules: Rules, service: Service, bureau: dict[str, int]
) -> None:
    bureau["王五"] = add_person(session, "王五", "法规科")  # 5 people: 1 may be excellent
    for name, pid in bureau.items():
        enter_review(session, pid, ("10", "5", "5") if name != "李四" else ("5", "2", "2"))
    session.commit()
    for name in ("冯科员", "陈局", "王五"):
        record(service, f"{name} 迟到", "2026-03-02")
    record(service, "李四 旷工5天", "2026-05-06")  # 李四: 15+30+15+10+9 = 79
    result = duties.annual_result(session, rules, 2026)
    assert [(s.name, section) for s, section in result.excellent] == [("张三", True)]
    assert [s.name for s in result.section_level()] == ["张三"]
    assert [(s.name, s.grade) for s in result.reduced] == [("李四", "基本称职")]


# ------------------------------------------------------------------ the run book
def test_the_first_run_is_the_install_and_nothing_before_it_is_due(
    session: Session, rules: Rules
) -> None:
    now = at("2026-07-20 12:00")
    assert duties.duties_due(session, rules.calendar, TZ, now) == []
    assert duties.install_time(session, TZ) == now
    # 1 August 2026 is a Saturday: August's reminder falls on Monday 3 August
    later = duties.duties_due(session, rules.calendar, TZ, at("2026-08-03 09:00"))
    assert [x.key for x in later] == ["reminder:2026-08"]


def test_parts_are_noted_until_the_duty_is_done(session: Session) -> None:
    now = at("2026-07-05 10:00")
    duties.add_part(session, "bulletin:2026H1", "text1", now=now)
    duties.add_part(session, "bulletin:2026H1", "chart", now=now)
    assert duties.parts_done(session, "bulletin:2026H1") == {"text1", "chart"}
    assert not duties.is_done(session, "bulletin:2026H1")
    assert duties.mark_done(session, "bulletin:2026H1", now=now)
    assert not duties.mark_done(session, "bulletin:2026H1", now=now)
    assert [r.key for r in session.exec(select(DutyRun)).all()] == ["bulletin:2026H1"]
    assert set(duties.done_runs(session)) == {"bulletin:2026H1"}


def test_the_annual_bulletin_is_due_once_the_year_is_locked(session: Session, rules: Rules) -> None:
    duties.installed_at(session, at("2026-01-01 00:00"))
    session.add(YearLock(year=2026, locked_at=at("2027-02-10 10:00"), locked_by="周组长"))
    due = duties.duties_due(session, rules.calendar, TZ, at("2027-02-10 10:01"))
    assert "annual:2026" in [x.key for x in due]
    duties.mark_done(session, "annual:2026", now=at("2027-02-10 10:01"))
    due = duties.duties_due(session, rules.calendar, TZ, at("2027-02-10 10:02"))
    assert "annual:2026" not in [x.key for x in due]


def test_jobs_list_the_latest_and_next_duty_of_each_kind(session: Session, rules: Rules) -> None:
    duties.installed_at(session, at("2026-06-20 08:00"))
    duties.mark_done(session, "reminder:2026-07", now=at("2026-07-01 09:00"))
    rows = duties.job_rows(session, rules.calendar, TZ, at("2026-07-06 10:30"))
    status = {r.key: r.status for r in rows}
    assert status["reminder:2026-07"] == "done"
    assert status["bulletin:2026H1"] == "due"
    assert status["proposals:2025"] == "skipped"  # before the install
    assert status["reminder:2026-08"] == "scheduled"
    assert status["bulletin:2026H2"] == "scheduled"
    done = next(r for r in rows if r.key == "reminder:2026-07")
    assert done.done_at == at("2026-07-01 09:00")


def test_every_duty_kind_has_a_plan(rules: Rules) -> None:
    from scoring.calendar import KIND_NAMES, KINDS
    from scoring.vote import CLOSE, REMIND
    from usecases.duties import PLANS

    assert set(PLANS) == {*KINDS, "annual", REMIND, CLOSE} == set(KIND_NAMES)
