"""What every handler shares: the permission gate, services, safe sending, keyboards."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
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
Plain = Callable[[Update, Context], Coroutine[Any, Any, Any]]
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


def gate(name: str, callback: Gated, *, records: bool = False) -> Plain:
    """Run a handler only for those PERMISSIONS[name] allows, at most once per update.

    The update id is stored when the update is admitted, in the same transaction as the
    account look-up, so a redelivered update is skipped. A handler that records
    (``records=True``) stores it instead in the very transaction of what it records, so a
    crash before that commit leaves the update to be processed again, exactly once.
    """
    allowed = PERMISSIONS[name]

    @wraps(callback)
    async def wrapper(update: Update, context: Context) -> Any:
        svc = services(context)
        user = update.effective_user
        if user is None or user.is_bot:
            return ConversationHandler.END
        seen, account = await svc.run(_admit, svc, update.update_id, user.id, not records)
        if seen:
            log.info("update %s already processed; skipped", update.update_id)
            return ConversationHandler.END
        if allowed is not None and (account is None or not account.has(*allowed)):
            if records:
                await svc.run(_admit, svc, update.update_id, user.id, True)
            await _refuse(update, context, svc, account)
            return ConversationHandler.END
        try:
            return await callback(update, context, account)
        except KaoheError as exc:
            await _tell(update, context, exc.message, svc.views.render("error.html.j2", error=exc))
            return ConversationHandler.END

    return wrapper


def _admit(svc: Services, update_id: int, user_id: int, mark: bool) -> tuple[bool, Account | None]:
    """(already processed?, the sender's account), marking the update processed if asked."""
    with transaction(svc.engine) as s:
        if update_seen(s, update_id):
            return True, None
        if mark:
            mark_update(s, update_id, now=svc.now())
        return False, account_for(s, user_id)


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
