"""The calendar's duties reach every configured group: Telegram's, 钉钉's and a 企业微信 group
robot's, each part exactly once per target, across a restart in the middle of a duty."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest_asyncio
from telegram import Bot

from bot.messengers import Others
from bot.services import Services
from bot.settings import Settings
from fakes.dingtalk import FakeDingTalk
from fakes.telegram import FakeBotApi
from fakes.wecom import FakeWeComWebhook
from handlers.sending import TelegramSender
from tests.harness import seed

TZ = ZoneInfo("Asia/Shanghai")
GROUP = -100200


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


class Fakes:
    """The three platforms, up for the whole test (the bot restarts; they do not)."""

    def __init__(self, api: FakeBotApi, ding: FakeDingTalk, wecom: FakeWeComWebhook) -> None:
        self.api, self.ding, self.wecom = api, ding, wecom

    def settings(self, db: Path) -> Settings:
        return Settings(
            bot_token="123456:TEST",
            bot_api_base_url=self.api.base_url,
            bot_api_file_url=self.api.file_url,
            database_url=f"sqlite:///{db}",
            group_chat_id=GROUP,
            dingtalk_client_id=self.ding.client_id,
            dingtalk_client_secret=self.ding.client_secret,
            dingtalk_openapi_url=self.ding.openapi_url,
            dingtalk_oapi_url=self.ding.oapi_url,
            dingtalk_group_id=self.ding.group_id,
            wecom_webhook_url=self.wecom.webhook_url,
        )


@pytest_asyncio.fixture
async def fakes() -> AsyncIterator[Fakes]:
    api = FakeBotApi()
    await api.start()
    try:
        async with FakeDingTalk() as ding, FakeWeComWebhook() as wecom:
            yield Fakes(api, ding, wecom)
    finally:
        await api.stop()


class RunningBot:
    """The bot's services and every messenger's sender (what `kaohe run` starts)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.svc = Services.build(settings)
        self.bot = Bot(settings.bot_token, base_url=settings.bot_api_base_url,
                       base_file_url=settings.bot_api_file_url)  # fmt: skip
        self.others = Others(self.svc, settings)

    async def __aenter__(self) -> Services:
        await self.bot.initialize()
        self.svc.outbox.add(TelegramSender(self.bot, self.svc.views, self.settings.group_chat_id))
        await self.others.start()
        return self.svc

    async def __aexit__(self, *exc: object) -> None:
        await self.others.stop()
        await self.bot.shutdown()
        self.svc.close()


async def test_the_half_year_bulletin_reaches_three_groups_once_each_across_a_restart(
    fakes: Fakes, tmp_path: Path
) -> None:
    settings = fakes.settings(tmp_path / "kaohe.db")
    async with RunningBot(settings) as svc:
        seed(svc, tmp_path)
        svc.core.record_finding("张三 迟到", fact_date=date(2026, 3, 2), by="李督查",
                                now=at("2026-03-02 10:00"))  # fmt: skip
        await svc.scheduler.run_due(at("2026-06-20 10:00"))  # installed
        fakes.wecom.fail_next(40058)  # WeCom refuses the text once
        done = await svc.scheduler.run_due(at("2026-07-06 10:00"))
        assert "bulletin:2026H1" not in done
    async with RunningBot(settings) as svc:  # the bot restarted
        done = await svc.scheduler.run_due(at("2026-07-06 10:01"))
        assert "bulletin:2026H1" in done
        assert "bulletin:2026H1" not in await svc.scheduler.run_due(at("2026-07-06 10:02"))

    tg = [c.method for c in fakes.api.sent(GROUP)]
    bulletins = [
        c for c in fakes.api.sent(GROUP, "sendMessage") if "考核测算通报" in (c.text or "")
    ]
    assert len(bulletins) == 1 and tg.count("sendPhoto") == 1 and tg.count("sendDocument") == 1

    ding = fakes.ding.sends_to(fakes.ding.group_id)
    assert len([s for s in ding if "考核测算通报" in s.text and s.msg_key == "sampleMarkdown"]) == 1
    assert [s.msg_key for s in ding].count("sampleImageMsg") == 1
    assert [s.msg_key for s in ding].count("sampleFile") == 1

    seen = fakes.wecom.messages
    assert len([m for m in seen if m.msgtype == "markdown" and "考核测算通报" in m.content]) == 1
    assert [m.msgtype for m in seen].count("image") == 1
    assert [m.msgtype for m in seen].count("file") == 1


async def test_the_quarterly_notice_tells_wecom_readers_how_to_object_in_dingtalk(
    fakes: Fakes, tmp_path: Path
) -> None:
    async with RunningBot(fakes.settings(tmp_path / "kaohe.db")) as svc:
        seed(svc, tmp_path)
        await svc.scheduler.run_due(at("2026-06-20 10:00"))
        assert "notice:2026Q3" in await svc.scheduler.run_due(at("2026-10-08 10:00"))
    [notice] = [m for m in fakes.wecom.messages if "第三季度" in m.content]
    assert "钉钉" in notice.content and "公示申诉 2026Q3" in notice.content
    [ding] = [s for s in fakes.ding.sends_to(fakes.ding.group_id) if "第三季度" in s.text]
    assert "dtmd://dingtalkclient/sendMessage?content=" in ding.text
