"""钉钉 as a messenger of the outbox: 1:1 chats with the robot, the bureau's group, and a
decision shown on a card's copies (DingTalk robot messages cannot be edited: the decision
goes out as a new message to whoever holds a copy).

Every send is retried on what may pass (429, 5xx, flow control, the network); a refusal
that will not pass (an unknown user or group) is ``Undeliverable``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from dingtalk.openapi import DingTalkApi, DingTalkError, Group, Recipient, Users
from dingtalk.render import render
from templates.views import Views
from usecases.messages import Attachment, Copy, Say
from usecases.outbox import DeliveryFailed, Undeliverable

log = logging.getLogger(__name__)
DINGTALK = "dt"
ATTEMPTS = 4
T = TypeVar("T")


# DingTalk takes a file by its name's extension; a file received without a name (evidence
# sent on from a file message) is named by its first bytes
_MAGIC = ((b"%PDF", "evidence.pdf"), (b"PK\x03\x04", "evidence.zip"))


def _name_for(data: bytes) -> str | None:
    """A name DingTalk accepts for these bytes, None for a type it would refuse."""
    return next((name for magic, name in _MAGIC if data.startswith(magic)), None)


class DingTalkSender:
    """Sends through DingTalk's OpenAPI."""

    name = DINGTALK

    def __init__(
        self,
        api: DingTalkApi,
        views: Views,
        group_id: str | None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.api = api
        self.views = views
        self.group_id = group_id
        self.sleep = sleep

    @property
    def has_group(self) -> bool:
        """Whether KAOHE_DINGTALK_GROUP_ID is set."""
        return bool(self.group_id)

    async def send(self, to: Recipient, message: Say) -> None:
        """A message: its file first (if DingTalk can send it), then the text with actions."""
        if message.file is not None:
            try:
                await self._file(to, message.file)
            except (Undeliverable, DeliveryFailed) as exc:  # the text still goes: it says
                log.warning("DingTalk file not sent, the text goes without it: %s", exc)
        title, parts = render(self.views, message)
        for part in parts:
            await self._retrying(lambda p=part: self.api.send_markdown(to, title, p))  # type: ignore[misc]

    async def _file(self, to: Recipient, file: Attachment) -> None:
        """An image or a file: bytes are uploaded; a DingTalk picture is fetched and sent
        again; another messenger's file cannot be reached from here (the text says what)."""
        data = file.data
        if data is None and file.messenger == DINGTALK and file.ref:
            data = await self.fetch(file.ref)
        if data is None:
            return
        if file.kind == "photo":
            await self._retrying(
                lambda: self.api.send_image(to, data, file.filename or "image.png")
            )
            return
        name = file.filename or _name_for(data)
        if name is None:
            log.warning("DingTalk: a file of unknown type cannot be sent; the text goes alone")
            return
        await self._retrying(lambda: self.api.send_file(to, data, name))

    async def fetch(self, download_code: str, *, limit: int | None = None) -> bytes:
        """A file someone sent to the robot (retried as sends are; Undeliverable, caused by
        the DingTalkError, or DeliveryFailed when it cannot be had)."""
        return await self._retrying(lambda: self.api.download(download_code, limit=limit))

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await call()
            except DingTalkError as exc:
                if not exc.retryable:
                    raise Undeliverable(str(exc)) from exc
                log.warning("DingTalk send failed (attempt %s): %s", attempt, exc)
                if attempt < ATTEMPTS:
                    await self.sleep(0.5 * 2**attempt)
        raise DeliveryFailed(f"DingTalk: gave up after {ATTEMPTS} attempts")

    async def to_user(self, user_id: str, message: Say) -> Copy | None:
        """A message in the person's 1:1 chat with the robot."""
        await self.send(Users((user_id,)), message)
        return (DINGTALK, user_id, "")

    async def to_conversation(self, conversation_id: str, message: Say) -> None:
        """A message to a group someone wrote in."""
        await self.send(Group(conversation_id), message)

    async def to_group(self, message: Say) -> None:
        """A message to the bureau's DingTalk group."""
        if not self.group_id:
            raise Undeliverable("KAOHE_DINGTALK_GROUP_ID is not set")
        await self.send(Group(self.group_id), message)

    async def replace(self, copy: Copy, message: Say, *, caption: bool) -> None:
        """The decision, as a new message to whoever holds the copy."""
        await self.send(Users((copy[1],)), message)
