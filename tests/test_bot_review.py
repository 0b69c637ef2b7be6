"""The year-end review end to end through Telegram: /vote open → a private ballot page by
page → 汇总 → 提交 → /vote close → the group's result; /leaderscore with its check; the
vote's reminder and close as duties; /finalize naming who lacks which part."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from bot.duties import run_due_duties
from fakes.telegram import ApiCall
from tests.harness import TZ, Bureau

GROUP = -100200
OPEN_AT = "2026-12-28 09:00"


def _clock(b: Bureau, monkeypatch: pytest.MonkeyPatch, at: str) -> datetime:
    """The bureau's clock (the one the handlers read) stopped at a local time."""
    moment = datetime.fromisoformat(at).replace(tzinfo=TZ)
    monkeypatch.setattr(b.svc, "now", lambda: moment)
    return moment


def _ballot(b: Bureau, who: str) -> dict[str, Any]:
    """The ballot in this person's private chat, as it stands now."""
    found = b.api.last_message(b.users[who], with_keyboard=True)
    assert found is not None and "年度民主评议 · " in (found.get("text") or ""), found
    return found


def _now(b: Bureau, sent: ApiCall) -> str:
    """The text of a message the bot sent, as it reads now (after edits)."""
    found = b.api.message(sent.result["chat"]["id"], sent.result["message_id"])
    assert found is not None
    return str(found["text"])


def _rows(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return list(message["reply_markup"]["inline_keyboard"])


async def _rate_page(b: Bureau, who: str, level: str) -> None:
    """Press ``level`` (优/称/基/不) on every colleague's row of the page shown."""
    ballot = _ballot(b, who)
    for row in _rows(ballot)[:-1]:  # the last row is the way to other pages and the summary
        [button] = [x for x in row if x["text"].lstrip("✓") == level]
        if not button["text"].startswith("✓"):  # pressing the level chosen changes nothing
            await b.press(who, ballot, data=button["callback_data"])


async def _vote(b: Bureau, who: str, level: str = "称") -> None:
    """Rate every colleague ``level``, page by page, then 汇总 and 提交."""
    await _rate_page(b, who, level)
    await b.press(who, _ballot(b, who), "下一页 ▶")
    await _rate_page(b, who, level)
    await b.press(who, _ballot(b, who), "汇总 · 提交")
    await b.press(who, _ballot(b, who), "提交选票")


async def test_a_vote_from_opening_to_the_groups_result(
    live_bureau: Bureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = live_bureau
    _clock(b, monkeypatch, OPEN_AT)
    opened = await b.say("周组长", "/vote open 2026 2027-01-06")
    assert "2026年度民主评议已开始" in (opened.text or "")
    await b.settle()
    assert any("述职民主评议开始" in t for t in b.api.messages_to(GROUP))
    ballot = _ballot(b, "李四")
    text = ballot["text"]
    assert "第 1/2 页" in text and "李四" not in text.split("\n", 3)[3]  # own name left out
    assert [x["text"] for x in _rows(ballot)[0]] == ["冯科员", "优", "称", "基", "不"]

    # a rating can be changed before submitting; 汇总 shows it; 提交 is final
    first_row = _rows(ballot)[0]
    await b.press("李四", ballot, data=first_row[1]["callback_data"])  # 冯科员 优
    assert "冯科员(办公室):优秀" in _ballot(b, "李四")["text"]
    await b.press("李四", ballot, data=first_row[2]["callback_data"])  # changed: 称
    assert "冯科员(办公室):称职" in _ballot(b, "李四")["text"]
    assert [x["text"] for x in _rows(_ballot(b, "李四"))[0]][1:] == ["优", "✓称", "基", "不"]
    await b.press("李四", _ballot(b, "李四"), "汇总 · 提交")
    summary = _ballot(b, "李四")
    assert "全部同事评完后才能提交" in summary["text"]
    assert [x["text"] for x in _rows(summary)[0]] == ["继续评议"]
    await b.press("李四", summary, "继续评议")
    await _vote(b, "李四")
    done = b.api.message(ballot["chat"]["id"], ballot["message_id"])
    assert done is not None and "选票已提交" in done["text"] and "冯科员" not in done["text"]
    again = await b.say("李四", "/ballot")
    assert "每人只能投一次" in (again.text or "")

    await _vote(b, "张三", "优")
    status = await b.say("周组长", "/vote status 2026")
    assert "已投票 2 人 / 应投票 8 人" in (status.text or "")
    assert "(最低参与比例 2/3,未达到)" in (status.text or "")
    assert (
        "未投票:冯科员(办公室)、李督查(办公室)、管理员甲(办公室)、王五(法规科)、陈局(局领导)、周组长(局领导)"
        in (status.text or "")
    )

    # two of eight is under two thirds: the leading group is asked before it counts
    short = await b.say("周组长", "/vote close 2026")
    assert "参与人数不足" in (short.text or "")
    mark = b.mark()
    await b.press("周组长", short, "仍按已投选票计分")
    # 张三 gave everyone 优, 李四 everyone 称: 李四 has 张三's 10, 张三 李四's 8, the rest 9
    counted = _now(b, short)
    assert "李四(执法监察科):10\n王五(法规科):9" in counted and "张三(执法监察科):8" in counted
    await b.settle()
    result = [c.text or "" for c in b.since(mark) if c.chat_id == GROUP]
    assert any("优秀 7 票、称职 7 票、基本称职 0 票、不称职 0 票" in t for t in result), result
    assert any("您的述职得分:10 分" in t for t in b.texts_to("李四"))
    assert not any("李四" in t or "张三" in t for t in result)  # no ballot, no name shown


async def test_the_reminder_goes_to_those_who_have_not_voted_and_the_close_counts(
    live_bureau: Bureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = live_bureau
    _clock(b, monkeypatch, OPEN_AT)
    await b.say("周组长", "/vote open 2026 2027-01-06")
    await b.settle()  # every ballot is out
    for name in ("冯科员", "李督查", "张三", "李四", "王五", "陈局"):
        await _vote(b, name)
    mark = b.mark()
    await run_due_duties(b.app, datetime(2027, 1, 5, 9, 0, tzinfo=TZ))
    reminded = {c.chat_id for c in b.since(mark) if "您还没有提交" in (c.text or "")}
    assert reminded == {b.users["周组长"], b.users["管理员甲"]}
    assert any("尚未投票:管理员甲(办公室)、周组长(局领导)" in t for t in b.api.messages_to(GROUP))
    mark = b.mark()
    await run_due_duties(b.app, datetime(2027, 1, 6, 18, 0, tzinfo=TZ))  # six of eight
    result = [c.text or "" for c in b.since(mark) if c.chat_id == GROUP]
    assert any("2026年度民主评议结果" in t and "称职 42 票" in t for t in result), result
    late = await b.say("周组长", "/ballot 2026")
    assert "已经截止" in (late.text or "")


async def test_a_leader_checks_the_scores_before_sending_and_finalize_names_what_is_missing(
    live_bureau: Bureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = live_bureau
    _clock(b, monkeypatch, "2027-01-08 10:00")
    sheet = await b.say("陈局", "/leaderscore")
    assert "2026年度分管领导评分" in (sheet.text or "") and "张三(执法监察科):未评" in (
        sheet.text or ""
    )
    check = await b.say("陈局", "/leaderscore 张三 4.5\n李四 4")
    assert "张三(执法监察科):4.5 待提交" in (check.text or "")
    wrong = await b.say("陈局", "/leaderscore 王五 4")
    assert "王五:不在您的评分名单中" in (wrong.text or "")
    await b.press("陈局", check, "确认提交")
    assert "分管领导评分已提交" in _now(b, check)
    refused = await b.say("陈局", "/groupscore 张三 5")  # a leader, not of the leading group
    assert "班子综合评议由考核领导小组录入" in (refused.text or "")
    final = await b.say("周组长", "/finalize 2026")
    assert "还有 8 人的述职测评分数未录入齐全" in (final.text or "")
    assert "张三(执法监察科):缺述职、班子综合评议" in (final.text or "")
    assert "王五(法规科):缺述职、分管领导评分、班子综合评议(待周组长评分)" in (final.text or "")


async def test_the_demos_short_vote_plays_through_to_the_groups_result(
    live_bureau: Bureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    from demo.__main__ import Transcript
    from demo.vote import short_vote

    b = live_bureau
    _clock(b, monkeypatch, OPEN_AT)
    await short_vote(Transcript(b.api, b.users), b.svc, leader="周组长", voter="冯科员")
    assert any("2026年度民主评议结果" in t for t in b.api.messages_to(GROUP))
    assert any("您的述职得分:8 分" in t for t in b.texts_to("冯科员"))
