"""An attendance export sent to the 钉钉 robot in 1:1 chat (a file message, fetched through
the OpenAPI): proposal cards with links, 确认扣分 records with the file's SHA-256 and tells the
person, 驳回 records nothing; as in Telegram and `kaohe attendance import`."""

from __future__ import annotations

import hashlib
import re

import pytest

from fakes.dingtalk.server import DOWNLOAD_PATH, Sent
from fakes.exports import dingtalk_xlsx
from tests.dingtalk_harness import DT, DingBureau, ding, to
from tests.test_bot_attendance import PERIOD, ROWS
from tests.test_dingtalk_bot import actions, entries
from usecases import attendance

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


async def test_staff_cannot_import_attendance_and_nothing_is_downloaded(
    ding: DingBureau,
) -> None:
    export = dingtalk_xlsx(ROWS, period=PERIOD)
    [answer] = to(await ding.file("冯科员", export, "考勤.xlsx"), "冯科员")
    assert "没有这项操作的权限" in answer
    [help_text] = to(await ding.file("冯科员", b"%PDF-1.7", "通知.pdf"), "冯科员")
    assert "/score" in help_text
    assert ding.fake.calls_to(DOWNLOAD_PATH) == []


async def test_a_file_that_is_no_export_gets_the_help(ding: DingBureau) -> None:
    [answer] = to(await ding.file("李督查", b"%PDF-1.7 ...", "通知.pdf"), "李督查")
    assert "/score" in answer and entries(ding) == []
    [unknown] = to(await ding.file("李督查", b"plain text", "考勤汇总2026.02"), "李督查")
    assert "/score" in unknown  # read (no known extension), and not a spreadsheet


async def _claim_with_file(ding: DingBureau, data: bytes, name: str) -> list[Sent]:
    """冯科员 claims a bonus and sends a file as its evidence; what was sent then."""
    [kinds] = to(await ding.say("冯科员", "/claim"), "冯科员")
    [levels] = to(await ding.say("冯科员", actions(kinds)["表彰"]), "冯科员")
    await ding.say("冯科员", actions(levels)["市级"])
    [date_q] = to(await ding.say("冯科员", "全市安全生产先进个人"), "冯科员")
    await ding.say("冯科员", actions(date_q)["今天"])
    sent = await ding.file("冯科员", data, name)
    assert any("已提交" in t for t in to(sent, "冯科员"))
    return sent


async def test_a_file_sent_during_a_claim_is_its_evidence(ding: DingBureau) -> None:
    sent = await _claim_with_file(ding, b"%PDF-1.7 certificate", "证书.pdf")
    [card] = [t for t in to(sent, "陈局") if "加分申报" in t]
    assert "批准" in actions(card)
    [certificate] = [s for s in sent if s.to == DT["陈局"] and s.media is not None]
    assert certificate.media is not None and certificate.media.data == b"%PDF-1.7 certificate"


async def test_evidence_dingtalk_cannot_take_as_a_file_leaves_the_card_going(
    ding: DingBureau,
) -> None:
    sent = await _claim_with_file(ding, b"\x00\x01 a scan of unknown kind", "扫描件")
    [card] = [t for t in to(sent, "陈局") if "加分申报" in t]
    assert "批准" in actions(card)
    assert [s for s in sent if s.to == DT["陈局"] and s.media is not None] == []


async def test_a_file_dingtalk_refuses_to_hand_over_says_whom_to_ask(ding: DingBureau) -> None:
    ding.fake.fail_next(DOWNLOAD_PATH, 400)
    export = dingtalk_xlsx(ROWS, period=PERIOD)
    [answer] = to(await ding.file("李督查", export, "考勤月度汇总-202602.xlsx"), "李督查")
    assert "钉钉拒绝下载文件“考勤月度汇总-202602.xlsx”" in answer and "管理员" in answer
    assert entries(ding) == []


async def test_a_file_too_large_for_an_export_is_not_read_past_the_limit(
    ding: DingBureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attendance, "EXPORT_MAX_BYTES", 2**20)
    big = b"PK\x03\x04" + bytes(2 * 2**20)
    [answer] = to(await ding.file("李督查", big, "考勤月度汇总-202602.xlsx"), "李督查")
    assert "超过 1 MB" in answer and "未读取" in answer
