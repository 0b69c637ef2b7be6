"""What every handler shares: the permission gate, services, safe sending, keyboards."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import wraps
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes, ConversationHandler

from bot.services import Services
from handlers.permissions import PERMISSIONS
from scoring.accounts import Account, account_for
from scoring.db import transaction
from scoring.errors import KaoheError
from scoring.pending import mark_update, update_seen

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
Gated = Callable[[Update, Context, Account | None], Awaitable[Any]]
Plain = Callable[[Update, Context], Awaitable[Any]]
SEND_ATTEMPTS = 4


def services(context: Context) -> Services:
    """The services object built at start-up."""
    svc: Services = context.bot_data["services"]
    return svc


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline buttons from rows of (text, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


async def reply(update: Update, context: Context, text: str, **kwargs: Any) -> Message | None:
    """Answer the user: in the chat they wrote in (a callback's message's chat)."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await send(context, chat.id, text, **kwargs)


async def send(context: Context, chat_id: int, text: str, **kwargs: Any) -> Message | None:
    """Send with retries on network trouble; a final failure is logged, never silent."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await context.bot.send_message(chat_id, text, **kwargs)
        except RetryAfter as exc:  # the rate limiter already waited; wait and try again
            delay = exc.retry_after
            await asyncio.sleep(delay if isinstance(delay, int | float) else delay.total_seconds())
        except (TimedOut, NetworkError) as exc:
            if isinstance(exc, BadRequest):
                raise
            log.warning("send to %s failed (attempt %s): %s", chat_id, attempt, exc)
            await asyncio.sleep(0.2 * 2**attempt)
        except Forbidden:
            log.warning("chat %s has blocked the bot; message not delivered", chat_id)
            return None
    log.error("giving up sending to chat %s after %s attempts", chat_id, SEND_ATTEMPTS)
    return None


async def edit(update: Update, text: str, **kwargs: Any) -> None:
    """Edit the message a button was pressed on (ignoring 'message is not modified')."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.edit_message_text(text, **kwargs)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


def gate(name: str, callback: Gated) -> Plain:
    """Run a handler only for those PERMISSIONS[name] allows, once per Telegram update."""
    allowed = PERMISSIONS[name]

    @wraps(callback)
    async def wrapper(update: Update, context: Context) -> Any:
        svc = services(context)
        user = update.effective_user
        if user is None or user.is_bot:
            return ConversationHandler.END
        seen, account = await svc.run(_lookup, svc, update.update_id, user.id)
        if seen:
            log.info("update %s already processed; skipped", update.update_id)
            return ConversationHandler.END
        if allowed is not None and (account is None or not account.has(*allowed)):
            await _refuse(update, context, svc, account)
            await svc.run(_mark, svc, update.update_id)
            return ConversationHandler.END
        try:
            result = await callback(update, context, account)
        except KaoheError as exc:
            await _tell(update, context, exc.message, svc.views.render("error.html.j2", error=exc))
            result = ConversationHandler.END
        await svc.run(_mark, svc, update.update_id)
        return result

    return wrapper


def _lookup(svc: Services, update_id: int, user_id: int) -> tuple[bool, Account | None]:
    with svc.core.session() as s:
        return update_seen(s, update_id), account_for(s, user_id)


def _mark(svc: Services, update_id: int) -> None:
    with transaction(svc.engine) as s:
        mark_update(s, update_id, now=svc.now())


async def _tell(update: Update, context: Context, plain: str, html: str) -> None:
    """An alert on the button if it is still unanswered, else a message in the chat."""
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(plain[:190], show_alert=True)
            return
        except BadRequest:  # the handler already answered the query: say it in the chat
            pass
    await reply(update, context, html)


async def _refuse(update: Update, context: Context, svc: Services, account: Account | None) -> None:
    template = "unbound.html.j2" if account is None else "not_allowed.html.j2"
    text = svc.views.render(template, account=account)
    await _tell(update, context, text, text)
