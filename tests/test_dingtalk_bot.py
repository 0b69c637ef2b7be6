"""钉钉 end to end: every flow a person has, in 1:1 chat with the robot, through the real
dingtalk-stream SDK and the OpenAPI against the loopback fake DingTalk."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from io import BytesIO
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlmodel import Session, select

from fakes.dingtalk import USERS_SEND_PATH
from scoring.accounts import create_invite
from scoring.db import transaction
from scoring.models import Entry, Person
from tests.dingtalk_harness import DT, DingBureau, ding, to

__all__ = ["ding"]
LINK = re.compile(r"\[([^\]]+)\]\(dtmd://dingtalkclient/sendMessage\?content=([^)]+)\)")


def actions(text: str) -> dict[str, str]:
    """The action links of a message: label → the command a tap sends."""
    return {label: unquote(cmd) for label, cmd in LINK.findall(text)}


def entries(b: DingBureau) -> list[Entry]:
    with Session(b.svc.engine) as s:
        return list(s.exec(select(Entry).where(Entry.kind == "deduction")).all())


def png() -> bytes:
    buf = BytesIO()
    Image.new("RGB", (4, 4), "red").save(buf, format="PNG")
    return buf.getvalue()


async def test_a_finding_is_confirmed_once_and_the_person_gets_the_notice_with_appeal(
    ding: DingBureau,
) -> None:
    [card] = to(await ding.say("李督查", "冯科员 迟到"), "李督查")
    assert "请确认" in card and "冯科员(办公室) 扣 0.5 分" in card
    confirm = actions(card)["确认"]
    assert re.fullmatch(r"确认 \d+", confirm) and entries(ding) == []
    sent = await ding.say("李督查", confirm)
    assert any("已记录" in t for t in to(sent, "李督查"))
    [notice] = to(sent, "冯科员")
    assert "扣分通知" in notice and actions(notice)["申诉"].startswith("申诉 ")
    again = await ding.say("李督查", confirm)  # a second tap on the same link
    assert any("已记录" in t for t in to(again, "李督查"))  # the card, as recorded
    assert to(again, "冯科员") == []  # the notice went out once
    assert len(entries(ding)) == 1


async def test_a_message_pushed_again_records_nothing_twice(ding: DingBureau) -> None:
    [card] = to(await ding.say("李督查", "张三 早退"), "李督查")
    msg_id = ding.fake.inject_text(DT["李督查"], actions(card)["确认"])
    await ding.fake.wait_for_ack(msg_id)
    since = len(ding.fake.sends)
    ding.fake.redeliver(msg_id)  # DingTalk pushes the same msgId again
    await ding.fake.wait_for_deliveries(msg_id, 2)
    await ding.fake.wait_for_ack(msg_id)
    assert ding.fake.sends[since:] == []  # processed once: nothing said twice
    assert len(entries(ding)) == 1


async def test_a_picture_with_text_is_a_finding_with_its_evidence(ding: DingBureau) -> None:
    [card] = to(await ding.picture("李督查", png(), "王五 迟到"), "李督查")
    await ding.say("李督查", actions(card)["确认"])
    [entry] = entries(ding)
    assert entry.evidence.startswith("dt:")


async def test_a_mistyped_name_offers_the_roster_names_as_links(ding: DingBureau) -> None:
    [hint] = to(await ding.say("李督查", "冯课员 迟到"), "李督查")
    pick = actions(hint)["冯科员(办公室)"]
    [card] = to(await ding.say("李督查", pick), "李督查")
    assert "请确认" in card and "冯科员" in card


async def test_undo_within_the_window_takes_the_finding_back(ding: DingBureau) -> None:
    [card] = to(await ding.say("李督查", "李四 迟到"), "李督查")
    done = await ding.say("李督查", actions(card)["确认"])
    [recorded] = [t for t in to(done, "李督查") if "已记录" in t]
    undone = await ding.say("李督查", actions(recorded)["撤回(10分钟内)"])
    assert any("撤回" in t for t in to(undone, "李督查"))
    assert any("撤回" in t for t in to(undone, "李四"))
    with Session(ding.svc.engine) as s:
        assert len(s.exec(select(Entry).where(Entry.kind == "revocation")).all()) == 1


async def test_binding_with_the_invite_code(ding: DingBureau) -> None:
    with transaction(ding.svc.engine) as s:
        code, _ = create_invite(s, "王五", now=ding.svc.now(), ttl=timedelta(days=7), actor="t")
        person = s.exec(select(Person).where(Person.name == "王五")).one()
        person.dingtalk_user_id = None
        s.add(person)
    ding.fake.add_user("newcomer", "王五")
    [refused] = to(await ding.say("newcomer", "/score"), "newcomer")
    assert "绑定" in refused
    [bound] = to(await ding.say("newcomer", f"绑定 {code}"), "newcomer")
    assert "绑定成功" in bound and "王五" in bound
    [score] = to(await ding.say("newcomer", "/score"), "newcomer")
    assert "王五 的" in score


async def test_staff_cannot_record_findings_in_dingtalk_either(ding: DingBureau) -> None:
    [answer] = to(await ding.say("冯科员", "张三 迟到"), "冯科员")
    assert "没有这项操作的权限" in answer and entries(ding) == []


async def test_score_asked_in_the_group_is_answered_in_private(ding: DingBureau) -> None:
    sent = await ding.say("张三", "/score", conversation="group", at=True)
    group = [s.text for s in sent if s.to == ding.fake.group_id]
    assert group and "私信" in group[0]
    assert any("张三 的" in t for t in to(sent, "张三"))
    quiet = await ding.say("张三", "/score", conversation="group", at=False)
    assert quiet == []  # not @-mentioned: the robot stays quiet


async def test_an_appeal_is_decided_by_the_leading_group(ding: DingBureau) -> None:
    [card] = to(await ding.say("李督查", "冯科员 迟到"), "李督查")
    [notice] = to(await ding.say("李督查", actions(card)["确认"]), "冯科员")
    [ask] = to(await ding.say("冯科员", actions(notice)["申诉"]), "冯科员")
    assert "理由" in ask
    sent = await ding.say("冯科员", "当天在外执法,有派车单")
    [appeal] = to(sent, "周组长")
    assert "当天在外执法" in appeal
    decided = await ding.say("周组长", actions(appeal)["撤销"])
    assert any("撤销" in t for t in to(decided, "冯科员"))
    with Session(ding.svc.engine) as s:
        assert len(s.exec(select(Entry).where(Entry.kind == "revocation")).all()) == 1


async def _claim(ding: DingBureau, who: str, title: str) -> str:
    """/claim through every step with a picture as evidence; the approver's card."""
    [kinds] = to(await ding.say(who, "/claim"), who)
    [levels] = to(await ding.say(who, actions(kinds)["表彰"]), who)
    await ding.say(who, actions(levels)["市级"])
    [date_q] = to(await ding.say(who, title), who)
    await ding.say(who, actions(date_q)["今天"])
    sent = await ding.picture(who, png())
    assert any("已提交" in t for t in to(sent, who))
    [card] = [t for t in to(sent, "陈局") if "加分申报" in t]
    assert any(s.media is not None for s in sent if s.to == DT["陈局"])  # the certificate
    return card


async def test_a_claim_with_its_evidence_is_approved_by_the_leader(ding: DingBureau) -> None:
    card = await _claim(ding, "冯科员", "全市安全生产先进个人")
    decided = await ding.say("陈局", actions(card)["批准"])
    assert any("批准" in t for t in to(decided, "冯科员"))
    with Session(ding.svc.engine) as s:
        assert len(s.exec(select(Entry).where(Entry.kind == "bonus")).all()) == 1


async def test_a_claim_rejected_with_a_reason_records_nothing(ding: DingBureau) -> None:
    card = await _claim(ding, "冯科员", "优秀信息员")
    [why] = to(await ding.say("陈局", actions(card)["驳回"]), "陈局")
    assert "理由" in why
    decided = await ding.say("陈局", "证书不是本年度的")
    assert any("证书不是本年度的" in t for t in to(decided, "冯科员"))
    with Session(ding.svc.engine) as s:
        assert s.exec(select(Entry).where(Entry.kind == "bonus")).all() == []


async def test_a_failed_send_is_retried(ding: DingBureau) -> None:
    ding.fake.fail_next(USERS_SEND_PATH, 500, times=2)
    since = len(ding.fake.sends)
    ding.fake.inject_text(DT["李督查"], "王五 迟到")
    card = await ding.fake.wait_for_send(DT["李督查"], since=since, timeout=15)
    assert "请确认" in card.text
    assert len(ding.fake.calls_to(USERS_SEND_PATH)) == 3  # two refused, then delivered
    assert [s for s in ding.fake.sends[since:] if s.to == DT["李督查"]] == [card]  # once


async def test_a_notice_dingtalk_could_not_take_for_now_is_sent_again_from_a_link(
    ding: DingBureau,
) -> None:
    [card] = to(await ding.say("李督查", "冯科员 迟到"), "李督查")
    ding.fake.fail_next(USERS_SEND_PATH, 500, times=4)  # the notice: every attempt refused
    since = len(ding.fake.sends)
    ding.fake.inject_text(DT["李督查"], actions(card)["确认"])
    # the retries outlast DingTalk's wait for the ACK: it pushes the message again meanwhile
    warned = await ding.fake.wait_for_send(
        DT["李督查"], lambda s: "暂未送达" in s.text, timeout=30, since=since
    )
    pending = warned.text
    assert to(ding.fake.sends[since:], "冯科员") == [] and len(entries(ding)) == 1
    again = await ding.say("李督查", actions(pending)["补发通知"])
    [notice] = to(again, "冯科员")
    assert "扣分通知" in notice
    assert to(await ding.say("李督查", actions(pending)["补发通知"]), "冯科员") == []  # once


async def test_a_secret_ballot_in_dingtalk_rates_through_its_links(
    ding: DingBureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    moment = datetime(2026, 12, 28, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    monkeypatch.setattr(ding.svc, "now", lambda: moment)
    sent = await ding.say("周组长", "/vote open 2026 2027-01-06")
    assert any("民主评议已开始" in t for t in to(sent, "周组长"))
    [ballot] = [t for t in to(sent, "冯科员") if "选票" in t]
    links = LINK.findall(ballot)
    rate = next(unquote(cmd) for label, cmd in links if label == "优")
    assert rate.startswith("评议 2026 ")
    [page] = to(await ding.say("冯科员", rate), "冯科员")
    assert "已评 1/" in page and "优秀" in page
    assert actions(page)["汇总 · 提交"].startswith("选票汇总 2026")
