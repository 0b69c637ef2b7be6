"""A small bureau in 钉钉: the real DingTalk adapter (dingtalk.chat over the use cases),
receiving through the official dingtalk-stream SDK and sending through the OpenAPI client,
both against the loopback fake DingTalk (fakes/dingtalk)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlmodel import select

from bot.messengers import Others
from bot.services import Services
from bot.settings import Settings
from fakes.dingtalk import FakeDingTalk
from fakes.dingtalk.server import Sent
from scoring.db import transaction
from scoring.models import Person
from tests.harness import USERS, seed

# Each person's DingTalk userId: "dt" and their Telegram id (冯科员 → dt1001).
DT = {name: f"dt{uid}" for name, uid in USERS.items()}


@dataclass
class DingBureau:
    """The bureau bound in DingTalk, the running adapter and the fake."""

    fake: FakeDingTalk
    svc: Services
    others: Others

    async def say(self, who: str, text: str, **kwargs: Any) -> list[Sent]:
        """``who`` writes to the robot; every message sent while it was handled."""
        return await self._handled(lambda: self.fake.inject_text(DT.get(who, who), text, **kwargs))

    async def picture(self, who: str, image: bytes, text: str | None = None) -> list[Sent]:
        """``who`` sends a picture (with text: a richText message)."""
        return await self._handled(
            lambda: self.fake.inject_picture(DT.get(who, who), image, text=text)
        )

    async def file(self, who: str, data: bytes, name: str) -> list[Sent]:
        """``who`` sends a file to the robot in private."""
        return await self._handled(lambda: self.fake.inject_file(DT.get(who, who), data, name))

    async def _handled(self, inject: Callable[[], str]) -> list[Sent]:
        """Every message sent while the injected message was handled (until its ACK)."""
        since = len(self.fake.sends)
        await self.fake.wait_for_ack(inject(), timeout=15)
        return self.fake.sends[since:]

    def texts_to(self, who: str) -> list[str]:
        """Every markdown or text message a person got in their 1:1 chat."""
        return [s.text for s in self.fake.sends_to(DT.get(who, who)) if s.text]


def to(sent: list[Sent], who: str) -> list[str]:
    """The texts among ``sent`` that went to ``who``."""
    return [s.text for s in sent if s.to == DT.get(who, who) and s.text]


@pytest_asyncio.fixture
async def ding(tmp_path: Path) -> AsyncIterator[DingBureau]:
    """A bureau whose people bound DingTalk (not Telegram), with the robot connected."""
    async with FakeDingTalk(ack_timeout=1.0) as fake:
        for name, uid in DT.items():
            fake.add_user(uid, name)
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'kaohe.db'}",
            dingtalk_client_id=fake.client_id,
            dingtalk_client_secret=fake.client_secret,
            dingtalk_openapi_url=fake.openapi_url,
            dingtalk_oapi_url=fake.oapi_url,
            dingtalk_group_id=fake.group_id,
        )
        svc = Services.build(settings)
        seed(svc, tmp_path, bind=False)
        with transaction(svc.engine) as s:
            for person in s.exec(select(Person)).all():
                person.dingtalk_user_id = DT[person.name]
                s.add(person)
        others = Others(svc, settings)
        await others.start()
        await fake.wait_connected()
        try:
            yield DingBureau(fake, svc, others)
        finally:
            await others.stop()
            svc.close()
