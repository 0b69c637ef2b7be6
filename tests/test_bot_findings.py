"""The inspector's flow in the chat: text → card → 确认 → entry, notice with 申诉, undo.

In process (tests/offline.py); the flow over HTTP is in tests/test_bot_end_to_end.py.
"""

from __future__ import annotations

import json
from decimal import Decimal

from sqlmodel import Session, select

from fakes.telegram import ApiCall
from scoring.models import Entry
from scoring.periods import Period
from tests.offline import OfflineBureau


def _entries(b: OfflineBureau) -> list[Entry]:
    with Session(b.svc.engine) as s:
        return list(s.exec(select(Entry)).all())


def _card_id(call: ApiCall) -> int:
    markup = call.params["reply_markup"]
    data = json.loads(markup) if isinstance(markup, str) else markup
    return int(data["inline_keyboard"][0][0]["callback_data"].split(":")[1])


async def test_the_card_records_nothing_until_confirmed_and_the_person_is_told(
    bureau: OfflineBureau,
) -> None:
    card = await bureau.say("李督查", "冯科员 迟到")
    assert "请确认" in (card.text or "") and "冯科员(办公室) 扣 0.5 分" in (card.text or "")
    assert _entries(bureau) == [] and bureau.texts_to("冯科员") == []
    since = bureau.mark()
    done = await bureau.press("李督查", card, "确认")
    assert done.method == "editMessageText" and "撤回(10分钟内)" in json.dumps(
        done.params["reply_markup"], ensure_ascii=False
    )
    notice = bureau.told("冯科员", since)
    assert "扣分通知" in (notice.text or "") and "0.5" in (notice.text or "")
    assert [(e.kind, e.points_cp) for e in _entries(bureau)] == [("deduction", 50)]
    standing = {s.name: s for s in bureau.svc.core.standings(Period.parse("2026"))}
    assert standing["冯科员"].categories["daily"].score == Decimal("19.5")


async def test_pressing_confirm_twice_records_once(bureau: OfflineBureau) -> None:
    card = await bureau.say("李督查", "张三、李四 早退")
    await bureau.press("李督查", card, "确认")
    again = await bureau.deliver(bureau.button("李督查", card, data=f"fc:{_card_id(card)}"))
    assert [c.method for c in again if c.method == "sendMessage"] == []  # nobody told twice
    assert len([e for e in _entries(bureau) if e.kind == "deduction"]) == 2
    assert sum("扣分通知" in t for t in bureau.texts_to("张三")) == 1


async def test_a_cancelled_card_records_nothing(bureau: OfflineBureau) -> None:
    card = await bureau.say("李督查", "冯科员 迟到")
    cancelled = await bureau.press("李督查", card, "取消")
    assert cancelled.method == "editMessageText" and "已取消" in (cancelled.text or "")
    assert _entries(bureau) == [] and bureau.texts_to("冯科员") == []


async def test_unknown_name_offers_the_closest_roster_names_as_buttons(
    bureau: OfflineBureau,
) -> None:
    answer = await bureau.say("李督查", "冯课员 迟到")
    assert "冯科员" in (answer.text or "") and _entries(bureau) == []
    card = await bureau.press("李督查", answer, "冯科员(办公室)")
    assert "请确认" in (card.text or "")


async def test_staff_cannot_record_findings(bureau: OfflineBureau) -> None:
    answer = await bureau.say("冯科员", "张三 迟到")
    assert "没有这项操作的权限" in (answer.text or "")
    assert _entries(bureau) == []


async def test_unbound_user_is_told_to_ask_for_a_code(bureau: OfflineBureau) -> None:
    answer = await bureau.say(4242, "张三 迟到")
    assert "绑定码" in (answer.text or "")
    assert _entries(bureau) == []


async def test_a_redelivered_confirm_records_nothing_twice_and_says_nothing(
    bureau: OfflineBureau,
) -> None:
    card = await bureau.say("李督查", "王五 旷工两天")
    press = bureau.button("李督查", card, "确认")
    await bureau.deliver(press)
    again = await bureau.deliver(press)  # as after a crash before Telegram was acknowledged
    assert [c for c in again if c.outgoing] == []
    deductions = [e for e in _entries(bureau) if e.kind == "deduction"]
    assert [(e.item_code, e.points_cp) for e in deductions] == [("daily_absent", 400)]
    assert sum("扣分通知" in t for t in bureau.texts_to("王五")) == 1


async def test_recorder_can_undo_within_ten_minutes_and_the_person_is_told(
    bureau: OfflineBureau,
) -> None:
    card = await bureau.say("李督查", "冯科员 迟到")
    recorded = await bureau.press("李督查", card, "确认")
    undone = await bureau.press("李督查", recorded, "撤回(10分钟内)")
    assert "已撤回" in (undone.text or "")
    assert any("已由记录人撤回" in t for t in bureau.texts_to("冯科员"))
    standing = {s.name: s for s in bureau.svc.core.standings(Period.parse("2026"))}
    assert standing["冯科员"].categories["daily"].score == 20
    kinds = sorted(e.kind for e in _entries(bureau))
    assert kinds == ["deduction", "revocation"]  # nothing deleted: the entry stays, revoked


async def test_a_photo_with_a_caption_is_kept_as_evidence(bureau: OfflineBureau) -> None:
    card = await bureau.send_photo("李督查", b"\x89PNG evidence", caption="李四 脱岗")
    assert "已附照片" in (card.text or "")
    await bureau.press("李督查", card, "确认")
    (entry,) = _entries(bureau)
    assert entry.evidence and bureau.api.file_bytes(entry.evidence) == b"\x89PNG evidence"


async def test_a_department_finding_charges_members_and_their_leader(
    bureau: OfflineBureau,
) -> None:
    card = await bureau.say("李督查", "执法监察科 未制定季度执法计划")
    text = card.text or ""
    assert "张三(执法监察科) 扣 3 分" in text and "陈局(局领导) 扣 3 分(分管领导)" in text
    await bureau.press("李督查", card, "确认")
    assert sorted(e.person_id or 0 for e in _entries(bureau)) == [3, 4, 6]
