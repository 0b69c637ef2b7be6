"""钉钉 end to end: findings recorded and confirmed through the real `kaohe run` (DingTalk
only, Stream mode) against the loopback fake DingTalk, against a bare echo robot on the same
SDK, client and fake answering twice as many messages. Each robot runs in its own process."""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from sqlmodel import select

from bench.bot import STAFF, BotProcess, record_confirm
from bench.bot import bureau as _bureau
from bench.registry import Context, Result, register
from fakes.dingtalk import FakeDingTalk
from scoring.db import make_engine, transaction
from scoring.ledger import entry_count
from scoring.models import Person

FINDINGS = 300
INSPECTOR = "inspector9001"
CONFIRM = re.compile(r"\(dtmd://dingtalkclient/sendMessage\?content=([^)]+)\)")


async def _answers(fake: FakeDingTalk, since: int, count: int, word: str) -> list[str]:
    """Until the inspector got ``count`` messages containing ``word``; their texts."""

    def found() -> list[str]:
        return [s.text for s in fake.sends[since:] if s.to == INSPECTOR and word in s.text]

    await fake.changes.until(lambda: len(found()) >= count, 600, f"{count} × {word}")
    return found()


async def _robot(fake: FakeDingTalk, robot: BotProcess) -> None:
    try:
        await fake.wait_connected(timeout=60)
    except TimeoutError:
        raise RuntimeError(f"the robot did not connect:\n{robot.stop()}") from None


async def echo_seconds(fake: FakeDingTalk, messages: int) -> float:
    """The echo robot answering ``messages`` messages."""
    robot = BotProcess([sys.executable, "-m", "bench.echo_robot", fake.openapi_url,
                        fake.oapi_url, fake.client_id, fake.client_secret], {})  # fmt: skip
    try:
        await _robot(fake, robot)
        since = len(fake.sends)
        started = time.perf_counter()
        for i in range(messages):
            fake.inject_text(INSPECTOR, f"消息 {i}")
        await _answers(fake, since, messages, "消息")
        return time.perf_counter() - started
    finally:
        robot.stop()
        await fake.wait_disconnected(timeout=30)


async def kaohe_seconds(fake: FakeDingTalk, tmp: Path, findings: int) -> float:
    """`kaohe run` in DingTalk: texts → cards, then 确认 → entries (and notices)."""
    url = _bureau(tmp)
    engine = make_engine(url)
    with transaction(engine) as s:
        inspector = s.exec(select(Person).where(Person.name == "督查甲")).one()
        inspector.telegram_user_id, inspector.dingtalk_user_id = None, INSPECTOR
        s.add(inspector)
    env = {
        "KAOHE_BOT_TOKEN": "",
        "KAOHE_DATABASE_URL": url,
        "KAOHE_DINGTALK_CLIENT_ID": fake.client_id,
        "KAOHE_DINGTALK_CLIENT_SECRET": fake.client_secret,
        "KAOHE_DINGTALK_OPENAPI_URL": fake.openapi_url,
        "KAOHE_DINGTALK_OAPI_URL": fake.oapi_url,
        "KAOHE_GROUP_CHAT_ID": "",
    }
    robot = BotProcess([sys.executable, "-m", "bot", "run"], env)
    try:
        await _robot(fake, robot)
        since = len(fake.sends)
        started = time.perf_counter()
        for i in range(findings):
            fake.inject_text(INSPECTOR, f"职工{i % STAFF:03d} 迟到")
        cards = await _answers(fake, since, findings, "请确认")
        since = len(fake.sends)
        for card in cards:
            confirm = next(unquote(c) for c in CONFIRM.findall(card) if "确认" in unquote(c))
            fake.inject_text(INSPECTOR, confirm)
        await _answers(fake, since, findings, "已记录")
        seconds = time.perf_counter() - started
    finally:
        errors = robot.stop()
    with transaction(engine) as s:
        recorded = entry_count(s)
    engine.dispose()
    if recorded != findings:
        raise AssertionError(f"{recorded} entries for {findings} confirmed findings:\n{errors}")
    return seconds


async def _measure(findings: int) -> tuple[float, float]:
    async with FakeDingTalk(ack_timeout=120) as fake:
        fake.add_user(INSPECTOR, "督查甲")
        echo = await echo_seconds(fake, 2 * findings)
        with tempfile.TemporaryDirectory(prefix="kaohe-bench-dingtalk-") as tmp:
            ours = await kaohe_seconds(fake, Path(tmp), findings)
    return ours, echo


@register("dingtalk")
def dingtalk_bench(ctx: Context) -> Iterator[Result]:
    """Record and confirm findings through DingTalk, against an echo robot on the same fake."""
    ctx.log(f"dingtalk: {FINDINGS} findings through `kaohe run` and the loopback DingTalk")
    ours, echo = asyncio.run(_measure(FINDINGS))
    yield record_confirm("dingtalk_record_confirm", ours, echo, FINDINGS)
