"""Two bots, one PostgreSQL: two `kaohe run --webhook` processes behind one database, every
update delivered to both at once. Nothing is recorded twice, nobody is answered twice, and
each calendar duty due when they start is posted once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlmodel import Session, col, select

from fakes.telegram import FakeBotApi
from fakes.telegram.client import PROBE_TEXT
from fakes.telegram.wire import ApiCall, JSONDict
from scoring import duties
from scoring.db import make_engine
from scoring.models import DutyRun, Entry
from scoring.rules import default_rules_text, parse_rules
from tests.test_faults import INSPECTOR, NAME, STAFF_IDS, seed_bureau, staff
from tests.test_postgres import PG_URL, fresh_database
from tests.test_run import _free_port

pytestmark = pytest.mark.skipif(not PG_URL, reason="no PostgreSQL (KAOHE_TEST_POSTGRES_URL)")
TZ = ZoneInfo("Asia/Shanghai")
FINDINGS = 12
BOUND = 150  # people a monthly reminder goes to: long enough for the two bots to overlap
GROUP = -100300
SECRET = "two-bots"
PROBES = (7_100_001, 7_100_002)  # one probe user per process


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    with fresh_database("kaohe_two") as url:
        yield url


class Bots:
    """Two webhook bots on one database; ``post`` delivers an update to both at once."""

    def __init__(self, api: FakeBotApi, url: str, folder: Path) -> None:
        self.ports = [_free_port(), _free_port()]
        env = {
            **os.environ, "KAOHE_BOT_TOKEN": "444:TWO", "KAOHE_BOT_API_BASE_URL": api.base_url,
            "KAOHE_BOT_API_FILE_URL": api.file_url, "KAOHE_DATABASE_URL": url,
            "KAOHE_RATE_LIMIT": "false", "KAOHE_GROUP_CHAT_ID": str(GROUP),
            "KAOHE_WEBHOOK_SECRET": SECRET,
        }  # fmt: skip
        args = [sys.executable, "-m", "bot", "run", "--webhook", "https://kaohe.example/hook"]
        self.procs = [
            subprocess.Popen(
                [*args, "--listen", f"127.0.0.1:{port}"],
                env=env,
                cwd=folder,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for port in self.ports
        ]
        self.http = aiohttp.ClientSession(headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})

    async def post(self, update: JSONDict, only: int | None = None) -> None:
        """Deliver ``update`` to both bots at once (or to bot ``only``)."""
        ports = self.ports if only is None else [self.ports[only]]
        await asyncio.gather(*(self._post(port, update) for port in ports))

    async def _post(self, port: int, update: JSONDict) -> None:
        for _ in range(200):  # the listener may still be starting
            try:
                async with self.http.post(f"http://127.0.0.1:{port}/hook", json=update) as r:
                    assert r.status == 200, await r.text()
                    return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        raise TimeoutError(f"no webhook listener on port {port}")

    async def settle(self, api: FakeBotApi) -> None:
        """Each bot has handled everything posted to it: its own probe is answered."""
        for n, probe in enumerate(PROBES):
            mark = len(api.calls)
            await self.post(api.inject_message(probe, PROBE_TEXT), only=n)
            await api.wait_for_message(probe, since=mark, timeout=60)

    async def close(self) -> None:
        await self.http.close()
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
async def bots(pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[FakeBotApi, Bots]]:
    """A bound bureau on PostgreSQL whose bot was installed weeks ago (duties are due)."""
    seed_bureau(tmp_path, pg_url, BOUND)
    engine = make_engine(pg_url)
    with Session(engine) as s:
        s.add(DutyRun(key=duties.INSTALLED, done_at=datetime.now(TZ) - timedelta(days=75)))
        s.commit()
    engine.dispose()
    async with FakeBotApi() as api:
        api.chats.chat(GROUP)["title"] = "考核工作群"
        two = Bots(api, pg_url, tmp_path)
        try:
            await api.wait_for_all("setWebhook", 2, timeout=120)
            yield api, two
        finally:
            await two.close()


def _sent(api: FakeBotApi) -> list[ApiCall]:
    return [
        c for c in api.calls if c.ok and c.method.startswith("send") and c.chat_id not in PROBES
    ]


async def _wait_for_duties(url: str) -> set[str]:
    """The duties done, once none is due any more and none is being run."""
    rules = parse_rules(default_rules_text(), "default.toml")
    engine = make_engine(url)
    try:
        for _ in range(600):
            with Session(engine) as s:
                due = duties.duties_due(s, rules.calendar, TZ, datetime.now(TZ))
                running = s.exec(select(DutyRun).where(col(DutyRun.key).like("%#run"))).all()
                done = set(duties.done_runs(s))
            if not running and not [d for d in due if d.kind not in ("proposals",)]:
                return done
            await asyncio.sleep(0.2)
    finally:
        engine.dispose()
    raise TimeoutError(f"duties still due: {due}, running: {running}")


def _entries(url: str) -> Counter[int]:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            charged = s.exec(select(Entry.person_id).where(Entry.kind == "deduction")).all()
    finally:
        engine.dispose()
    return Counter(pid for pid in charged if pid is not None)


async def test_two_bots_on_one_postgres_record_once_answer_once_and_post_each_duty_once(
    bots: tuple[FakeBotApi, Bots], pg_url: str
) -> None:
    api, two = bots
    texts = [api.inject_message(INSPECTOR, f"{staff(i)} 迟到") for i in range(FINDINGS)]
    await asyncio.gather(*(two.post(u) for u in texts))
    await two.settle(api)
    cards = {
        int(m.group(1)): c
        for c in _sent(api)
        if c.chat_id == INSPECTOR and c.params.get("reply_markup")
        and (m := NAME.search(c.text or ""))
    }  # fmt: skip
    assert sorted(cards) == list(range(FINDINGS))
    presses = [api.inject_callback(INSPECTOR, cards[i], button="确认") for i in sorted(cards)]
    await asyncio.gather(*(two.post(p) for p in presses))
    await two.settle(api)
    done = await _wait_for_duties(pg_url)

    sent = _sent(api)
    twice = [k for k, n in Counter((c.chat_id, c.text) for c in sent).items() if n > 1]
    assert twice == []  # no card, notice, duty post or apology went out twice
    assert not [c for c in sent if "抱歉" in (c.text or "")]
    carded = [c for c in sent if c.chat_id == INSPECTOR and "请确认扣分记录" in (c.text or "")]
    assert len(carded) == FINDINGS  # one card for each finding
    recorded = _entries(pg_url)
    assert len(recorded) == FINDINGS and set(recorded.values()) == {1}
    for i in range(FINDINGS):
        assert len(api.messages_to(STAFF_IDS + i)) >= 1  # the notice (and reminders)
    assert done and any(c.chat_id == GROUP for c in sent), done  # duties ran and posted
    edits = [c for c in api.calls if c.ok and c.method == "editMessageText"]
    assert len({(c.chat_id, c.params.get("message_id")) for c in edits}) == FINDINGS
