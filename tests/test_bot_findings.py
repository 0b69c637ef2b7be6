"""The inspector's flow end to end: text → card → 确认 → entry, notice with 申诉, undo."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlmodel import Session, select

from fakes.telegram import ApiCall
from scoring.models import Entry
from scoring.periods import Period
from tests.harness import Bureau


def _entries(b: Bureau) -> list[Entry]:
    with Session(b.svc.engine) as s:
        return list(s.exec(select(Entry)).all())


async def test_inspector_records_a_late_arrival_and_the_person_is_told(bureau: Bureau) -> None:
    card = await bureau.say("李督查", "冯科员 迟到")
    assert "请确认" in (card.text or "") and "冯科员(办公室) 扣 0.5 分" in (card.text or "")
    assert _entries(bureau) == []
    done = await bureau.press("李督查", card, "确认")
    assert done is not None
    notice = await bureau.api.wait_for_message(bureau.users["冯科员"])
    assert "扣分通知" in (notice.text or "") and "0.5" in (notice.text or "")
    entries = _entries(bureau)
    assert [(e.kind, e.points_cp) for e in entries] == [("deduction", 50)]
    standing = {s.name: s for s in bureau.svc.core.standings(Period.parse("2026"))}
    assert standing["冯科员"].categories["daily"].score == Decimal("19.5")


async def test_pressing_confirm_twice_records_once(bureau: Bureau) -> None:
    card = await bureau.say("李督查", "张三、李四 早退")
    await bureau.press("李督查", card, "确认")
    bureau.tap("李督查", card, data=f"fc:{_card_id(card)}")
    await bureau.settle()
    assert len([e for e in _entries(bureau) if e.kind == "deduction"]) == 2


async def test_unknown_name_offers_the_closest_roster_names_as_buttons(bureau: Bureau) -> None:
    answer = await bureau.say("李督查", "冯课员 迟到")
    assert "冯科员" in (answer.text or "") and _entries(bureau) == []
    card = await bureau.press("李督查", answer, "冯科员(办公室)")
    assert "请确认" in (card.text or "")


async def test_staff_cannot_record_findings(bureau: Bureau) -> None:
    answer = await bureau.say("冯科员", "张三 迟到")
    assert "没有这项操作的权限" in (answer.text or "")
    assert _entries(bureau) == []


async def test_unbound_user_is_told_to_ask_for_a_code(bureau: Bureau) -> None:
    answer = await bureau.say(4242, "张三 迟到")
    assert "绑定码" in (answer.text or "")
    assert _entries(bureau) == []


def _card_id(call: ApiCall) -> int:
    markup = call.params["reply_markup"]
    data = json.loads(markup) if isinstance(markup, str) else markup
    return int(data["inline_keyboard"][0][0]["callback_data"].split(":")[1])


async def test_a_redelivered_confirm_records_nothing_twice(bureau: Bureau) -> None:
    card = await bureau.say("李督查", "王五 旷工两天")
    press = bureau.tap("李督查", card, "确认")
    await bureau.settle()
    bureau.api.redeliver(press["update_id"])  # as after a crash before Telegram was acknowledged
    await bureau.settle()
    deductions = [e for e in _entries(bureau) if e.kind == "deduction"]
    assert [(e.item_code, e.points_cp) for e in deductions] == [("daily_absent", 400)]


async def test_recorder_can_undo_within_ten_minutes_and_the_person_is_told(bureau: Bureau) -> None:
    card = await bureau.say("李督查", "冯科员 迟到")
    recorded = await bureau.press("李督查", card, "确认")
    await bureau.settle()
    undone = await bureau.press("李督查", recorded, "撤回(10分钟内)")
    assert "已撤回" in (undone.text or "")
    await bureau.settle()
    assert any("已由记录人撤回" in t for t in bureau.texts_to("冯科员"))
    standing = {s.name: s for s in bureau.svc.core.standings(Period.parse("2026"))}
    assert standing["冯科员"].categories["daily"].score == 20
    kinds = sorted(e.kind for e in _entries(bureau))
    assert kinds == ["deduction", "revocation"]  # nothing deleted: the entry stays, revoked


async def test_a_photo_with_a_caption_is_kept_as_evidence(bureau: Bureau) -> None:
    card = await bureau.say("李督查", photo=b"\x89PNG evidence", caption="李四 脱岗")
    assert "已附照片" in (card.text or "")
    await bureau.press("李督查", card, "确认")
    await bureau.settle()
    (entry,) = _entries(bureau)
    assert entry.evidence and bureau.api.file_bytes(entry.evidence) == b"\x89PNG evidence"


async def test_a_department_finding_charges_members_and_their_leader(bureau: Bureau) -> None:
    card = await bureau.say("李督查", "执法监察科 未制定季度执法计划")
    text = card.text or ""
    assert "张三(执法监察科) 扣 3 分" in text and "陈局(局领导) 扣 3 分(分管领导)" in text
    await bureau.press("李督查", card, "确认")
    await bureau.settle()
    assert sorted(e.person_id or 0 for e in _entries(bureau)) == [3, 4, 6]
