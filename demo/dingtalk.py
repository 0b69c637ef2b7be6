"""The same scripted day in 钉钉: the real DingTalk adapter, receiving through the official
dingtalk-stream SDK and sending through the OpenAPI, against the loopback fake DingTalk."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from rich.console import Console

from bot.messengers import Others
from bot.services import Services
from bot.settings import Settings
from fakes.dingtalk import FakeDingTalk
from fakes.dingtalk.server import Sent

LINK = re.compile(r"\[([^\]]+)\]\(dtmd://dingtalkclient/sendMessage\?content=([^)]+)\)")


class DingTranscript:
    """Plays people in DingTalk and prints what they and the robot said."""

    def __init__(self, fake: FakeDingTalk, users: dict[str, str], console: Console) -> None:
        self.fake, self.users, self.console = fake, users, console
        self.names = {uid: name for name, uid in users.items()}

    def _show(self, sent: list[Sent]) -> None:
        for s in sent:
            who = "群" if s.group else self.names.get(s.to, s.to)
            self.console.print(f"    [green]机器人 → {who}[/green]")
            if s.media is not None or s.msg_key in ("sampleImageMsg", "sampleFile"):
                kind = "图片" if s.msg_key == "sampleImageMsg" else "文件"
                self.console.print(f"      [{kind}]")
                continue
            links = [label for label, _ in LINK.findall(s.text)]
            body = LINK.sub("", s.text).replace("**", "")
            for line in body.splitlines():
                if line.strip(" ·"):
                    self.console.print(f"      {line.rstrip()}")
            if links:
                self.console.print("      " + " ".join(f"[reverse] {b} [/reverse]" for b in links))

    async def say(self, who: str, text: str, *, picture: bytes | None = None) -> list[Sent]:
        """A person writes to the robot (text, or a picture with text)."""
        shown = f"[图片] {text}" if picture is not None else text
        self.console.print(f"[bold cyan]{who}[/bold cyan]: {shown}")
        since = len(self.fake.sends)
        uid = self.users[who]
        if picture is not None:
            msg_id = self.fake.inject_picture(uid, picture, text=text or None)
        else:
            msg_id = self.fake.inject_text(uid, text)
        await self.fake.wait_for_ack(msg_id, timeout=30)
        sent = self.fake.sends[since:]
        self._show(sent)
        return sent

    async def tap(self, who: str, sent: list[Sent], label: str) -> list[Sent]:
        """A person taps an action link in a message they got."""
        for s in reversed([s for s in sent if s.to == self.users[who]]):
            links = dict(LINK.findall(s.text))
            if label in links:
                self.console.print(
                    f"[bold cyan]{who}[/bold cyan] 点击 [reverse] {label} [/reverse]"
                )
                return await self.say_quietly(who, unquote(links[label]))
        raise RuntimeError(f"{who} has no link {label}")

    async def say_quietly(self, who: str, text: str) -> list[Sent]:
        """What a tapped link sends (not printed as typed)."""
        since = len(self.fake.sends)
        msg_id = self.fake.inject_text(self.users[who], text)
        await self.fake.wait_for_ack(msg_id, timeout=30)
        sent = self.fake.sends[since:]
        self._show(sent)
        return sent


async def play_dingtalk_day(
    svc: Services,
    settings: Settings,
    cast: list[str],
    photo: bytes,
    console: Console,
    invite_code: Callable[[Services, str], str],
) -> None:
    """Bind the cast in DingTalk with invite codes, then the day: a finding confirmed, a
    photo as evidence, a mistyped name, a claim approved, /score."""
    users = {name: f"staff{i:03d}" for i, name in enumerate(cast, 1)}
    async with FakeDingTalk() as fake:
        for name, uid in users.items():
            fake.add_user(uid, name)
        dt_settings = settings.model_copy(
            update={
                "dingtalk_client_id": fake.client_id,
                "dingtalk_client_secret": fake.client_secret,
                "dingtalk_robot_code": fake.client_id,
                "dingtalk_openapi_url": fake.openapi_url,
                "dingtalk_oapi_url": fake.oapi_url,
                "dingtalk_group_id": fake.group_id,
            }
        )
        others = Others(svc, dt_settings)
        await others.start()
        await fake.wait_connected()
        t = DingTranscript(fake, users, console)
        try:
            console.rule("钉钉:绑定账号(同一个绑定码,在与机器人的单聊中发送“绑定 绑定码”)")
            for name in users:
                await t.say(name, f"绑定 {invite_code(svc, name)}")
            console.rule("钉钉:督查员抽查")
            card = await t.say("李督查", "张三 迟到")
            await t.tap("李督查", card, "确认")
            card = await t.say("李督查", "冯科员 脱岗", picture=photo)
            await t.tap("李督查", card, "确认")
            hint = await t.say("李督查", "冯课员 早退")
            card = await t.tap("李督查", hint, "冯科员(办公室)")
            await t.tap("李督查", card, "取消")
            console.rule("钉钉:加分申报与审批")
            sent = await t.say("冯科员", "/claim")
            sent = await t.tap("冯科员", sent, "信息稿件")
            sent = await t.tap("冯科员", sent, "市级")
            sent = await t.say("冯科员", "《应急管理报》刊发:基层安全检查纪实")
            await t.tap("冯科员", sent, "今天")
            sent = await t.say("冯科员", "", picture=photo)
            await t.tap("陈局", sent, "批准")
            console.rule("钉钉:查询得分")
            await t.say("冯科员", "/score")
        finally:
            await others.stop()
