"""Rules and safeguards found in review: yearly limits, who is assessed when, vetoes taken
back, the quota with a vetoed top scorer, payout outside a year, local times, GBK files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from scoring.engine import grade_all
from scoring.errors import Conflict, InputError, PermissionDenied
from scoring.export import write_export
from scoring.ledger import revoke_entry
from scoring.models import Person
from scoring.periods import Period
from scoring.rules import Rules
from scoring.service import Service
from tests.helpers import NOW, add_person, by_name, d

Y2026 = Period.parse("2026")
D = Decimal


def test_notes_under_ten_thousand_is_deducted_once_a_year(
    service: Service, session: Session
) -> None:
    add_person(session, "王五", "办公室")
    session.commit()
    service.record_finding("王五 笔记不足一万字", fact_date=d("2026-12-20"), by="督查", now=NOW)
    with pytest.raises(Conflict, match="每年最多扣 1 年"):
        service.record_finding("王五 笔记不足一万字", fact_date=d("2026-12-21"), by="督查", now=NOW)
    assert by_name(service.standings(Y2026))["王五"].categories["study"].score == 13


def test_missing_reflections_are_at_most_two_a_year(service: Service, session: Session) -> None:
    add_person(session, "王五", "办公室")
    session.commit()
    with pytest.raises(Conflict, match="每年最多扣 2 篇"):
        service.record_finding("王五 心得缺少 3篇", fact_date=d("2026-12-20"), by="督查", now=NOW)
    service.record_finding("王五 心得缺少", fact_date=d("2026-07-01"), by="督查", now=NOW)
    service.record_finding("王五 心得缺少", fact_date=d("2026-12-20"), by="督查", now=NOW)
    with pytest.raises(Conflict):
        service.record_finding("王五 心得缺少", fact_date=d("2026-12-21"), by="督查", now=NOW)
    assert by_name(service.standings(Y2026))["王五"].categories["study"].deducted == 2


def test_a_revoked_yearly_deduction_no_longer_counts_toward_the_limit(
    service: Service, session: Session
) -> None:
    add_person(session, "王五", "办公室")
    session.commit()
    _, rec = service.record_finding(
        "王五 笔记不足一万字", fact_date=d("2026-12-20"), by="督查", now=NOW
    )
    service.revoke(rec.entry_ids[0], reason="误记", by="组长", now=NOW)
    service.record_finding("王五 笔记不足一万字", fact_date=d("2026-12-21"), by="督查", now=NOW)


def test_no_one_revokes_their_own_entry(service: Service, session: Session) -> None:
    me = add_person(session, "周组长", "局领导", roles="考核领导小组")
    session.commit()
    _, rec = service.record_finding("周组长 迟到", fact_date=d("2026-03-02"), by="督查", now=NOW)
    with pytest.raises(PermissionDenied, match="不能撤销本人"):
        revoke_entry(session, rec.entry_ids[0], reason="不算", by="周组长", now=NOW,
                     actor_person_id=me)  # fmt: skip
    assert by_name(service.standings(Y2026))["周组长"].categories["daily"].score == D("19.5")


def test_a_veto_taken_back_no_longer_caps_the_grade(service: Service, session: Session) -> None:
    add_person(session, "王五", "办公室")
    session.commit()
    veto_id = service.add_veto("王五", reason="误记", fact_date=d("2026-05-01"), by="组长", now=NOW)
    assert by_name(service.standings(Y2026))["王五"].veto
    service.revoke_veto(veto_id, reason="录错了人", by="组长", now=NOW)
    assert not by_name(service.standings(Y2026))["王五"].veto
    with pytest.raises(Conflict, match="已经撤销"):
        service.revoke_veto(veto_id, reason="再撤一次", by="组长", now=NOW)
    with pytest.raises(InputError):
        service.revoke_veto(veto_id, reason="  ", by="组长", now=NOW)


def test_someone_hired_after_a_year_is_not_in_that_years_result(
    service: Service, session: Session
) -> None:
    add_person(session, "老员工", "办公室")
    session.add(Person(name="新员工", department_id=1, created_at=datetime(2027, 3, 1, tzinfo=UTC)))
    session.commit()
    assert [s.name for s in service.standings(Y2026)] == ["老员工"]
    assert {s.name for s in service.standings(Period.parse("2027"))} == {"老员工", "新员工"}


def test_someone_who_left_in_september_counts_for_h1_but_not_the_year(
    service: Service, session: Session
) -> None:
    pid = add_person(session, "离岗者", "办公室")
    add_person(session, "在岗者", "办公室")
    person = session.get(Person, pid)
    assert person is not None
    person.active, person.left_on = False, date(2026, 9, 15)
    session.add(person)
    session.commit()
    assert {s.name for s in service.standings(Period.parse("2026H1"))} == {"离岗者", "在岗者"}
    assert {s.name for s in service.standings(Y2026)} == {"在岗者"}


def _totals(*values: str) -> list[Decimal]:
    return [D(v) for v in values]


def test_a_vetoed_top_scorer_keeps_a_quota_place_by_default(rules: Rules) -> None:
    totals = _totals("110", "103", "103", "90", "90", "90", "90", "90", "90", "90")
    vetoed = [True] + [False] * 9
    _, results = grade_all(totals, vetoed, rules)  # quota = floor(20% × 10) = 2
    assert [r.grade for r in results[:3]] == ["基本称职", "称职", "称职"]
    assert [r.tie_flag for r in results[:3]] == [False, True, True]


def test_the_rules_file_can_pass_a_vetoed_place_on(rules: Rules) -> None:
    grades = rules.grades.model_copy(update={"vetoed_hold_quota_places": False})
    passing = rules.model_copy(update={"grades": grades})
    totals = _totals("110", "103", "103", "90", "90", "90", "90", "90", "90", "90")
    _, results = grade_all(totals, [True] + [False] * 9, passing)
    assert [r.grade for r in results[:3]] == ["基本称职", "优秀", "优秀"]
    assert not any(r.tie_flag for r in results)


def test_payout_is_one_outside_an_annual_period(service: Service, session: Session) -> None:
    add_person(session, "王五", "办公室")
    session.commit()
    service.add_veto("王五", reason="拒不服从", fact_date=d("2026-03-01"), by="组长", now=NOW)
    assert by_name(service.standings(Period.parse("2026H1")))["王五"].bonus_payout == 1
    assert by_name(service.standings(Y2026))["王五"].bonus_payout == D("0.9")


def test_the_signed_excel_shows_recording_times_on_the_bureaus_clock(
    service: Service, session: Session, rules: Rules, tmp_path: Path
) -> None:
    add_person(session, "王五", "办公室")
    session.commit()
    at = datetime(2026, 3, 2, 15, 2, tzinfo=ZoneInfo("Asia/Shanghai"))
    service.record_finding("王五 迟到", fact_date=d("2026-03-02"), by="督查", now=at)
    path = write_export(tmp_path / "x.xlsx", rules, Y2026, service.standings(Y2026),
                        service.entries(Y2026), tz=ZoneInfo("Asia/Shanghai"))  # fmt: skip
    rows = list(load_workbook(path)["明细"].iter_rows(values_only=True))
    assert rows[1][rows[0].index("记录时间")] == "2026-03-02 15:02"


def test_a_roster_saved_by_excel_in_gbk_is_read(service: Service, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    text = "姓名,科室,职务,人员类别,角色,分管科室\n张三,办公室,科员,公务员,干部职工,\n"
    path.write_bytes(text.encode("gbk"))
    result = service.import_roster(path, now=NOW, actor="t")
    assert result.added == 1
    assert [s.name for s in service.standings(Y2026)] == ["张三"]


def test_a_person_moved_to_another_department_is_pointed_out(
    service: Service, session: Session, tmp_path: Path
) -> None:
    first = tmp_path / "a.csv"
    first.write_text("姓名,科室,职务,人员类别,角色,分管科室\n李四,执法监察科,科员,公务员,,\n")
    service.import_roster(first, now=NOW, actor="t")
    moved = tmp_path / "b.csv"
    moved.write_text("姓名,科室,职务,人员类别,角色,分管科室\n李四,法规科,科员,公务员,,\n")
    result = service.import_roster(moved, now=NOW, actor="t")
    assert result.not_in_file == ("李四(执法监察科)",)
    assert session.exec(select(Person)).all()  # nobody is dropped silently
