"""An attendance export sent to the bot by the office (in process): proposal cards in the
chat, 确认扣分 records through the ledger with the file's SHA-256, the person is told."""

from __future__ import annotations

import hashlib

from sqlmodel import Session, select

from fakes.exports import dingtalk_xlsx
from scoring.models import Entry
from tests.offline import OfflineBureau

# the harness's bureau: 冯科员 (办公室) late twice, 王五 (法规科) leaving early once
ROWS: list[tuple[str, str, int | None, int | None, int | None]] = [
    ("冯科员", "办公室", 2, None, None),
    ("王五", "法规科", None, 1, None),
    ("赵六", "综合科", 1, None, None),  # not on the roster
]
PERIOD = "统计日期:2026-02-01 至 2026-02-28    报表生成时间:2026-03-01 10:15"


def _deductions(b: OfflineBureau) -> list[Entry]:
    with Session(b.svc.engine) as s:
        return list(s.exec(select(Entry).where(Entry.kind == "deduction")).all())


async def test_an_export_sent_to_the_bot_becomes_cards_the_office_confirms(
    bureau: OfflineBureau,
) -> None:
    export = dingtalk_xlsx(ROWS, period=PERIOD)
    since = bureau.mark()
    summary = await bureau.say("李督查", document=("考勤月度汇总-202602.xlsx", export))
    assert "新的扣分建议 2 条" in (summary.text or "") and "赵六" in (summary.text or "")
    cards = [
        c
        for c in bureau.since(since)
        if c.method == "sendMessage" and "考勤扣分建议" in (c.text or "")
    ]
    assert len(cards) == 2 and _deductions(bureau) == []
    [feng] = [c for c in cards if "冯科员" in (c.text or "")]
    done = await bureau.press("李督查", feng, "确认扣分")
    assert "已记录" in (done.text or "")
    [entry] = _deductions(bureau)
    assert (entry.source, entry.evidence) == ("attendance", hashlib.sha256(export).hexdigest())
    assert any("扣分通知" in t and "迟到 2次" in t for t in bureau.texts_to("冯科员"))
    [wang] = [c for c in cards if "王五" in (c.text or "")]
    dismissed = await bureau.press("李督查", wang, "驳回")
    assert "已驳回" in (dismissed.text or "") and len(_deductions(bureau)) == 1
    again = await bureau.say("李督查", document=("考勤月度汇总-202602.xlsx", export))
    assert "新的扣分建议 0 条" in (again.text or "")  # the same file proposes nothing new


async def test_staff_cannot_import_attendance(bureau: OfflineBureau) -> None:
    answer = await bureau.say("冯科员", document=("考勤.xlsx", dingtalk_xlsx(ROWS, period=PERIOD)))
    assert "没有这项操作的权限" in (answer.text or "")
