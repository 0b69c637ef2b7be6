"""Bonus claims in the chat: /claim → date → evidence → the leader's card → 批准 / 驳回 → score.

In process (tests/offline.py); a claim approved over HTTP is in tests/test_bot_end_to_end.py.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

from fakes.telegram import ApiCall
from scoring.db import transaction
from scoring.models import Entry, PendingAction, YearLock
from scoring.periods import Period
from tests.harness import TZ
from tests.offline import OfflineBureau

PHOTO = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10"


def _bonuses(b: OfflineBureau) -> list[Entry]:
    with Session(b.svc.engine) as s:
        return list(s.exec(select(Entry).where(Entry.kind == "bonus")).all())


def _bonus_of(b: OfflineBureau, name: str, year: int | None = None) -> Decimal:
    period = Period.parse(str(year or b.svc.now().year))
    return {s.name: s.bonus for s in b.svc.core.standings(period)}[name]


def _clock(b: OfflineBureau, monkeypatch: pytest.MonkeyPatch, at: str) -> None:
    """The bureau's clock (the one the handlers read) stopped at a local time."""
    moment = datetime.fromisoformat(at).replace(tzinfo=TZ)
    monkeypatch.setattr(b.svc, "now", lambda: moment)


def _card_for(b: OfflineBureau, who: str) -> dict[str, Any]:
    """The newest claim card in this approver's chat (with its buttons)."""
    card = b.card(who)
    assert "加分申报" in (card.get("caption") or ""), card
    return card


def _button(message: dict[str, Any], label: str) -> str:
    """The callback data of a button on a message."""
    rows = message["reply_markup"]["inline_keyboard"]
    return next(str(b["callback_data"]) for row in rows for b in row if b["text"] == label)


async def _claim(
    b: OfflineBureau,
    who: str,
    title: str = "全市安全生产先进个人",
    *,
    kind: str = "表彰",
    level: str = "市级",
    day: str | None = None,
    document: bool = False,
) -> ApiCall:
    """`who` walks through /claim (the date typed as `day`, else 今天); returns the bot's
    last answer (the claim submitted)."""
    ask = await b.say(who, "/claim")
    levels = await b.press(who, ask, kind)
    asked_title = await b.press(who, levels, level)
    assert "请发送" in (asked_title.text or "")
    asked_date = await b.say(who, title)
    assert "获奖/刊发日期" in (asked_date.text or "")
    if day is None:
        asked_evidence = await b.press(who, asked_date, "今天")
    else:
        asked_evidence = await b.say(who, day)
    assert "请发送证据" in (asked_evidence.text or ""), asked_evidence.text
    if document:
        return await b.say(who, document=("表彰文件.pdf", b"%PDF-1.4 honour"))
    return await b.say(who, photo=PHOTO)


async def _approve(b: OfflineBureau, who: str) -> None:
    """`who` approves the newest claim card in their chat."""
    await b.press(who, _card_for(b, who), "批准")


async def test_claim_with_a_photo_approved_by_the_leader_counts_and_the_claimant_is_told(
    bureau: OfflineBureau,
) -> None:
    done = await _claim(bureau, "冯科员", level="省级")
    assert "已提交" in (done.text or "") and "陈局" in (done.text or "")
    assert _bonuses(bureau) == []
    card = _card_for(bureau, "陈局")
    assert "冯科员" in card["caption"] and "省级" in card["caption"] and card.get("photo")
    since = bureau.mark()
    await bureau.press("陈局", card, "批准")
    notice = bureau.told("冯科员", since)
    assert "已批准" in (notice.text or "") and "加 8 分" in (notice.text or "")
    assert "全市安全生产先进个人" in (notice.text or "")
    assert _bonus_of(bureau, "冯科员") == Decimal(8)
    [entry] = _bonuses(bureau)
    assert entry.source == "bot" and entry.evidence and entry.recorded_by == "陈局(局领导)"


async def test_every_copy_of_the_card_shows_the_decision(bureau: OfflineBureau) -> None:
    await _claim(bureau, "张三")
    chen, zhou = _card_for(bureau, "陈局"), _card_for(bureau, "周组长")
    await bureau.press("周组长", zhou, "批准")
    for card in (chen, zhou):
        now = bureau.now_reads(card)
        assert "已由 周组长(局领导) 批准" in now["caption"] and not now.get("reply_markup")


async def test_pressing_approve_twice_records_once(bureau: OfflineBureau) -> None:
    await _claim(bureau, "冯科员")
    card = _card_for(bureau, "陈局")
    data = _button(card, "批准")
    await bureau.press("陈局", card, "批准")
    alert = await bureau.press("陈局", card, data=data)
    assert "已由 陈局(局领导) 批准" in alert.params["text"]
    assert len(_bonuses(bureau)) == 1


async def test_two_approvers_racing_record_one_bonus_and_the_second_is_told_who(
    bureau: OfflineBureau,
) -> None:
    await _claim(bureau, "张三", document=True)
    chen, zhou = _card_for(bureau, "陈局"), _card_for(bureau, "周组长")
    assert chen.get("document") and zhou.get("document")
    first = bureau.button("陈局", chen, "批准")
    second = bureau.button("周组长", zhou, "批准")  # pressed before the bot saw the first
    await bureau.deliver(first)
    alert = await bureau.press_update(second)
    assert alert.method == "answerCallbackQuery"
    assert "已由 陈局(局领导) 批准" in alert.params["text"]
    assert len(_bonuses(bureau)) == 1
    assert _bonus_of(bureau, "张三") == Decimal(5)


async def test_a_redelivered_approval_records_nothing_twice(bureau: OfflineBureau) -> None:
    await _claim(bureau, "冯科员")
    card = _card_for(bureau, "陈局")
    update = bureau.button("陈局", card, "批准")
    await bureau.deliver(update)
    sent_before = len(bureau.texts_to("冯科员"))
    assert [c for c in await bureau.deliver(update) if c.outgoing] == []
    assert len(_bonuses(bureau)) == 1
    assert len(bureau.texts_to("冯科员")) == sent_before


async def test_rejection_asks_a_reason_records_nothing_and_tells_the_claimant(
    bureau: OfflineBureau,
) -> None:
    await _claim(bureau, "冯科员", "一篇稿件", kind="信息稿件", level="区级")
    card, other = _card_for(bureau, "陈局"), _card_for(bureau, "周组长")
    asked = await bureau.press("陈局", card, "驳回")
    assert "理由" in (asked.text or "")
    since = bureau.mark()
    answer = await bureau.say("陈局", "证明材料不是采用通知")
    assert "已驳回" in (answer.text or "")
    notice = bureau.told("冯科员", since)
    assert "驳回" in (notice.text or "") and "证明材料不是采用通知" in (notice.text or "")
    assert _bonuses(bureau) == []
    other_now = bureau.now_reads(other)
    assert "驳回" in other_now["caption"] and not other_now.get("reply_markup")


async def test_cancelling_the_reason_leaves_the_claim_pending_and_text_is_free_again(
    bureau: OfflineBureau,
) -> None:
    await _claim(bureau, "冯科员")
    await bureau.press("陈局", _card_for(bureau, "陈局"), "驳回")
    cancelled = await bureau.say("陈局", "/cancel")
    assert "仍待审批" in (cancelled.text or "")
    pending = await bureau.say("陈局", "/pending")
    assert "1 项" in (pending.text or "")
    await _approve(bureau, "陈局")
    assert len(_bonuses(bureau)) == 1


async def test_staff_pressing_approve_is_refused_and_nothing_changes(bureau: OfflineBureau) -> None:
    await _claim(bureau, "冯科员")
    card = _card_for(bureau, "陈局")
    data = _button(card, "批准")
    alert = await bureau.press("李四", card, data=data)
    assert "没有这项操作的权限" in alert.params["text"]
    assert _bonuses(bureau) == []
    assert bureau.now_reads(card).get("reply_markup")


async def test_a_leader_of_another_department_is_refused(bureau: OfflineBureau) -> None:
    await _claim(bureau, "王五")  # 法规科: led by 周组长, not by 陈局
    card = _card_for(bureau, "周组长")
    data = _button(card, "批准")
    assert bureau.api.last_message(bureau.users["陈局"], with_keyboard=True) is None
    alert = await bureau.press("陈局", card, data=data)
    assert "分管领导" in alert.params["text"]
    assert _bonuses(bureau) == []


async def test_the_same_title_counts_once_at_its_highest_level(bureau: OfflineBureau) -> None:
    await _claim(bureau, "冯科员", "优秀公务员", level="市级")
    await _approve(bureau, "陈局")
    await _claim(bureau, "冯科员", "优秀公务员", level="省级")
    await _approve(bureau, "陈局")
    assert len(_bonuses(bureau)) == 2
    assert _bonus_of(bureau, "冯科员") == Decimal(8)


async def test_the_years_bonus_is_capped_through_claims(bureau: OfflineBureau) -> None:
    for title in ("抗洪先进个人", "普法先进个人"):
        await _claim(bureau, "冯科员", title, level="省级")
        await _approve(bureau, "陈局")
    assert _bonus_of(bureau, "冯科员") == Decimal(10)


async def test_pending_lists_only_the_claims_this_leader_may_decide(bureau: OfflineBureau) -> None:
    await _claim(bureau, "冯科员", "办公室的表彰")
    await _claim(bureau, "王五", "法规科的表彰")
    listed = await bureau.say("陈局", "/pending")
    assert "1 项" in (listed.text or "")
    card = _card_for(bureau, "陈局")
    assert "办公室的表彰" in card["caption"] and "法规科的表彰" not in card["caption"]
    listed = await bureau.say("周组长", "/pending")
    assert "2 项" in (listed.text or "")
    nothing = await bureau.say("冯科员", "/pending")
    assert "没有这项操作的权限" in (nothing.text or "")


async def test_claims_need_evidence_text_is_asked_again(bureau: OfflineBureau) -> None:
    ask = await bureau.say("李督查", "/claim")
    levels = await bureau.press("李督查", ask, "信息稿件")
    await bureau.press("李督查", levels, "市级")
    asked_date = await bureau.say("李督查", "某某稿件")
    await bureau.press("李督查", asked_date, "今天")
    again = await bureau.say("李督查", "冯科员 迟到")  # an inspector's text is not a finding here
    assert "必须附证据" in (again.text or "")
    cancelled = await bureau.say("李督查", "/cancel")
    assert "已取消" in (cancelled.text or "")
    card = await bureau.say("李督查", "冯科员 迟到")  # after /cancel: a finding again
    assert "请确认" in (card.text or "")
    with Session(bureau.svc.engine) as s:
        assert s.exec(select(PendingAction).where(PendingAction.kind == "claim")).all() == []


async def test_an_honour_of_december_claimed_and_approved_in_january_counts_for_december(
    bureau: OfflineBureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clock(bureau, monkeypatch, "2027-01-05 09:30")
    done = await _claim(bureau, "冯科员", "全市安全生产先进个人", level="省级", day="12月20日")
    assert "已提交" in (done.text or "")
    card = _card_for(bureau, "陈局")
    assert "获奖/刊发日期:2026年12月20日" in card["caption"]
    since = bureau.mark()
    await bureau.press("陈局", card, "批准")
    notice = bureau.told("冯科员", since)
    assert "加 8 分,计入 2026 年度" in (notice.text or "")
    [entry] = _bonuses(bureau)
    assert entry.fact_date == date(2026, 12, 20)
    assert _bonus_of(bureau, "冯科员", 2026) == Decimal(8)
    assert _bonus_of(bureau, "冯科员", 2027) == Decimal(0)


async def test_a_date_ahead_of_today_is_refused_and_asked_again(
    bureau: OfflineBureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clock(bureau, monkeypatch, "2026-06-30 09:30")
    ask = await bureau.say("冯科员", "/claim")
    await bureau.press("冯科员", await bureau.press("冯科员", ask, "表彰"), "市级")
    await bureau.say("冯科员", "全市安全生产先进个人")
    refused = await bureau.say("冯科员", "2026-07-01")
    assert "2026年7月1日还没到" in (refused.text or "")
    assert "请重新发送获奖/刊发日期" in (refused.text or "") and _button(refused.result, "今天")
    again = await bureau.say("冯科员", photo=PHOTO)  # the evidence too early: still the date
    assert "获奖/刊发日期" in (again.text or "")
    asked = await bureau.say("冯科员", "6月1日")
    assert "请发送证据" in (asked.text or "") and "2026年6月1日" in (asked.text or "")
    await bureau.say("冯科员", photo=PHOTO)
    assert "获奖/刊发日期:2026年6月1日" in _card_for(bureau, "陈局")["caption"]


async def test_a_date_in_a_locked_year_is_refused_and_today_is_still_offered(
    bureau: OfflineBureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clock(bureau, monkeypatch, "2027-01-05 09:30")
    with transaction(bureau.svc.engine) as s:
        s.add(YearLock(year=2026, locked_at=bureau.svc.now(), locked_by="周组长(局领导)"))
    ask = await bureau.say("冯科员", "/claim")
    await bureau.press("冯科员", await bureau.press("冯科员", ask, "表彰"), "市级")
    await bureau.say("冯科员", "全市安全生产先进个人")
    refused = await bureau.say("冯科员", "2026/12/20")
    assert "2026年度考核已定案锁定" in (refused.text or "")
    asked = await bureau.press("冯科员", refused, "今天")
    assert "请发送证据" in (asked.text or "") and "2027年1月5日" in (asked.text or "")
