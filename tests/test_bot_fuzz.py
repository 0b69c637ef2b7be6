"""Fuzzing the chat: thousands of random texts and button data from bound and unbound users.

No crash (the error handler's apology never appears, nothing is logged as an error) and
nothing is recorded: a finding only ever becomes an entry through its 确认 button. In process
(tests/offline.py): the bot handles each update to completion before the next.
"""

from __future__ import annotations

import logging
import random

import pytest
from sqlalchemy import text

from tests.harness import STRANGER
from tests.offline import OfflineBureau

NAMES = [
    "冯科员",
    "李督查",
    "张三",
    "李四",
    "王五",
    "陈局",
    "周组长",
    "执法监察科",
    "办公室",
    "张山",
]
WORDS = ["迟到", "早退", "旷工", "值班失误", "未制定计划", "迟道", "", "带班:", "值班:", "(办公室)"]
COUNTS = ["", "2次", "两天", "0次", "100次", "三", "2年", "-1", "1.5次", "99天"]
COMMANDS = [
    *("/score", "/notes", "/notes 800", "/reflection", "/help", "/start", "/start NOPE"),
    *("/dept", "/standings", "/standings 2026H9", "/revoke", "/revoke x y", "/revoke 99999 误"),
    *("/veto", "/veto 不存在的人 理由", "/unknown", "/score@kaohe_bot extra", "/claim", "/pending"),
    *("/cancel", "/finalize", "/finalize 1999", "/finalize abc"),
]
BUTTONS = ["fc:1", "fc:999", "fx:0", "fu:12", "fs:1:7", "fs:x", "ap:5", "zz", "fc:", "", "fc:1:2"]
TEXTS = 1500
BUTTON_PRESSES = 300


def _noise(rng: random.Random) -> str:
    alphabet = "张三李四王五迟到早退、,;:() \n\t0123456789abc😀<>&\"'" + chr(0x200B)
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))


def random_text(rng: random.Random) -> str:
    """A message someone might type, or garbage."""
    kind = rng.random()
    if kind < 0.35:
        names = "、".join(rng.sample(NAMES, rng.randint(1, 3)))
        return f"{names}{rng.choice([' ', '', '  '])}{rng.choice(WORDS)}{rng.choice(COUNTS)}"
    if kind < 0.55:
        return rng.choice(COMMANDS) + rng.choice(["", " ", " " + _noise(rng)])
    if kind < 0.7:
        return "".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 60)))
    return _noise(rng) or "?"


async def test_random_messages_never_crash_and_never_record(
    bureau: OfflineBureau, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(20261124)
    senders = [bureau.users[n] for n in ("李督查", "冯科员", "周组长", "管理员甲")] + [STRANGER]
    caplog.set_level(logging.ERROR)
    for _ in range(TEXTS):
        await bureau.deliver(bureau.message(rng.choice(senders), random_text(rng)))
    cards = [
        c for c in bureau.api.calls if c.method == "sendMessage" and c.params.get("reply_markup")
    ]
    for _ in range(BUTTON_PRESSES):
        target = rng.choice(cards) if cards and rng.random() < 0.5 else None
        data = rng.choice(BUTTONS)
        if target is not None and rng.random() < 0.5:
            markup = bureau.api.message(int(target.chat_id or 0), int(target.result["message_id"]))
            buttons = [b for row in (markup or {}).get("reply_markup", {}).get(
                "inline_keyboard", []) for b in row]  # fmt: skip
            if buttons:
                data = rng.choice(buttons)["callback_data"]
            if data.startswith(("fc:", "fu:")):
                data = "fx" + data[2:]  # cancelling is fine; confirming would record on purpose
        if target is None:
            continue
        where = (int(target.chat_id or 0), int(target.result["message_id"]))
        await bureau.deliver(bureau.button(rng.choice(senders), where, data=data))
    with bureau.svc.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM entry")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM veto")).scalar() == 0
    apologies = [c for c in bureau.api.calls if "出了点问题" in (c.text or str(c.params))]
    assert apologies == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    answered = {c.chat_id for c in bureau.api.calls if c.method == "sendMessage"}
    assert STRANGER in answered  # the unbound user was told how to bind
