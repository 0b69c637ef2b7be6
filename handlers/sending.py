"""Sending to Telegram: a use case's message rendered as HTML with inline buttons, split by
Telegram's own counting (UTF-16 code units), retried on flood limits and network trouble.

``send`` is the one sending function; every message the bot sends goes through it.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from handlers.callbacks import data
from templates.views import Views
from usecases.messages import Attachment, Copy, Say
from usecases.outbox import DeliveryFailed, Undeliverable

log = logging.getLogger(__name__)
TELEGRAM = "tg"
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024  # UTF-16 code units
ATTEMPTS = 4


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at line breaks into messages under the limit (a longer line is cut).

    Every line of our templates closes the tags it opens, so a part is valid HTML.
    """
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            head = line[:limit]
            while utf16_len(head) > limit:
                head = head[:-1]
            if current:
                parts.append(current)
                current = ""
            parts.append(head)
            line = line[len(head) :]
        candidate = f"{current}\n{line}" if current else line
        if current and utf16_len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        parts.append(current)
    return [p.strip("\n") for p in parts if p.strip()]


def keyboard(message: Say) -> InlineKeyboardMarkup | None:
    """A message's actions as inline buttons (None when it has none)."""
    if not message.actions:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(a.label, callback_data=data(a)) for a in row]
            for row in message.actions
        ]
    )


async def retrying(call: Callable[[], Awaitable[Message]], chat_id: int | str) -> Message:
    """The one retry loop: waits out flood limits and network trouble.

    A closed chat (blocked, never opened, not found) is ``Undeliverable``; failing every
    attempt is ``DeliveryFailed``; any other refusal (bad HTML, a wrong file id) is raised.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as exc:
            await asyncio.sleep(_retry_after(exc))
        except Forbidden as exc:
            raise Undeliverable(f"chat {chat_id}: {exc}") from exc
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                raise Undeliverable(f"chat {chat_id}: {exc}") from exc
            raise
        except NetworkError as exc:  # TimedOut included
            log.warning("sending to chat %s failed (attempt %s): %s", chat_id, attempt, exc)
            if attempt < ATTEMPTS:
                await asyncio.sleep(0.2 * 2**attempt)
    raise DeliveryFailed(f"chat {chat_id}: gave up after {ATTEMPTS} attempts")


def _retry_after(exc: RetryAfter) -> float:
    """Seconds to wait (PTB's value is becoming a timedelta; either is read)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        delay: int | float | timedelta = exc.retry_after
    return delay if isinstance(delay, int | float) else delay.total_seconds()


class TelegramSender:
    """Telegram as a messenger of the outbox: private chats, the group, card copies."""

    name = TELEGRAM

    def __init__(self, bot: Bot, views: Views, group_chat_id: int | None) -> None:
        self.bot = bot
        self.views = views
        self.group_chat_id = group_chat_id

    @property
    def has_group(self) -> bool:
        """Whether KAOHE_GROUP_CHAT_ID is set."""
        return self.group_chat_id is not None

    async def send(self, chat_id: int | str, message: Say) -> Message:
        """Send a message (a file with the text as caption, or text split under the limit;
        the buttons go with the last part); returns the message that carries the buttons."""
        text, markup = self.views.say(message), keyboard(message)
        if message.file is not None and _ours(message.file):
            caption = split_message(text, CAPTION_LIMIT)[0] if text else None
            return await retrying(lambda: self._file(chat_id, message.file, caption, markup),
                                  chat_id)  # fmt: skip
        parts = split_message(text) or [text]
        sent: Message | None = None
        for i, part in enumerate(parts, 1):
            buttons = markup if i == len(parts) else None
            sent = await retrying(
                lambda p=part, b=buttons: self.bot.send_message(  # type: ignore[misc]
                    chat_id, p, parse_mode=ParseMode.HTML, reply_markup=b
                ),
                chat_id,
            )
        assert sent is not None
        return sent

    def _file(
        self,
        chat_id: int | str,
        file: Attachment | None,
        caption: str | None,
        markup: InlineKeyboardMarkup | None,
    ) -> Awaitable[Message]:
        assert file is not None
        what: str | InputFile = (
            InputFile(file.data, filename=file.filename) if file.data is not None else file.ref
        )
        method = self.bot.send_photo if file.kind == "photo" else self.bot.send_document
        return method(chat_id, what, caption=caption, parse_mode=ParseMode.HTML,
                      reply_markup=markup)  # fmt: skip

    async def to_user(self, user_id: str, message: Say) -> Copy | None:
        """A private message; where it went."""
        sent = await self.send(int(user_id), message)
        return (TELEGRAM, str(sent.chat_id), str(sent.message_id))

    async def to_group(self, message: Say) -> None:
        """A message to the group chat."""
        if self.group_chat_id is None:
            raise Undeliverable("KAOHE_GROUP_CHAT_ID is not set")
        await self.send(self.group_chat_id, message)

    async def replace(self, copy: Copy, message: Say, *, caption: bool) -> None:
        """Edit a copy sent earlier (ignoring 'message is not modified')."""
        text, chat_id, message_id = self.views.say(message), int(copy[1]), int(copy[2])
        try:
            if caption:
                await self.bot.edit_message_caption(
                    chat_id=chat_id, message_id=message_id, caption=text, parse_mode=ParseMode.HTML
                )
            else:
                await self.bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML
                )
        except TelegramError as exc:
            if "not modified" not in str(exc).lower():
                raise DeliveryFailed(f"could not edit {chat_id}/{message_id}: {exc}") from exc


def _ours(file: Attachment) -> bool:
    """Whether Telegram can send this file (bytes, or a file id of Telegram's own)."""
    return file.data is not None or file.messenger in ("", TELEGRAM)
