"""A 企业微信 group robot as a messenger of the outbox: it only posts to its group (notices,
bulletins, their chart and Excel). It has no private chats and no buttons: a message's
actions become a line saying what to send to the 钉钉 robot instead."""

from __future__ import annotations

from collections.abc import Callable

from templates.views import Views, markdown_of
from usecases.messages import Action, Copy, Say, say
from usecases.outbox import DeliveryFailed, Undeliverable
from wecom.robot import WeComError, WeComRobot

WECOM = "wecom"


class WeComSender:
    """Posts to the group of one WeCom group robot."""

    name = WECOM
    has_group = True

    def __init__(self, robot: WeComRobot, views: Views, command: Callable[[Action], str]) -> None:
        self.robot = robot
        self.views = views
        self.command = command  # what to send the 钉钉 robot for an action

    async def to_group(self, message: Say) -> None:
        """The message as WeCom markdown (split by bytes), its file after it."""
        text = markdown_of(self.views.say(message))
        hints = [
            self.views.say(say("wecom_action_hint.html.j2", label=a.label, command=self.command(a)))
            for row in message.actions
            for a in row
        ]
        try:
            await self.robot.send_markdown("\n".join([text, *hints]).strip())
            file = message.file
            if file is not None and file.data is not None:
                if file.kind == "photo":
                    await self.robot.send_image(file.data)
                else:
                    await self.robot.send_file(file.data, file.filename or "file")
        except WeComError as exc:
            if exc.retryable:
                raise DeliveryFailed(str(exc)) from exc
            raise Undeliverable(str(exc)) from exc

    async def to_user(self, user_id: str, message: Say) -> Copy | None:
        """A group robot has no private chats."""
        raise Undeliverable("a WeCom group robot cannot write to a person")

    async def replace(self, copy: Copy, message: Say, *, caption: bool) -> None:
        """Nothing a group robot sent is a card."""
        raise Undeliverable("a WeCom group robot keeps no cards")
