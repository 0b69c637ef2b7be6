"""The permission matrix: every command and button against every role, unbound included.

A refused action gets the refusal text and leaves the database exactly as it was. In
process (tests/offline.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import pytest
from sqlalchemy import Engine, text

from tests.harness import STRANGER
from tests.offline import OfflineBureau
from usecases.permissions import BOUND, PERMISSIONS

# one person per role (李督查 is also 干部职工; 周组长 also 分管领导)
PLAYERS: dict[str, str | int] = {
    "干部职工": "冯科员",
    "督查员": "李督查",
    "分管领导": "陈局",
    "考核领导小组": "周组长",
    "管理员": "管理员甲",
    "未绑定": STRANGER,
}
REFUSED = ("没有这项操作的权限", "还没有绑定")
LEDGER_TABLES = (
    "spot_check","entry", "veto", "review_score", "study_submission", "person", "year_lock",
                 "invite", "pending_action", "vote", "review_part", "leader_mark",
                 "review_draft")  # fmt: skip

Setup = Callable[[OfflineBureau], Awaitable[object]]
Act = Callable[[OfflineBureau, str | int, object], Awaitable[str]]


async def _nothing(b: OfflineBureau) -> object:
    return None


async def _card(b: OfflineBureau) -> object:
    return await b.say("李督查", "冯科员 迟到")


async def _confirmed_card(b: OfflineBureau) -> object:
    await b.press("李督查", await _card(b), "确认")
    return b.card("李督查")


async def _hint(b: OfflineBureau) -> object:
    return await b.say("李督查", "冯课员 迟到")


def _says(message: str) -> Act:
    async def act(b: OfflineBureau, who: str | int, _target: object) -> str:
        return (await b.say(who, message)).text or ""

    return act


def _presses(button: str) -> Act:
    async def act(b: OfflineBureau, who: str | int, target: object) -> str:
        call = await b.press(who, target, button)
        return call.text or str(call.params.get("text", ""))

    return act


PROBES: dict[str, tuple[Setup, Act]] = {
    "start": (_nothing, _says("/start")),
    "help": (_nothing, _says("/help")),
    "finding": (_nothing, _says("张三 迟到")),
    "finding_confirm": (_card, _presses("确认")),
    "finding_cancel": (_card, _presses("取消")),
    "finding_undo": (_confirmed_card, _presses("撤回(10分钟内)")),
    "finding_pick": (_hint, _presses("冯科员(办公室)")),
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


def dump_ledger(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables a refused action must leave as they were."""
    with engine.connect() as conn:
        return {
            t: list(conn.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all())
            for t in LEDGER_TABLES
        }


def _dump(b: OfflineBureau) -> dict[str, list[tuple[object, ...]]]:
    return dump_ledger(b.svc.engine)


def allowed_for(name: str, role: str) -> bool:
    """Whether the permission table lets this role do this (an unbound person: only what is
    open to anyone)."""
    allowed = PERMISSIONS[name]
    if allowed is None:
        return True
    return role != "未绑定" and role in allowed


CASES = [(name, role) for name in PROBES for role in PLAYERS]


@pytest.mark.parametrize(("name", "role"), CASES, ids=[f"{n}-{r}" for n, r in CASES])
async def test_permission_matrix(bureau: OfflineBureau, name: str, role: str) -> None:
    who = PLAYERS[role]
    bureau.svc.core.record_finding(  # entry #1, for /revoke
        "王五 迟到", fact_date=date(2026, 3, 2), by="李督查(办公室)", now=bureau.svc.now()
    )
    setup, act = PROBES[name]
    target = await setup(bureau)
    before = _dump(bureau)
    answer = await act(bureau, who, target)
    refused = any(r in answer for r in REFUSED)
    assert "出了点问题" not in answer  # never the error handler's apology
    if PERMISSIONS[name] is None:
        assert answer  # open to anyone (an unbound user is told how to bind)
    elif allowed_for(name, role):
        assert not refused, f"{role} was refused {name}: {answer}"
    else:
        assert refused, f"{role} was let through to {name}: {answer}"
        after = _dump(bureau)
        changed = {t for t in LEDGER_TABLES if before[t] != after[t] and t != "pending_action"}
        assert not changed, f"refused {name} by {role} changed {changed}"


def test_every_permission_has_a_probe_or_its_own_matrix() -> None:
    """A new handler must join the matrix (here, or in its flow's own permission tests)."""
    own = {"claim", "claim_decide", "pending", "appeal", "appeal_decide", "finalize",
           "proposal_decide", "attendance"}  # fmt: skip
    assert set(PERMISSIONS) - own == set(PROBES)
    assert frozenset({"干部职工", "督查员", "分管领导", "考核领导小组", "管理员"}) == BOUND
