"""Every configured messenger in one process, with one scheduler.

Telegram (a token), 钉钉 (an app's client id and secret: the robot in Stream mode) and a
企业微信 group robot (a webhook URL, for posting only) share the services: one database,
one outbox, one calendar. With Telegram, PTB's Application owns the event loop and its
JobQueue ticks the calendar; DingTalk and WeCom start in its ``post_init`` and stop in its
``post_shutdown``. Without Telegram, an APScheduler of our own ticks the same calendar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import httpx

from bot.duties import TICK_SECONDS
from bot.services import Services
from bot.settings import Settings
from dingtalk.chat import DingTalkChat
from dingtalk.commands import command
from dingtalk.openapi import DingTalkApi
from dingtalk.sender import DingTalkSender
from dingtalk.stream import DingTalkStream
from wecom.robot import WeComRobot
from wecom.sender import WeComSender

log = logging.getLogger(__name__)


class Others:
    """The messengers beside Telegram that the settings configure."""

    def __init__(self, svc: Services, settings: Settings) -> None:
        self.svc = svc
        self.settings = settings
        self.stream: DingTalkStream | None = None
        self.api: DingTalkApi | None = None
        self.wecom: WeComSender | None = None
        self.chat: DingTalkChat | None = None
        self.http: httpx.AsyncClient | None = None

    @property
    def names(self) -> list[str]:
        """The messengers configured here (for the start-up line)."""
        s = self.settings
        on = {"钉钉": s.dingtalk_configured, "企业微信群机器人": s.wecom_webhook_url is not None}
        return [name for name, yes in on.items() if yes]

    async def start(self) -> None:
        """Start every configured messenger; their senders join the outbox."""
        s, svc = self.settings, self.svc
        self.http = http = httpx.AsyncClient()  # one client for both; each call its timeout
        if s.wecom_webhook_url is not None:
            robot = WeComRobot(s.wecom_webhook_url, http=http)
            self.wecom = WeComSender(robot, svc.views, command)
            svc.outbox.add(self.wecom)
        if s.dingtalk_configured:
            assert s.dingtalk_client_secret is not None
            self.api = DingTalkApi(
                http=http,
                client_id=s.dingtalk_client_id, client_secret=s.dingtalk_client_secret,
                robot_code=s.dingtalk_robot_code, openapi_url=s.dingtalk_openapi_url,
                oapi_url=s.dingtalk_oapi_url,
            )  # fmt: skip
            sender = DingTalkSender(self.api, svc.views, s.dingtalk_group_id)
            svc.outbox.add(sender)
            self.chat = DingTalkChat(
                svc.usecases, svc.views, svc.outbox, sender, lambda: svc.now(), svc.run_duty
            )
            self.stream = DingTalkStream(
                client_id=s.dingtalk_client_id, client_secret=s.dingtalk_client_secret,
                openapi_url=s.dingtalk_openapi_url, on_message=self.chat.on_message,
            )  # fmt: skip
            await self.stream.start()
            log.info("DingTalk robot started (Stream mode)")

    async def stop(self) -> None:
        """Stop receiving, then close the clients."""
        if self.stream is not None:
            await self.stream.stop()
        if self.http is not None:
            await self.http.aclose()
        for name in ("dt", "wecom"):
            self.svc.outbox.senders.pop(name, None)


async def serve_without_telegram(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """DingTalk (and WeCom) alone: the calendar on an APScheduler of our own, until stopped
    (SIGINT or SIGTERM, or ``stop`` set)."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    svc = Services.build(settings)
    others = Others(svc, settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    scheduler = AsyncIOScheduler(timezone=settings.tz)

    async def tick() -> None:
        await svc.scheduler.run_due(svc.now())

    try:
        await others.start()
        scheduler.add_job(
            tick, "interval", seconds=TICK_SECONDS, id="duties", next_run_time=svc.now(),
            misfire_grace_time=None, coalesce=True, max_instances=1,
        )  # fmt: skip
        scheduler.start()
        await stop.wait()
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await others.stop()
        svc.close()
