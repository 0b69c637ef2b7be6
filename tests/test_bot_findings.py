"""The inspector's flow end to end: text → card → 确认 → entry, notice with 申诉, undo."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

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
    bureau.api.inject_callback(bureau.users["李督查"], card, data=f"fc:{_card_id(card)}")
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


def _card_id(call: object) -> int:
    markup = getattr(call, "params", {}).get("reply_markup")
    import json

    data = json.loads(markup) if isinstance(markup, str) else markup
    return int(data["inline_keyboard"][0][0]["callback_data"].split(":")[1])
