"""A few whole flows end to end: the real Application polling the loopback fake Bot API over
PTB's HTTP stack (tests/harness.py), as in production. Every other handler test runs in
process (tests/offline.py); the duties' flows over HTTP are in tests/test_duties_bot.py and
webhook mode in tests/test_run.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from scoring.models import Entry
from scoring.periods import Period
from tests.harness import Bureau

PHOTO = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10"
REASON = "当天在外执法检查,有派车单为证"


def _entries(b: Bureau, kind: str | None = None) -> list[Entry]:
    with Session(b.svc.engine) as s:
        query = select(Entry) if kind is None else select(Entry).where(Entry.kind == kind)
        return list(s.exec(query).all())


def _standing(b: Bureau, name: str) -> Any:
    return {s.name: s for s in b.svc.core.standings(Period.parse("2026"))}[name]


async def test_inspector_records_a_late_arrival_and_the_person_is_told(
    live_bureau: Bureau,
) -> None:
    b = live_bureau
    card = await b.say("李督查", "冯科员 迟到")
    assert "请确认" in (card.text or "") and "冯科员(办公室) 扣 0.5 分" in (card.text or "")
    assert _entries(b) == []
    await b.press("李督查", card, "确认")
    notice = await b.api.wait_for_message(b.users["冯科员"])
    assert "扣分通知" in (notice.text or "") and "0.5" in (notice.text or "")
    assert [(e.kind, e.points_cp) for e in _entries(b)] == [("deduction", 50)]
    assert _standing(b, "冯科员").categories["daily"].score == Decimal("19.5")


async def test_a_redelivered_confirm_records_nothing_twice(live_bureau: Bureau) -> None:
    b = live_bureau
    card = await b.say("李督查", "王五 旷工两天")
    press = b.tap("李督查", card, "确认")
    await b.settle()
    mark = b.mark()
    b.api.redeliver(press["update_id"])  # as after a crash before Telegram was acknowledged
    assert [c for c in await b.after(mark) if c.outgoing] == []
    deductions = _entries(b, "deduction")
    assert [(e.item_code, e.points_cp) for e in deductions] == [("daily_absent", 400)]
    assert sum("扣分通知" in t for t in b.texts_to("王五")) == 1


async def test_a_claim_with_a_photo_approved_by_the_leader_counts_and_the_claimant_is_told(
    live_bureau: Bureau,
) -> None:
    b = live_bureau
    ask = await b.say("冯科员", "/claim")
    levels = await b.press("冯科员", ask, "表彰")
    asked_title = await b.press("冯科员", levels, "省级")
    assert "请发送" in (asked_title.text or "")
    asked_date = await b.say("冯科员", "全市安全生产先进个人")
    asked_evidence = await b.press("冯科员", asked_date, "今天")
    assert "请发送证据" in (asked_evidence.text or "")
    done = await b.say("冯科员", photo=PHOTO)
    assert "已提交" in (done.text or "") and "陈局" in (done.text or "")
    card = b.api.last_message(b.users["陈局"], with_keyboard=True)
    assert card is not None and "冯科员" in card["caption"] and "省级" in card["caption"]
    assert b.api.file_bytes(card["photo"][-1]["file_id"]) == PHOTO
    since = b.mark()
    await b.press("陈局", card, "批准")
    notice = await b.api.wait_for_message(b.users["冯科员"], since=since)
    assert "已批准" in (notice.text or "") and "加 8 分" in (notice.text or "")
    [entry] = _entries(b, "bonus")
    assert entry.source == "bot" and entry.evidence and entry.recorded_by == "陈局(局领导)"
    assert _standing(b, "冯科员").bonus == Decimal(8)


async def test_an_appeal_revoked_by_the_leading_group_restores_the_score(
    live_bureau: Bureau,
) -> None:
    b = live_bureau
    card = await b.say("李督查", "冯科员 迟到")
    since = b.mark()
    await b.press("李督查", card, "确认")
    notice = await b.api.wait_for_message(b.users["冯科员"], since=since)
    asked = await b.press("冯科员", notice, "申诉")
    assert "申诉理由" in (asked.text or "")
    answer = await b.say("冯科员", REASON)
    assert "申诉已提交" in (answer.text or "")
    await b.settle()
    appeal = b.api.last_message(b.users["周组长"], with_keyboard=True)
    assert appeal is not None and REASON in appeal["text"]
    since = b.mark()
    await b.press("周组长", appeal, "撤销")
    told = await b.api.wait_for_message(b.users["冯科员"], since=since)
    assert "申诉成立" in (told.text or "")
    await b.settle()
    decided = b.api.message(appeal["chat"]["id"], appeal["message_id"])
    assert decided is not None and "已由 周组长(局领导) 撤销" in decided["text"]
    assert _standing(b, "冯科员").categories["daily"].score == 20


async def test_a_flood_limit_answered_over_http_is_waited_out_and_the_notice_arrives_once(
    live_bureau: Bureau,
) -> None:
    b = live_bureau
    card = await b.say("李督查", "张三 迟到")
    b.api.fail_next("sendMessage", status=429, retry_after=1)
    since = b.mark()
    await b.press("李督查", card, "确认")
    notice = await b.api.wait_for_message(b.users["张三"], since=since)
    assert "扣分通知" in (notice.text or "")
    refused = [c for c in b.since(since) if c.status == 429]
    assert [c.chat_id for c in refused] == [b.users["张三"]]
    await b.settle()
    assert sum("扣分通知" in t for t in b.texts_to("张三")) == 1
