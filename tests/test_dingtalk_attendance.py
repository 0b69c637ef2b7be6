"""An attendance export sent to the 钉钉 robot in 1:1 chat (a file message, fetched through
the OpenAPI): proposal cards with links, 确认扣分 records with the file's SHA-256 and tells the
person, 驳回 records nothing; as in Telegram and `kaohe attendance import`."""

from __future__ import annotations

import hashlib
import re

from fakes.dingtalk.server import DOWNLOAD_PATH
from fakes.exports import dingtalk_xlsx
from tests.dingtalk_harness import DingBureau, ding, to
from tests.test_bot_attendance import PERIOD, ROWS
from tests.test_dingtalk_bot import actions, entries

__all__ = ["ding"]


async def test_an_export_sent_to_the_robot_becomes_cards_the_office_confirms(
    ding: DingBureau,
) -> None:
    export = dingtalk_xlsx(ROWS, period=PERIOD)
    sent = to(await ding.file("李督查", export, "考勤月度汇总-202602.xlsx"), "李督查")
    summary, *cards = sent
    assert "新的扣分建议 2 条" in summary and "赵六" in summary
    assert len(cards) == 2 and all("考勤扣分建议" in c for c in cards) and entries(ding) == []
    [feng] = [c for c in cards if "冯科员" in c]
    confirm = actions(feng)["确认扣分"]
    assert re.fullmatch(r"确认考勤 \d+", confirm)
    done = await ding.say("李督查", confirm)
    assert any("已记录" in t for t in to(done, "李督查"))
    [entry] = entries(ding)
    assert (entry.source, entry.evidence) == ("attendance", hashlib.sha256(export).hexdigest())
    [notice] = to(done, "冯科员")
    assert "扣分通知" in notice and "迟到 2次" in notice and "申诉" in actions(notice)
    [wang] = [c for c in cards if "王五" in c]
    dismissed = await ding.say("李督查", actions(wang)["驳回"])
    assert any("已驳回" in t for t in to(dismissed, "李督查")) and len(entries(ding)) == 1
    again = to(await ding.file("李督查", export, "考勤月度汇总-202602.xlsx"), "李督查")
    assert "新的扣分建议 0 条" in again[0]  # the same file proposes nothing new


async def test_an_export_whose_name_came_without_its_extension_is_read(ding: DingBureau) -> None:
    export = dingtalk_xlsx(ROWS, period=PERIOD)
    summary, *_ = to(await ding.file("李督查", export, "考勤月度汇总-202602"), "李督查")
    assert "新的扣分建议 2 条" in summary


async def test_staff_cannot_import_attendance_in_dingtalk(ding: DingBureau) -> None:
    export = dingtalk_xlsx(ROWS, period=PERIOD)
    [answer] = to(await ding.file("冯科员", export, "考勤.xlsx"), "冯科员")
    assert "没有这项操作的权限" in answer


async def test_a_file_that_is_no_export_gets_the_help(ding: DingBureau) -> None:
    [answer] = to(await ding.file("李督查", b"%PDF-1.7 ...", "通知.pdf"), "李督查")
    assert "/score" in answer and entries(ding) == []


async def test_a_file_dingtalk_will_not_hand_over_is_asked_for_again(ding: DingBureau) -> None:
    ding.fake.fail_next(DOWNLOAD_PATH, 400)
    export = dingtalk_xlsx(ROWS, period=PERIOD)
    [answer] = to(await ding.file("李督查", export, "考勤月度汇总-202602.xlsx"), "李督查")
    assert "未能读取文件“考勤月度汇总-202602.xlsx”" in answer and "重新发送" in answer
