"""Appeals in the chat: 申诉 on a deduction notice → reason → the leading group's 维持 / 撤销.

In process (tests/offline.py); one appeal decided over HTTP is in tests/test_bot_end_to_end.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from fakes.telegram import ApiCall
from scoring.models import Entry
from scoring.periods import Period
from tests.offline import OfflineBureau

REASON = "当天在外执法检查,有派车单为证"


def _entries(b: OfflineBureau, kind: str) -> list[Entry]:
    with Session(b.svc.engine) as s:
        return list(s.exec(select(Entry).where(Entry.kind == kind)).all())


def _daily(b: OfflineBureau, name: str) -> Decimal | None:
    year = Period.parse(str(b.svc.now().year))
    return {s.name: s.categories["daily"].score for s in b.svc.core.standings(year)}[name]


async def _deduct(b: OfflineBureau, text: str, who: str, *, inspector: str = "李督查") -> ApiCall:
    """The inspector records and confirms a finding; returns the notice `who` receives."""
    card = await b.say(inspector, text)
    since = b.mark()
    await b.press(inspector, card, "确认")
    notice = b.told(who, since)
    assert "申诉" in (notice.text or "")
    return notice


async def _appeal(b: OfflineBureau, who: str, notice: ApiCall, reason: str = REASON) -> ApiCall:
    """`who` presses 申诉 and gives the reason; returns the bot's answer."""
    asked = await b.press(who, notice, "申诉")
    assert "申诉理由" in (asked.text or "")
    return await b.say(who, reason)


def _button(message: dict[str, Any], label: str) -> str:
    """The callback data of a button on a message."""
    rows = message["reply_markup"]["inline_keyboard"]
    return next(str(b["callback_data"]) for row in rows for b in row if b["text"] == label)


def _appeal_card(b: OfflineBureau, who: str = "周组长") -> dict[str, Any]:
    card = b.card(who)
    assert "申诉" in (card.get("text") or ""), card
    return card


async def _decide(b: OfflineBureau, button: str, who: str = "周组长") -> int:
    """A leading-group member decides the newest appeal; returns where the calls stood."""
    since = b.mark()
    await b.press(who, _appeal_card(b, who), button)
    return since


async def test_revoked_appeal_restores_the_score_and_both_people_are_told(
    bureau: OfflineBureau,
) -> None:
    notice = await _deduct(bureau, "冯科员 迟到", "冯科员")
    assert _daily(bureau, "冯科员") == Decimal("19.5")
    answer = await _appeal(bureau, "冯科员", notice)
    assert "申诉已提交" in (answer.text or "") and "周组长" in (answer.text or "")
    card = _appeal_card(bureau)
    assert REASON in card["text"] and "冯科员" in card["text"]
    since = await _decide(bureau, "撤销")
    [revocation] = _entries(bureau, "revocation")
    assert revocation.reason == f"申诉成立:{REASON}" and revocation.recorded_by == "周组长(局领导)"
    assert _daily(bureau, "冯科员") == Decimal(20)
    appellant = bureau.told("冯科员", since)
    assert "申诉成立" in (appellant.text or "")
    recorder = bureau.told("李督查", since)
    assert "撤销" in (recorder.text or "") and REASON in (recorder.text or "")
    decided = bureau.now_reads(card)
    assert "已由 周组长(局领导) 撤销" in decided["text"]
    assert not decided.get("reply_markup")


async def test_upheld_appeal_keeps_the_entry_and_the_appellant_is_told(
    bureau: OfflineBureau,
) -> None:
    notice = await _deduct(bureau, "冯科员 迟到", "冯科员")
    await _appeal(bureau, "冯科员", notice)
    since = await _decide(bureau, "维持")
    assert _entries(bureau, "revocation") == []
    assert _daily(bureau, "冯科员") == Decimal("19.5")
    told = bureau.told("冯科员", since)
    assert "维持原记录" in (told.text or "")


async def test_only_the_person_charged_may_appeal(bureau: OfflineBureau) -> None:
    notice = await _deduct(bureau, "冯科员 迟到", "冯科员")
    data = _button(notice.result, "申诉")
    assert data.startswith("ap:")
    alert = await bureau.press("张三", notice, data=data)
    assert "只有被扣分的本人" in alert.params["text"]
    reply = await bureau.say("张三", "这句话不是申诉理由")
    assert "申诉已提交" not in (reply.text or "")
    assert bureau.api.last_message(bureau.users["周组长"], with_keyboard=True) is None


async def test_one_open_appeal_per_entry(bureau: OfflineBureau) -> None:
    notice = await _deduct(bureau, "冯科员 迟到", "冯科员")
    await _appeal(bureau, "冯科员", notice)
    alert = await bureau.press("冯科员", notice, "申诉")
    assert "正在处理中" in alert.params["text"]


async def test_an_appeal_is_decided_once(bureau: OfflineBureau) -> None:
    notice = await _deduct(bureau, "冯科员 迟到", "冯科员")
    await _appeal(bureau, "冯科员", notice)
    card = _appeal_card(bureau)
    data = _button(card, "撤销")
    await _decide(bureau, "撤销")
    alert = await bureau.press("周组长", card, data=data)
    assert "已由 周组长(局领导) 撤销原记录" in alert.params["text"]
    assert len(_entries(bureau, "revocation")) == 1


async def test_a_leader_outside_the_leading_group_cannot_decide_an_appeal(
    bureau: OfflineBureau,
) -> None:
    notice = await _deduct(bureau, "张三 迟到", "张三")
    await _appeal(bureau, "张三", notice)
    card = _appeal_card(bureau)
    alert = await bureau.press("陈局", card, data=_button(card, "撤销"))
    assert "没有这项操作的权限" in alert.params["text"]
    assert _entries(bureau, "revocation") == []
    assert bureau.now_reads(card).get("reply_markup")  # still open for the leading group


async def test_after_a_cancelled_appeal_an_inspectors_text_is_a_finding_again(
    bureau: OfflineBureau,
) -> None:
    notice = await _deduct(bureau, "李督查 迟到", "李督查", inspector="管理员甲")
    asked = await bureau.press("李督查", notice, "申诉")
    assert "申诉理由" in (asked.text or "")
    cancelled = await bureau.say("李督查", "/cancel")
    assert "未提交申诉" in (cancelled.text or "")
    card = await bureau.say("李督查", "冯科员 早退")
    assert "请确认" in (card.text or "")
