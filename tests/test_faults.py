"""The fault suite: an inspector's burst of findings while the bot is killed with SIGKILL.

`kaohe run` runs as a process of its own against the loopback fake Bot API, which keeps
every update until a later getUpdates offset confirms it (as Telegram does), so a killed
bot gets again what it had not confirmed. The bot is killed at random moments while it
works, and started again. The inspector is patient: a finding that got no card is sent
again, a press that got no answer is pressed again, until every card shows what was done.

At the end every finding the inspector saw confirmed is recorded exactly once, none that
was cancelled (or never pressed) is recorded, and every person charged got their notice.

`make test` runs a short version (60 findings, 2 kills); `make faults` the long one
(KAOHE_FAULTS=long: 1,000 findings, 5 kills). Each prints its figures as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from fakes.telegram import ChatClient, FakeBotApi
from fakes.telegram.wire import ApiCall
from scoring.db import make_engine, transaction, upgrade
from scoring.models import Entry, Person
from scoring.roster import import_roster
from scoring.rules import load_rules

LONG = os.environ.get("KAOHE_FAULTS") == "long"
FINDINGS, KILLS = (1000, 5) if LONG else (60, 2)
INSPECTOR = 9001
STAFF_IDS = 200_000  # staff member i has Telegram user id STAFF_IDS + i
CANCEL_EVERY = 10  # every tenth card is cancelled, not confirmed
WORK = ("sendMessage", "editMessageText", "answerCallbackQuery")
NAME = re.compile(r"职工(\d{4})")


def staff(i: int) -> str:
    """The name of the person finding ``i`` charges (one person per finding)."""
    return f"职工{i:04d}"


def seed_bureau(folder: Path, url: str, count: int) -> None:
    """An inspector and ``count`` staff members (one per finding), all bound, in ``url``."""
    rows = ["姓名,科室,职务,人员类别,角色,分管科室", "督查甲,办公室,主任,公务员,督查员,"]
    rows += [f"{staff(i)},科室{i % 8},科员,公务员,干部职工," for i in range(count)]
    (folder / "roster.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        now = datetime.now(ZoneInfo("Asia/Shanghai"))
        import_roster(s, folder / "roster.csv", rules=load_rules(), now=now, actor="faults")
        for person in s.exec(select(Person)).all():
            match = NAME.fullmatch(person.name)
            person.telegram_user_id = STAFF_IDS + int(match.group(1)) if match else INSPECTOR
            s.add(person)
    engine.dispose()


class Bot:
    """`kaohe run` as a process, killed with SIGKILL and started again."""

    def __init__(self, api: FakeBotApi, url: str, folder: Path) -> None:
        self.env = {
            **os.environ,
            "KAOHE_BOT_TOKEN": "333:FAULTS",
            "KAOHE_BOT_API_BASE_URL": api.base_url,
            "KAOHE_BOT_API_FILE_URL": api.file_url,
            "KAOHE_DATABASE_URL": url,
            "KAOHE_RATE_LIMIT": "false",
            "KAOHE_GROUP_CHAT_ID": "",
        }
        self.folder = folder
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        self.proc = self._start()
        self.kills = 0
        self.logged = ""

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=self.env, cwd=self.folder,
            stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip

    def check_running(self) -> None:
        """Fail if the bot stopped on its own (only SIGKILL from ``chaos`` may stop it)."""
        if self.proc.poll() is not None:
            raise RuntimeError(f"the bot exited by itself:\n{self.stop()}")

    def kill_and_restart(self) -> None:
        """SIGKILL: no shutdown, no last offset confirmed, whatever was half done stays so."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.kills += 1
        self.proc = self._start()

    def stop(self) -> str:
        """Stop for good; the end of what it logged (stopping again just tells it again)."""
        if self.log.closed:
            return self.logged
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.seek(0)
        self.logged = self.log.read().decode("utf-8", "replace")[-3000:]
        self.log.close()
        return self.logged


async def chaos(api: FakeBotApi, bot: Bot, rng: random.Random, done: asyncio.Event) -> None:
    """Kill the bot KILLS times, each after a random number of things it did since it started
    (so the kill falls while it works), and start it again."""
    spread = max(8, 3 * FINDINGS // (KILLS + 1))
    while bot.kills < KILLS and not done.is_set():
        since = len(api.calls)
        wanted = rng.randint(5, spread)
        try:
            await api.wait_for_all(lambda c: c.method in WORK, wanted, 600, since=since)
        except TimeoutError:
            return
        if not done.is_set():
            await asyncio.to_thread(bot.kill_and_restart)


@dataclass
class Inspector:
    """A patient inspector: what was sent, the card chosen for each finding, what it shows."""

    api: FakeBotApi
    chat: ChatClient
    bot: Bot
    cards: dict[int, tuple[int, int]] = field(default_factory=dict)  # finding → (chat, msg)

    async def settle(self) -> None:
        """Wait until the bot has handled all sent so far (its answer to a probe). While the
        bot works, keep waiting; once it falls silent, the probe was lost: probe again."""
        while True:
            mark = len(self.api.calls)
            self.api.inject_message(self.chat.probe_user, self.chat.probe_text)
            while True:
                try:
                    await self.api.wait_for_message(self.chat.probe_user, since=mark, timeout=5)
                    return
                except TimeoutError:
                    busy = len(self.api.calls) > mark
                    mark = len(self.api.calls)
                    if not busy:
                        self.bot.check_running()
                        break

    def _new_cards(self, since: int) -> None:
        for call in self.api.calls[since:]:
            if call.ok and call.method == "sendMessage" and call.chat_id == INSPECTOR:
                found = NAME.search(call.text or "")
                if found and call.params.get("reply_markup"):
                    i = int(found.group(1))
                    self.cards.setdefault(i, (INSPECTOR, _message_id(call)))

    async def send_findings(self) -> int:
        """Each finding until it has a card; how many texts were sent in all."""
        sent = 0
        while missing := [i for i in range(FINDINGS) if i not in self.cards]:
            since = len(self.api.calls)
            for i in missing:
                self.chat.send(INSPECTOR, f"{staff(i)} 迟到")
            sent += len(missing)
            await self.settle()
            self._new_cards(since)
        return sent

    def shows(self, i: int) -> str:
        """What the card of finding ``i`` shows now."""
        message = self.api.message(*self.cards[i]) or {}
        return str(message.get("text", ""))

    async def press_all(self) -> None:
        """确认 (or 取消) on each card until the card shows it was done."""
        while todo := [i for i in sorted(self.cards) if not self._done(i)]:
            for i in todo:
                self.chat.tap(INSPECTOR, self.cards[i], "取消" if cancelled(i) else "确认")
            await self.settle()

    def _done(self, i: int) -> bool:
        return ("已取消" if cancelled(i) else "已记录") in self.shows(i)


def cancelled(i: int) -> bool:
    """Whether the inspector cancels finding ``i`` rather than confirming it."""
    return i % CANCEL_EVERY == CANCEL_EVERY - 1


def _message_id(call: ApiCall) -> int:
    assert isinstance(call.result, dict)
    return int(call.result["message_id"])


def _recorded(url: str) -> dict[int, int]:
    """Active deductions per finding (by the person it charges)."""
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            revoked = select(Entry.revokes_id).where(col(Entry.revokes_id).is_not(None))
            rows = s.exec(
                select(Person.name, func.count(col(Entry.id)))
                .join(Person, col(Person.id) == col(Entry.person_id))
                .where(Entry.kind == "deduction", col(Entry.id).not_in(revoked))
                .group_by(Person.name)
            ).all()
    finally:
        engine.dispose()
    return {int(m.group(1)): n for name, n in rows if (m := NAME.fullmatch(name))}


@pytest.fixture
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="kaohe-faults-") as tmp:
        yield Path(tmp)


async def test_killed_at_random_nothing_confirmed_is_lost_or_doubled_and_everyone_is_told(
    folder: Path,
) -> None:
    seed = int(os.environ.get("KAOHE_FAULTS_SEED") or random.SystemRandom().randrange(10**6))
    rng = random.Random(seed)
    url = f"sqlite:///{folder / 'kaohe.db'}"
    seed_bureau(folder, url, FINDINGS)
    async with FakeBotApi() as api:
        bot = Bot(api, url, folder)
        done = asyncio.Event()
        killer = asyncio.create_task(chaos(api, bot, rng, done))
        inspector = Inspector(api, ChatClient(api), bot)
        try:
            await api.wait_until_polling(timeout=120)
            await inspector.send_findings()
            await inspector.press_all()
            done.set()
            await killer
        finally:
            done.set()
            killer.cancel()
            log = bot.stop()
        noticed = {i for i in range(FINDINGS) if api.messages_to(STAFF_IDS + i)}
    recorded = _recorded(url)
    confirmed = [i for i in range(FINDINGS) if not cancelled(i)]
    figures = {
        "faults": bot.kills,
        "confirmed": len(confirmed),
        "recorded": sum(1 for i in confirmed if recorded.get(i, 0) >= 1),
        "doubled": sum(1 for n in recorded.values() if n > 1),
        "lost": sum(1 for i in confirmed if recorded.get(i, 0) == 0),
    }
    print(json.dumps(figures))
    context = f"seed {seed}; the bot's log ends:\n{log}"
    assert bot.kills >= KILLS, context
    assert figures["doubled"] == 0 and figures["lost"] == 0, context
    assert figures["recorded"] == figures["confirmed"], context
    assert not [i for i in recorded if cancelled(i)], context  # nothing cancelled recorded
    assert set(confirmed) <= noticed, f"not told: {sorted(set(confirmed) - noticed)}; {context}"
