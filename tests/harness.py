"""End-to-end harness: a small bureau on a real SQLite file, the real Application talking
over PTB's real HTTP stack to the loopback fake Bot API server, and people to play."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlmodel import select
from telegram.ext import Application

from bot.app import build_application
from bot.duties import JOB_NAME
from bot.services import Services
from bot.settings import Settings
from fakes.telegram import ChatClient, FakeBotApi
from fakes.telegram.client import require_sequential
from scoring.db import transaction, upgrade
from scoring.models import Person
from scoring.roster import import_roster

TZ = ZoneInfo("Asia/Shanghai")
ROSTER = """姓名,科室,职务,人员类别,角色,分管科室,职级
冯科员,办公室,科员,公务员,干部职工,,
李督查,办公室,主任,公务员,督查员、干部职工,,正科级
张三,执法监察科,科长,公务员,干部职工,,正科级
李四,执法监察科,科员,事业人员,干部职工,,
王五,法规科,科员,公务员,干部职工,,
陈局,局领导,副局长,公务员,分管领导,执法监察科;办公室,副处级
周组长,局领导,局长,公务员,考核领导小组、分管领导,法规科,正处级
管理员甲,办公室,科员,公务员,管理员,,
"""
# Telegram user ids of the people above (bound in the fixture), and one stranger.
USERS = {
    "冯科员": 1001, "李督查": 1002, "张三": 1003, "李四": 1004, "王五": 1005,
    "陈局": 1006, "周组长": 1007, "管理员甲": 1008,
}  # fmt: skip
STRANGER = 4242


class Bureau(ChatClient):
    """A running bot with its fake Telegram and its database; the people above to play.

    ``ticked`` is set once the JobQueue's duties tick has finished running (the first time
    at start-up): what a test waits for before saying a tick did nothing.
    """

    def __init__(
        self, api: FakeBotApi, app: Application, svc: Services, db_path: Path, ticked: asyncio.Event
    ) -> None:
        super().__init__(api, USERS)
        self.app, self.svc, self.db_path, self.ticked = app, svc, db_path, ticked


def on_duties_tick(app: Application) -> asyncio.Event:
    """An event set each time the duties job has finished a run (call before app.start())."""
    assert app.job_queue is not None
    [job] = app.job_queue.get_jobs_by_name(JOB_NAME)
    ticked = asyncio.Event()

    def finished(event: JobExecutionEvent) -> None:
        if event.job_id == job.job.id:
            ticked.set()

    app.job_queue.scheduler.add_listener(finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    return ticked


def write_roster(tmp: Path, text: str = ROSTER) -> Path:
    """The test bureau's roster as a CSV file."""
    path = tmp / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def seed(svc: Services, tmp: Path, *, bind: bool = True) -> None:
    """Schema, roster, and (optionally) everyone bound to their Telegram id."""
    upgrade(svc.engine)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
    with transaction(svc.engine) as s:
        import_roster(s, write_roster(tmp), rules=svc.rules, now=now, actor="test")
        if bind:
            for person in s.exec(select(Person)).all():
                person.telegram_user_id = USERS[person.name]
                s.add(person)


@pytest.fixture
async def live_bureau(tmp_path: Path) -> AsyncIterator[Bureau]:
    """A bound bureau and a polling bot against the fake server (end to end, over HTTP)."""
    async with running_bureau(tmp_path) as b:
        yield b


class running_bureau:
    """Async context manager starting the fake server and the real bot against it."""

    def __init__(self, tmp: Path, *, bind: bool = True, **settings: Any) -> None:
        self.tmp, self.bind, self.settings = tmp, bind, settings

    async def __aenter__(self) -> Bureau:
        self.api = FakeBotApi()
        await self.api.start()
        db = self.tmp / "kaohe.db"
        settings = Settings(
            bot_token="123456:TEST",
            bot_api_base_url=self.api.base_url,
            bot_api_file_url=self.api.file_url,
            database_url=f"sqlite:///{db}",
            group_chat_id=-100200,
            **self.settings,
        )
        svc = Services.build(settings)
        seed(svc, self.tmp, bind=self.bind)
        self.app = build_application(settings, svc, rate_limit=False)
        require_sequential(self.app)
        ticked = on_duties_tick(self.app)
        await self.app.initialize()
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(poll_interval=0, timeout=1)
        await self.api.wait_until_polling()
        return Bureau(self.api, self.app, svc, db, ticked)

    async def __aexit__(self, *exc: object) -> None:
        assert self.app.updater is not None
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()
        self.app.bot_data["services"].close()
        await self.api.stop()
