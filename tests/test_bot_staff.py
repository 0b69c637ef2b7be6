"""Staff and leaders in the chat: /score, /notes, /reflection, /dept, /standings, /veto, /revoke.

In process (tests/offline.py).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, select

from scoring.models import Entry, StudySubmission, VetoRecord
from scoring.periods import Period
from tests.harness import TZ
from tests.offline import GROUP, OfflineBureau


def _record(b: OfflineBureau, text: str, day: date = date(2026, 3, 2)) -> list[int]:
    now = datetime(2026, 3, 2, 10, tzinfo=TZ)
    _, rec = b.svc.core.record_finding(text, fact_date=day, by="李督查(办公室)", now=now)
    return rec.entry_ids


async def test_score_shows_own_entries_gap_to_95_and_rank_without_names(
    bureau: OfflineBureau,
) -> None:
    _record(bureau, "冯科员 旷工2天")
    _record(bureau, "张三 迟到")
    answer = await bureau.say("冯科员", "/score")
    text = answer.text or ""
    assert "机关日常:16 / 20(扣 4)" in text
    assert "旷工 -4" in text
    assert "总分:96" in text  # 100 - 4, review counted at its base until entered
    assert "已达到优秀线 95" in text
    assert "加分还可增加 10 分" in text
    assert "在 8 人中排第 8 名" in text
    assert "张三" not in text  # nobody else's name


async def test_score_asked_in_a_group_is_answered_in_private(bureau: OfflineBureau) -> None:
    since = bureau.mark()
    group = await bureau.say("王五", "/score", chat_id=GROUP)
    assert "私信" in (group.text or "") and "总分" not in (group.text or "")
    private = bureau.told("王五", since)
    assert "王五 的 2026 年得分" in (private.text or "")
    assert not any("总分" in (c.text or "") for c in bureau.api.sent(GROUP))


async def test_typed_notes_are_counted_and_shown_in_score(bureau: OfflineBureau) -> None:
    answer = await bureau.say("王五", "/notes 今天学习了 安全生产法 第三章")
    assert "已收到学习笔记 13 字" in (answer.text or "")
    score = await bureau.say("王五", "/score")
    assert "笔记 13 / 10000 字(还差 9987 字)" in (score.text or "")


async def test_a_photo_of_notes_must_declare_its_characters(bureau: OfflineBureau) -> None:
    answer = await bureau.send_photo("王五", b"\x89PNG fake", caption="/notes")
    assert "注明字数" in (answer.text or "")
    answer = await bureau.send_photo("王五", b"\x89PNG fake", caption="/notes 800")
    assert "800 字" in (answer.text or "")
    with Session(bureau.svc.engine) as s:
        rows = s.exec(select(StudySubmission)).all()
    assert [(r.kind, r.chars) for r in rows] == [("notes", 800)]
    assert rows[0].evidence  # the photo's file id is kept


async def test_reflection_counts_toward_two_a_year(bureau: OfflineBureau) -> None:
    answer = await bureau.say("王五", "/reflection 学习心得:严格执法")
    assert "心得 1 / 2 篇" in (answer.text or "")


async def test_dept_shows_only_the_departments_a_leader_leads(bureau: OfflineBureau) -> None:
    answer = await bureau.say("陈局", "/dept")
    text = answer.text or ""
    assert "张三" in text and "冯科员" in text  # 执法监察科 and 办公室
    assert "王五" not in text  # 法规科 is led by 周组长


async def test_leading_group_sees_everyone_and_staff_cannot(bureau: OfflineBureau) -> None:
    answer = await bureau.say("周组长", "/standings")
    assert "(8 人)" in (answer.text or "")
    refused = await bureau.say("冯科员", "/standings")
    assert "没有这项操作的权限" in (refused.text or "")


async def test_veto_by_the_leading_group_caps_the_grade(bureau: OfflineBureau) -> None:
    answer = await bureau.say("周组长", "/veto 王五 对组织决定拒不服从")
    assert "已记录一票否决" in (answer.text or "")
    with Session(bureau.svc.engine) as s:
        assert len(s.exec(select(VetoRecord)).all()) == 1
    wang = next(s for s in bureau.svc.core.standings(Period.parse("2026")) if s.name == "王五")
    assert wang.veto and wang.grade == "基本称职" and float(wang.bonus_payout) == 0.9


async def test_revoke_with_reason_tells_the_person_and_restores_the_score(
    bureau: OfflineBureau,
) -> None:
    (entry_id,) = _record(bureau, "冯科员 迟到")
    answer = await bureau.say("周组长", f"/revoke {entry_id} 误记")
    assert f"记录 #{entry_id} 已撤销" in (answer.text or "")
    notice = bureau.told("冯科员")
    assert "已撤销" in (notice.text or "")
    feng = next(s for s in bureau.svc.core.standings(Period.parse("2026")) if s.name == "冯科员")
    assert feng.categories["daily"].score == 20


async def test_bad_command_arguments_get_usage_and_change_nothing(bureau: OfflineBureau) -> None:
    answer = await bureau.say("周组长", "/revoke abc")
    assert "用法" in (answer.text or "")
    answer = await bureau.say("周组长", "/revoke 999 误记")
    assert "没有编号为 999" in (answer.text or "")
    with Session(bureau.svc.engine) as s:
        assert s.exec(select(Entry)).all() == []


async def test_a_veto_can_name_its_year_and_be_taken_back(bureau: OfflineBureau) -> None:
    answer = await bureau.say("周组长", "/veto 王五 2026年 拒不服从组织决定")
    assert "2026年度" in (answer.text or "") and "/revoke v1" in (answer.text or "")
    with Session(bureau.svc.engine) as s:
        (veto,) = s.exec(select(VetoRecord)).all()
    assert (veto.year, veto.fact_date) == (2026, bureau.svc.now().date())
    wang = next(s for s in bureau.svc.core.standings(Period.parse("2026")) if s.name == "王五")
    assert wang.veto
    taken_back = await bureau.say("周组长", "/revoke v1 录错了人")
    assert "一票否决 #1 已撤销" in (taken_back.text or "")
    wang = next(s for s in bureau.svc.core.standings(Period.parse("2026")) if s.name == "王五")
    assert not wang.veto


async def test_the_leading_group_cannot_revoke_its_own_deduction(bureau: OfflineBureau) -> None:
    (entry_id,) = _record(bureau, "周组长 迟到")
    answer = await bureau.say("周组长", f"/revoke {entry_id} 我不同意")
    assert "不能撤销本人的记录" in (answer.text or "")
    zhou = next(s for s in bureau.svc.core.standings(Period.parse("2026")) if s.name == "周组长")
    assert zhou.categories["daily"].score == Decimal("19.5")


def test_a_veto_in_january_is_for_the_year_being_assessed() -> None:
    from usecases.leaders import veto_year

    assert veto_year(["王五", "理由"], date(2027, 1, 15), 2) == (2026, ["王五", "理由"])
    assert veto_year(["王五", "理由"], date(2027, 3, 1), 2) == (2027, ["王五", "理由"])
    assert veto_year(["王五", "2027", "理由"], date(2027, 1, 15), 2) == (2027, ["王五", "理由"])
