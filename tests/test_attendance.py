"""Attendance exports become proposal cards the office confirms or dismisses (the core)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from fakes.exports import dingtalk_xlsx, wecom_csv
from scoring import attendance
from scoring.attendance import (
    AttendanceImport,
    confirm_attendance,
    dismiss_attendance,
    import_attendance,
    pending_attendance,
    proposal_of,
)
from scoring.errors import Conflict, InputError, RulesError
from scoring.models import Entry, YearLock
from scoring.periods import Period
from scoring.rules import Rules, default_rules_text, parse_rules
from scoring.service import Service
from scoring.standings import compute_standings
from tests.helpers import add_person, by_name

TZ = ZoneInfo("Asia/Shanghai")
APRIL = datetime(2026, 4, 2, 10, 0, tzinfo=TZ)
FILE = "3月考勤月度汇总.xlsx"


@pytest.fixture
def bureau(session: Session) -> dict[str, int]:
    """张三 in the office, 李四 and 王五 in 执法监察科, two 刘洋, 钱七 in 法规科."""
    people = [("张三", "办公室"), ("李四", "执法监察科"), ("王五", "执法监察科"),
              ("刘洋", "办公室"), ("刘洋", "法规科"), ("钱七", "法规科")]  # fmt: skip
    ids = {f"{n}({d})": add_person(session, n, d) for n, d in people}
    session.commit()
    return ids


def proposals(result: AttendanceImport) -> list[tuple[str, str, int, Decimal]]:
    return [(p.label, p.item_name, p.count, p.points) for _, p in result.opened]


def imported(session: Session, rules: Rules, data: bytes | None = None, name: str = FILE,
             month: str | None = None) -> AttendanceImport:  # fmt: skip
    """The 钉钉 export (or the file given) imported on 2 April 2026."""
    return import_attendance(session, rules, dingtalk_xlsx() if data is None else data, name,
                             by="李督查", now=APRIL, month=month)  # fmt: skip


# ------------------------------------------------------------------ reading exports
def test_a_dingtalk_monthly_summary_becomes_one_card_per_person_and_item(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    result = imported(session, rules)
    assert result.month == "2026-03"  # from 统计日期 in the merged title
    assert result.people == 6
    assert proposals(result) == [
        ("张三(办公室)", "迟到", 2, Decimal("1")),
        ("李四(执法监察科)", "旷工", 1, Decimal("2")),
        ("李四(执法监察科)", "早退", 1, Decimal("0.5")),
        ("刘洋(法规科)", "迟到", 3, Decimal("1.5")),  # the department tells the two 刘洋 apart
    ]
    assert [(u.line, u.name, u.reason, u.detail) for u in result.unmatched] == [
        (8, "赵六", "unknown", ""),
        (9, "王五", "department", "执法监察科"),
    ]
    assert session.exec(select(Entry)).all() == []  # nothing recorded by itself


def test_a_card_carries_the_month_and_the_file_with_its_sha256(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    data = dingtalk_xlsx()
    card, p = imported(session, rules, data).opened[0]
    assert card.kind == "attendance" and card.person_id == bureau["张三(办公室)"]
    assert (p.month, p.file_name, p.line) == ("2026-03", FILE, 5)
    assert p.sha256 == hashlib.sha256(data).hexdigest()


def test_a_wecom_monthly_report_in_gb18030_csv_with_a_two_row_header(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    result = imported(session, rules, wecom_csv(), "打卡月报.csv")
    assert result.month == "2026-03"
    assert result.people == 3
    # 刘洋 of the office: 早退 1 is proposed; 旷工 0.5 天 is not a count, it is reported
    assert proposals(result) == [
        ("张三(办公室)", "迟到", 1, Decimal("0.5")),
        ("刘洋(办公室)", "早退", 1, Decimal("0.5")),
    ]
    unread = [(u.line, u.reason, u.detail) for u in result.unmatched]
    assert unread == [(7, "value", "旷工天数:0.5")]


def test_a_name_shared_without_a_department_column_is_not_guessed(
    session: Session, bureau: dict[str, int]
) -> None:
    text = default_rules_text().replace('department_headers = ["部门", "科室", "所属部门"]',
                                        "department_headers = []")  # fmt: skip
    result = imported(session, parse_rules(text))
    assert ("刘洋", "ambiguous") in [(u.name, u.reason) for u in result.unmatched]
    assert ("王五(执法监察科)", "迟到", 1, Decimal("0.5")) in proposals(result)  # one 王五: matched


def test_a_person_on_two_rows_gets_one_card_with_the_counts_added(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    two_groups = dingtalk_xlsx(
        [("张三", "办公室", 1, None, None), ("张三", "办公室", 2, None, None)]
    )
    assert proposals(imported(session, rules, two_groups)) == [
        ("张三(办公室)", "迟到", 3, Decimal("1.5"))
    ]


def test_the_column_mapping_is_rules_data(session: Session, bureau: dict[str, int]) -> None:
    text = default_rules_text().replace('headers = ["迟到次数"]', 'headers = ["严重迟到次数"]')
    result = imported(session, parse_rules(text))
    assert [x for x in proposals(result) if x[1] == "迟到"] == []  # 严重迟到次数 is blank


def test_an_attendance_column_must_name_a_known_item_counted_per_person() -> None:
    with pytest.raises(RulesError, match=r"attendance.columns\[0\]: unknown item 'late'"):
        parse_rules(default_rules_text().replace('item = "daily_late"', 'item = "late"'))
    with pytest.raises(RulesError, match=r"attendance.columns\[0\]: daily_duty_incident"):
        parse_rules(
            default_rules_text().replace('item = "daily_late"', 'item = "daily_duty_incident"')
        )


def test_a_file_without_the_header_is_refused(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    with pytest.raises(InputError, match="找不到考勤表头"):
        imported(session, rules, "姓名,科室\n张三,办公室\n".encode(), "x.csv")


def test_the_month_is_asked_for_when_the_title_has_none(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    data = dingtalk_xlsx(period="报表生成时间:2026-04-01 10:15")  # not the month it covers
    with pytest.raises(InputError, match="--month 2026-03"):
        imported(session, rules, data)
    assert imported(session, rules, data, month="2026年2月").month == "2026-02"


def test_a_month_not_yet_begun_is_refused(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    with pytest.raises(InputError, match="2026-05"):
        imported(session, rules, month="2026-05")


def test_a_card_shows_what_is_already_recorded_for_the_month(
    session: Session, rules: Rules, bureau: dict[str, int], service: Service
) -> None:
    service.record_finding("张三 迟到", fact_date=date(2026, 3, 9), by="李督查", now=APRIL)
    service.record_finding("张三 迟到", fact_date=date(2026, 4, 1), by="李督查", now=APRIL)
    [p] = [p for _, p in imported(session, rules).opened if p.name == "张三"]
    assert p.recorded == 1  # the spot check of 9 March; April's is another month


# ------------------------------------------------------------------ twice, and again
def test_importing_the_same_file_twice_proposes_nothing_new(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    first = imported(session, rules)
    again = imported(session, rules)
    assert again.opened == [] and again.changed == []
    assert len(again.already) == len(first.opened) == 4
    assert len(pending_attendance(session)) == 4


def test_another_export_of_the_month_with_other_counts_is_reported_not_carded(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    imported(session, rules)
    result = imported(session, rules, wecom_csv(), "打卡月报.csv")
    # 张三 迟到: 1 here, 2 on the card already open; 刘洋 of the office is new
    assert [(p.label, p.count, proposal_of(c).count) for p, c in result.changed] == [
        ("张三(办公室)", 1, 2)
    ]
    assert proposals(result) == [("刘洋(办公室)", "早退", 1, Decimal("0.5"))]


# ------------------------------------------------------------------ confirm or dismiss
def test_confirming_records_through_the_ledger_with_the_sha256_as_evidence(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    data = dingtalk_xlsx()
    result = imported(session, rules, data)
    card, _ = result.opened[0]
    done = confirm_attendance(session, rules, card.id, by="李督查", by_id=None, now=APRIL)
    [entry] = session.exec(select(Entry)).all()
    assert done.entry_ids == (entry.id,)
    assert (entry.person_id, entry.item_code, entry.count, entry.points_cp) == (
        bureau["张三(办公室)"], "daily_late", 2, 100
    )  # fmt: skip
    assert entry.source == "attendance"
    assert entry.evidence == hashlib.sha256(data).hexdigest()
    assert entry.fact_date == date(2026, 3, 31)  # the month's last day
    assert FILE in entry.note and entry.recorded_by == "李督查"
    assert [c.id for c, _ in pending_attendance(session)] == [c.id for c, _ in result.opened[1:]]
    session.commit()
    standing = by_name(compute_standings(session, rules, Period.parse("2026Q1")))["张三"]
    assert standing.categories["daily"].deducted == Decimal("1")


def test_a_card_is_decided_once(session: Session, rules: Rules, bureau: dict[str, int]) -> None:
    (first, _), (second, _) = imported(session, rules).opened[:2]
    confirm_attendance(session, rules, first.id, by="李督查", by_id=None, now=APRIL)
    with pytest.raises(Conflict, match="已确认"):
        confirm_attendance(session, rules, first.id, by="李督查", by_id=None, now=APRIL)
    with pytest.raises(Conflict, match="已确认"):
        dismiss_attendance(session, first.id, by="李督查", by_id=None, now=APRIL)
    dismiss_attendance(session, second.id, by="李督查", by_id=None, now=APRIL)
    with pytest.raises(Conflict, match="已驳回"):
        confirm_attendance(session, rules, second.id, by="李督查", by_id=None, now=APRIL)
    assert len(session.exec(select(Entry)).all()) == 1


def test_a_dismissed_card_is_not_proposed_again_by_the_same_file(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    for card, _ in imported(session, rules).opened:
        dismiss_attendance(session, card.id, by="李督查", by_id=None, now=APRIL)
    assert imported(session, rules).opened == []
    assert session.exec(select(Entry)).all() == []


def test_a_card_of_a_finalized_year_cannot_be_confirmed(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    card, _ = imported(session, rules).opened[0]
    session.add(YearLock(year=2026, locked_at=APRIL, locked_by="周组长"))
    with pytest.raises(Conflict, match="定案"):
        confirm_attendance(session, rules, card.id, by="李督查", by_id=None, now=APRIL)
    with pytest.raises(Conflict, match="定案"):
        imported(session, rules)


def test_a_month_still_running_is_dated_the_day_of_confirming(
    session: Session, rules: Rules, bureau: dict[str, int]
) -> None:
    card, _ = imported(session, rules, month="2026-04").opened[0]
    confirm_attendance(session, rules, card.id, by="李督查", by_id=None, now=APRIL)
    [entry] = session.exec(select(Entry)).all()
    assert entry.fact_date == date(2026, 4, 2)


def test_the_attendance_core_never_reads_the_clock() -> None:
    import inspect

    source = inspect.getsource(attendance)
    assert ".now(" not in source and "today(" not in source
