"""The permission matrix in 钉钉: every command and action against every role, unbound
included, exactly as in Telegram (one table, usecases/permissions.py, decides both)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import pytest

from tests.dingtalk_harness import DingBureau, ding, to
from tests.test_dingtalk_bot import actions
from tests.test_permissions import LEDGER_TABLES, PLAYERS, REFUSED, allowed_for, dump_ledger
from usecases.permissions import PERMISSIONS

__all__ = ["ding"]
STRANGER = "dt-stranger"
Setup = Callable[[DingBureau], Awaitable[str]]


async def _nothing(b: DingBureau) -> str:
    return ""


async def _card(b: DingBureau) -> str:
    [card] = to(await b.say("李督查", "冯科员 迟到"), "李督查")
    return card


async def _recorded(b: DingBureau) -> str:
    sent = await b.say("李督查", actions(await _card(b))["确认"])
    return next(t for t in to(sent, "李督查") if "已记录" in t)


async def _hint(b: DingBureau) -> str:
    [hint] = to(await b.say("李督查", "冯课员 迟到"), "李督查")
    return hint


def _says(message: str) -> Callable[[str], str]:
    return lambda _target: message


def _taps(label: str) -> Callable[[str], str]:
    return lambda target: actions(target)[label]


PROBES: dict[str, tuple[Setup, Callable[[str], str]]] = {
    "start": (_nothing, _says("/start")),
    "help": (_nothing, _says("/help")),
    "finding": (_nothing, _says("张三 迟到")),
    "finding_confirm": (_card, _taps("确认")),
    "finding_cancel": (_card, _taps("取消")),
    "finding_undo": (_recorded, _taps("撤回(10分钟内)")),
    "finding_pick": (_hint, _taps("冯科员(办公室)")),
    "spot_check": (_nothing, _says("/checked 未发现问题")),
    "score": (_nothing, _says("/score")),
    "notes": (_nothing, _says("/notes 学习内容")),
    "reflection": (_nothing, _says("/reflection 心得内容")),
    "dept": (_nothing, _says("/dept")),
    "standings": (_nothing, _says("/standings")),
    "veto": (_nothing, _says("/veto 王五 拒不服从组织决定")),
    "revoke": (_nothing, _says("/revoke 1 误记")),
    "vote": (_nothing, _says("/vote open 2025")),
    "ballot": (_nothing, _says("/ballot")),
    "scores": (_nothing, _says("/leaderscore 王五 4")),
}


@pytest.mark.parametrize("name", list(PROBES))
async def test_permission_matrix_in_dingtalk(ding: DingBureau, name: str) -> None:
    ding.fake.add_user(STRANGER, "陌生人")
    ding.svc.core.record_finding(  # entry #1, for /revoke
        "王五 迟到", fact_date=date(2026, 3, 2), by="李督查(办公室)", now=ding.svc.now()
    )
    setup, act = PROBES[name]
    for role, player in PLAYERS.items():
        who = STRANGER if role == "未绑定" else str(player)
        message = act(await setup(ding))
        before = dump_ledger(ding.svc.engine)
        answers = to(await ding.say(who, message), who)
        answer = "\n".join(answers)
        refused = any(r in answer for r in REFUSED)
        if PERMISSIONS[name] is None:
            assert answer, f"{name} gave {role} no answer"
        elif allowed_for(name, role):
            assert not refused, f"{role} was refused {name}: {answer}"
        else:
            assert refused, f"{role} was let through to {name}: {answer}"
            after = dump_ledger(ding.svc.engine)
            changed = {t for t in LEDGER_TABLES if before[t] != after[t] and t != "pending_action"}
            assert not changed, f"refused {name} by {role} changed {changed}"
