"""The duties: the real bot and the fake Bot API, on a travelling clock.

Most tests run in process (tests/offline.py) and run the duties themselves with
``run_due_duties``; the JobQueue's own tick, restarts, and the half-year bulletin's upload
run end to end over HTTP (tests/harness.py). The clock is moved with time-machine
(APScheduler and ``services.now()`` read it); the event loop's monotonic clock is left
alone, so nothing sleeps for a duty to fall due.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import Session, select

from bot.duties import JOB_NAME, TICK_SECONDS, run_due_duties
from bot.services import Services
from bot.settings import Settings
from fakes.telegram import ApiCall
from scoring import duties
from scoring.calendar import Duty
from scoring.db import upgrade
from scoring.errors import Conflict
from scoring.models import Entry, PublicNotice, StudySubmission, YearLock
from tests.harness import USERS, Bureau, running_bureau
from tests.helpers import enter_review
from tests.offline import GROUP, OfflineBureau
from usecases import bulletins

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """The bureau's clock, started on 20 June 2026 (the bot is installed then)."""
    with time_machine.travel(at("2026-06-20 10:00"), tick=True) as traveller:
        yield traveller


AnyBureau = Bureau | OfflineBureau


def done_keys(b: AnyBureau) -> set[str]:
    with Session(b.svc.engine) as s:
        return set(duties.done_runs(s))


async def installed(b: AnyBureau) -> None:
    """The install is written: end to end by the start-up tick (waited for), in process by a
    run of the duties (nothing ticks there)."""
    if isinstance(b, Bureau):
        await asyncio.wait_for(b.ticked.wait(), timeout=20)
    else:
        await run_due_duties(b.app, b.svc.now())
    with Session(b.svc.engine) as s:
        assert duties.install_time(s, TZ) is not None


def stop_ticking(b: Bureau) -> None:
    """The test drives the duties itself from here on."""
    assert b.app.job_queue is not None
    for job in b.app.job_queue.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()


def group_calls(b: AnyBureau, method: str | None = None) -> list[ApiCall]:
    return b.api.sent(GROUP, method)


def markup(call: ApiCall) -> list[list[dict[str, Any]]]:
    raw = call.params.get("reply_markup")
    data = json.loads(raw) if isinstance(raw, str) else raw
    rows: list[list[dict[str, Any]]] = (data or {}).get("inline_keyboard", [])
    return rows


# ------------------------------------------------------------------ exactly once
async def test_a_bot_down_across_1_july_posts_the_bulletin_once_when_it_is_back(
    tmp_path: Path, clock: time_machine.Traveller
) -> None:
    async with running_bureau(tmp_path) as b:
        await installed(b)
        assert group_calls(b) == []  # nothing was due in June after the install
    clock.move_to(at("2026-07-10 11:00"))  # down on 1 and 6 July
    async with running_bureau(tmp_path) as b:
        await asyncio.wait_for(b.ticked.wait(), timeout=20)  # the start-up tick caught up
        assert {"bulletin:2026H1", "notice:2026Q2"} <= done_keys(b)
        texts = [c for c in group_calls(b, "sendMessage") if "上半年考核测算通报" in (c.text or "")]
        assert len(texts) == 1
        assert len(group_calls(b, "sendPhoto")) == 1
        [doc] = group_calls(b, "sendDocument")
        assert doc.result["document"]["file_name"] == "kaohe-2026H1.xlsx"
        assert b.api.file_bytes(doc.result["document"]["file_id"]).startswith(b"PK")
        # July's reminder (due after the install) went out too, to everyone bound, once
        assert {"reminder:2026-07", "spotcheck:2026-06"} <= done_keys(b)
        assert sum("7月工作提醒" in t for t in b.texts_to("冯科员")) == 1
    for _ in range(2):  # two restarts in a row post nothing twice
        async with running_bureau(tmp_path) as b:
            await installed(b)  # the start-up tick has run
            assert b.api.sent() == []


async def test_a_failed_send_is_retried_and_the_duty_stays_undone_until_it_succeeds(
    bureau_in_june: OfflineBureau,
) -> None:
    b = bureau_in_june
    b.api.fail_next("sendPhoto", status=500, times=4)  # every attempt of the one send
    done = await run_due_duties(b.app, at("2026-07-06 10:00"))
    assert "bulletin:2026H1" not in done and "bulletin:2026H1" not in done_keys(b)
    assert len(group_calls(b, "sendPhoto")) == 0 and group_calls(b, "sendDocument") == []
    with Session(b.svc.engine) as s:
        assert duties.parts_done(s, "bulletin:2026H1") == {"text"}
    done = await run_due_duties(b.app, at("2026-07-06 10:01"))
    assert "bulletin:2026H1" in done
    bulletin_texts = [c for c in group_calls(b, "sendMessage") if "考核测算通报" in (c.text or "")]
    assert len(bulletin_texts) == 1  # the text that went out is not sent again
    assert len(group_calls(b, "sendPhoto")) == 1 and len(group_calls(b, "sendDocument")) == 1
    assert await run_due_duties(b.app, at("2026-07-06 10:02")) == []


async def test_a_person_who_blocked_the_bot_does_not_hold_the_reminders_back(
    bureau_in_june: OfflineBureau,
) -> None:
    b = bureau_in_june
    b.api.block(USERS["王五"])
    assert "reminder:2026-07" in await run_due_duties(b.app, at("2026-07-01 09:00"))
    reminded = {u for u in USERS.values() if any("7月工作提醒" in t for t in b.api.messages_to(u))}
    assert reminded == set(USERS.values()) - {USERS["王五"]}


@pytest.fixture
async def bureau_in_june(clock: time_machine.Traveller, bureau: OfflineBureau) -> OfflineBureau:
    """A bot installed on 20 June 2026 (in process) whose duties the test runs itself."""
    await installed(bureau)
    return bureau


@pytest.fixture
async def live_bureau_in_june(tmp_path: Path, clock: time_machine.Traveller) -> Any:
    """The same, end to end: the bot polls the fake server and its JobQueue runs."""
    async with running_bureau(tmp_path) as b:
        await installed(b)
        stop_ticking(b)
        yield b


# ------------------------------------------------------------------ each duty on its day
async def test_monthly_reminders_go_to_everyone_on_the_first_and_not_before(
    bureau_in_june: OfflineBureau,
) -> None:
    b = bureau_in_june
    assert await run_due_duties(b.app, at("2026-06-30 23:59")) == []
    assert "reminder:2026-07" in await run_due_duties(b.app, at("2026-07-01 09:00"))
    for name in USERS:
        [text] = [t for t in b.texts_to(name) if "7月工作提醒" in t]
        assert "6月小结、7月计划" in text
        assert ("至少开展 1 次工作纪律督查" in text) == (name == "李督查")


async def test_a_month_without_spot_checks_alerts_the_office_and_the_leading_group(
    bureau_in_june: OfflineBureau,
) -> None:
    b = bureau_in_june
    b.svc.core.record_finding("冯科员 迟到", fact_date=date(2026, 7, 3), by="李督查", now=at(
        "2026-07-03 09:00"))  # fmt: skip
    await run_due_duties(b.app, at("2026-07-01 09:30"))  # June: nothing recorded
    alerted = {n for n in USERS if any("2026年6月没有督查记录" in t for t in b.texts_to(n))}
    assert alerted == {"李督查", "周组长"}
    assert "spotcheck:2026-07" in await run_due_duties(b.app, at("2026-08-03 09:30"))
    assert not any("2026年7月没有" in t for n in USERS for t in b.texts_to(n))


async def test_a_spot_check_that_found_nothing_is_recorded_and_stops_the_alert(
    bureau_in_june: OfflineBureau, clock: time_machine.Traveller
) -> None:
    b = bureau_in_june
    answer = await b.say("李督查", "/checked 抽查全员在岗,未发现问题")
    assert "已记录" in (answer.text or "") and "工作纪律督查" in (answer.text or "")
    refused = await b.say("冯科员", "/checked")
    assert "没有这项操作的权限" in (refused.text or "")
    await run_due_duties(b.app, at("2026-07-01 09:30"))
    assert not any("2026年6月没有" in t for n in USERS for t in b.texts_to(n))
    assert "spotcheck:2026-06" in done_keys(b)


async def test_the_quarterly_notice_opens_a_window_and_its_button_lists_ones_own_entries(
    bureau_in_june: OfflineBureau, clock: time_machine.Traveller
) -> None:
    b = bureau_in_june
    core = b.svc.core
    _, late = core.record_finding("冯科员 迟到", fact_date=date(2026, 8, 3), by="李督查(办公室)",
                                  now=at("2026-08-03 09:00"), source="bot")  # fmt: skip
    core.record_finding("冯科员、张三 早退", fact_date=date(2026, 9, 1), by="李督查(办公室)",
                        now=at("2026-09-01 09:00"), source="bot")  # fmt: skip
    assert "notice:2026Q3" not in await run_due_duties(b.app, at("2026-10-08 09:59"))
    assert "notice:2026Q3" in await run_due_duties(b.app, at("2026-10-08 10:00"))
    [notice] = [c for c in group_calls(b) if "第三季度扣分、处罚、奖励情况通报" in (c.text or "")]
    assert "冯科员 迟到,扣 0.5 分(8月3日)" in (notice.text or "")
    assert "至10月14日止" in (notice.text or "")  # 10 October is worked
    assert markup(notice) == [[{"text": "申诉", "callback_data": "apn:2026Q3"}]]
    with Session(b.svc.engine) as s:
        row = s.get(PublicNotice, "2026Q3")
        assert row is not None and row.window_closes == date(2026, 10, 14)

    clock.move_to(at("2026-10-09 15:00"))
    since = b.mark()
    answered = await b.press("冯科员", notice, data="apn:2026Q3")
    assert "已私信发送" in str(answered.params.get("text"))
    private = b.told("冯科员", since)
    assert "2026年第三季度您的扣分记录" in (private.text or "")
    datas = [row[0]["callback_data"] for row in markup(private)]
    assert datas[0] == f"ap:{late.entry_ids[0]}" and len(datas) == 2
    assert all(x.startswith("ap:") and x[3:].isdigit() for x in datas)

    answer = await b.press("王五", notice, "申诉")  # named nowhere in the notice
    assert "没有扣分记录" in str(answer.params.get("text"))

    clock.move_to(at("2026-10-15 09:00"))
    answer = await b.press("冯科员", notice, "申诉")
    assert "公示期已于10月14日结束" in str(answer.params.get("text"))


async def test_the_h1_bulletin_reaches_the_group_with_its_chart_and_excel(
    live_bureau_in_june: Bureau,
) -> None:
    b = live_bureau_in_june
    b.svc.core.record_finding("张三 旷工", fact_date=date(2026, 5, 6), by="李督查", now=at(
        "2026-05-06 09:00"))  # fmt: skip
    assert "bulletin:2026H1" not in await run_due_duties(b.app, at("2026-07-06 09:59"))
    assert "bulletin:2026H1" in await run_due_duties(b.app, at("2026-07-06 10:00"))
    [text] = [c for c in group_calls(b, "sendMessage") if "考核测算通报" in (c.text or "")]
    assert (text.text or "").startswith("某某单位 2026年上半年考核测算通报\n截至6月30日,共 8 人")
    assert "张三(执法监察科) 98 分:机关日常扣2" in (text.text or "")
    [photo] = group_calls(b, "sendPhoto")
    png = b.api.file_bytes(photo.result["photo"][-1]["file_id"])
    assert png.startswith(b"\x89PNG") and "总分分布" in (photo.text or "")
    [doc] = group_calls(b, "sendDocument")
    assert doc.result["document"]["file_name"] == "kaohe-2026H1.xlsx"
    order = [c.method for c in group_calls(b) if c in (text, photo, doc)]
    assert order == ["sendMessage", "sendPhoto", "sendDocument"]


async def test_without_a_cjk_font_the_bulletin_is_text_and_excel(
    bureau_in_june: OfflineBureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulletins, "find_cjk_font", lambda: None)
    b = bureau_in_june
    assert "bulletin:2026H1" in await run_due_duties(b.app, at("2026-07-06 10:00"))
    assert group_calls(b, "sendPhoto") == [] and len(group_calls(b, "sendDocument")) == 1


async def test_without_a_group_chat_group_duties_wait(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}", group_chat_id=None)
    svc = Services.build(settings)
    try:
        upgrade(svc.engine)
        duty = Duty(at("2026-10-05 10:00"), "notice:2026Q3", "notice", "2026Q3")
        with caplog.at_level(logging.WARNING, logger="bot.duties"):
            assert not await svc.scheduler.run_duty(duty, at("2026-10-05 10:00"))
        assert "KAOHE_GROUP_CHAT_ID" in caplog.text
    finally:
        svc.close()


# ------------------------------------------------------------------ year end
async def test_year_end_proposals_are_cards_the_office_confirms_or_dismisses(
    bureau_in_june: OfflineBureau,
) -> None:
    b = bureau_in_june
    with Session(b.svc.engine) as s:
        for name, uid in USERS.items():
            if name != "冯科员":  # 冯科员 hands in nothing; everyone else enough
                pid = _person(s, uid)
                for kind, month, chars in (("notes", 5, 12000), ("reflection", 3, 0),
                                           ("reflection", 9, 0)):  # fmt: skip
                    day = date(2026, month, 1)
                    s.add(StudySubmission(person_id=pid, kind=kind, chars=chars, fact_date=day,
                                          recorded_at=NOW))  # fmt: skip
        s.commit()
    assert "proposals:2026" not in await run_due_duties(b.app, at("2026-12-21 08:59"))
    assert "proposals:2026" in await run_due_duties(b.app, at("2026-12-21 09:00"))
    office = [c for c in b.api.sent(USERS["李督查"]) if markup(c)]
    assert [m[0][0]["text"] for m in map(markup, office)] == ["确认扣分", "确认扣分"]
    assert any("共有 2 条扣分建议" in t for t in b.texts_to("李督查"))
    assert not any("年终扣分建议" in t for t in b.texts_to("管理员甲"))  # the 督查员 has them
    with Session(b.svc.engine) as s:
        assert s.exec(select(Entry)).all() == []  # never recorded unasked

    notes_card = next(c for c in office if "学习笔记" in (c.text or ""))
    since = b.mark()
    edited = await b.press("李督查", notes_card, "确认扣分")
    assert "已记录" in (edited.text or "")
    notice = b.told("冯科员", since)
    assert "年终核查" in (notice.text or "")
    with Session(b.svc.engine) as s:
        [entry] = s.exec(select(Entry)).all()
        assert (entry.source, entry.item_code, entry.points_cp) == (
            "duty",
            "study_notes_short",
            200,
        )
    assert markup(notice) == [[{"text": "申诉", "callback_data": f"ap:{entry.id}"}]]

    reflection_card = next(c for c in office if "学习心得" in (c.text or ""))
    edited = await b.press("李督查", reflection_card, "驳回")
    assert "已驳回" in (edited.text or "")
    # a second press (a stale copy of the card) records nothing
    again = await b.press("李督查", notes_card, data=markup(notes_card)[0][0]["callback_data"])
    assert again.method == "editMessageText" and "这条建议已确认记录" in (again.text or "")
    with Session(b.svc.engine) as s:
        assert len(s.exec(select(Entry)).all()) == 1


@pytest.mark.parametrize("who", ["冯科员", "陈局", "周组长"])
async def test_only_the_office_may_decide_proposals(
    bureau_in_june: OfflineBureau, who: str
) -> None:
    b = bureau_in_june
    await run_due_duties(b.app, at("2026-12-21 09:00"))
    card = next(c for c in b.api.sent(USERS["李督查"]) if markup(c))
    answer = await b.press(who, card, "确认扣分")
    assert "没有这项操作的权限" in (answer.text or str(answer.params.get("text")))
    with Session(b.svc.engine) as s:
        assert s.exec(select(Entry)).all() == []


async def test_the_leading_group_is_reminded_from_january_until_the_year_is_finalized(
    bureau_in_june: OfflineBureau,
) -> None:
    b = bureau_in_june
    assert "review:2027-01" in await run_due_duties(b.app, at("2027-01-04 09:00"))
    reminded = {n for n in USERS if any("2026年度考核截止提醒" in t for t in b.texts_to(n))}
    assert reminded == {"周组长"}
    [text] = [t for t in b.texts_to("周组长") if "截止提醒" in t]
    assert "2027年2月底前完成" in text and "尚有 8 人的述职测评分数未录入" in text


async def test_the_office_is_told_once_that_next_years_holiday_schedule_is_unknown(
    bureau_in_june: Bureau,
) -> None:
    b = bureau_in_june
    # 1 December 2030 is a Sunday; the holidays package has no schedule for 2031
    assert "workdays:2031" not in await run_due_duties(b.app, at("2030-12-01 09:00"))
    assert "workdays:2031" in await run_due_duties(b.app, at("2030-12-02 09:00"))
    told = {n for n in USERS if any("2031年节假日安排尚未录入" in t for t in b.texts_to(n))}
    assert told == {"李督查", "管理员甲"}
    [text] = [t for t in b.texts_to("管理员甲") if "2031年节假日安排" in t]
    assert "KAOHE_RULES_FILE" in text and "workdays = [2031-" in text
    assert "workdays:2031" not in await run_due_duties(b.app, at("2030-12-15 09:00"))
    assert sum("2031年节假日安排" in t for t in b.texts_to("李督查")) == 1


async def test_finalize_refuses_without_review_scores_then_locks_and_posts_once(
    bureau_in_june: OfflineBureau, clock: time_machine.Traveller
) -> None:
    b = bureau_in_june
    clock.move_to(at("2027-02-10 10:00"))
    answer = await b.say("周组长", "/finalize 2026")
    assert "还有 8 人的述职测评分数未录入" in (answer.text or "")
    refused = await b.say("冯科员", "/finalize 2026")
    assert "没有这项操作的权限" in (refused.text or "")
    with Session(b.svc.engine) as s:
        for uid in USERS.values():
            enter_review(s, _person(s, uid), ("10", "5", "5"), year=2026)
        s.commit()
    for name in USERS:  # 张三 alone on top: the one excellent (quota floor(20% × 8) = 1)
        if name != "张三":
            b.svc.core.record_finding(f"{name} 迟到", fact_date=date(2026, 11, 2), by="李督查",
                                      now=at("2026-11-02 09:00"))  # fmt: skip
    since = len(b.api.calls)
    answer = await b.say("周组长", "/finalize 2026")
    assert "2026年度考核已定案" in (answer.text or "")
    assert "年度结果已通报至群聊" in (answer.text or "")
    [annual] = [c for c in group_calls(b) if "2026年度考核结果通报" in (c.text or "")]
    assert annual in b.api.calls[since:]
    assert "(共 8 人)" in (annual.text or "")
    assert "张三(执法监察科) ★正科级" in (annual.text or "")  # excellent and a 科级干部
    [doc] = [c for c in group_calls(b, "sendDocument")]
    assert doc.result["document"]["file_name"] == "kaohe-2026.xlsx"

    again = await b.say("周组长", "/finalize 2026")
    assert "无需重复操作" in (again.text or "")
    assert len([c for c in group_calls(b) if "年度考核结果通报" in (c.text or "")]) == 1
    with Session(b.svc.engine) as s:
        assert len(s.exec(select(YearLock)).all()) == 1
    with pytest.raises(Conflict, match="2026年度考核已定案锁定"):
        b.svc.core.record_finding("冯科员 迟到", fact_date=date(2026, 12, 30), by="李督查",
                                  now=at("2027-02-10 10:05"))  # fmt: skip


def _person(s: Session, telegram_user_id: int) -> int:
    from scoring.models import Person

    person = s.exec(select(Person).where(Person.telegram_user_id == telegram_user_id)).one()
    assert person.id is not None
    return person.id


# ------------------------------------------------------------------ the wiring
async def test_the_duties_tick_every_minute_and_first_at_start_up(
    tmp_path: Path, clock: time_machine.Traveller
) -> None:
    async with running_bureau(tmp_path) as b:
        assert b.app.job_queue is not None
        [job] = b.app.job_queue.get_jobs_by_name(JOB_NAME)
        assert job.job.trigger.interval == timedelta(seconds=TICK_SECONDS) == timedelta(minutes=1)
        await asyncio.wait_for(b.ticked.wait(), timeout=10)  # no one called it
        assert _installed_on(b) == date(2026, 6, 20)  # the start-up tick read the clock


def _installed_on(b: Bureau) -> date | None:
    with Session(b.svc.engine) as s:
        when = duties.install_time(s, TZ)
    return when.date() if when else None
