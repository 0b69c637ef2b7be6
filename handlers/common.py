"""What every handler shares: the permission gate, services, safe sending, keyboards, cards.

Cards (a claim, an appeal) are sent to several people; every copy is remembered so a
decision shows on all of them. A button that needs a reason (驳回 a claim, 申诉 an entry) is
one ``reason_conversation``.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, Protocol, TypeVar

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.services import Services
from bot.views import Views
from handlers.permissions import PERMISSIONS
from scoring.accounts import Account, account_for, account_of_person
from scoring.db import transaction
from scoring.errors import InputError, KaoheError, NotFound
from scoring.pending import add_copies, mark_update, update_seen
from scoring.rules import Rules

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
Gated = Callable[[Update, Context, Account | None], Awaitable[Any]]
Plain = Callable[[Update, Context], Coroutine[Any, Any, Any]]
V = TypeVar("V")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
SEND_ATTEMPTS, FILE_ATTEMPTS = 4, 3  # a message; a photo or document (a card's evidence)
REASON = "reason"  # the state of a reason_conversation
REASON_TIMEOUT = 10 * 60  # seconds an unanswered reason question is kept
TEXT = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
END = ConversationHandler.END


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
    return await _retrying(
        lambda: context.bot.send_message(chat_id, text, **kwargs),
        chat_id,
        what="message",
        attempts=SEND_ATTEMPTS,
        raise_refused=True,
    )


async def deliver(
    context: Context, chat_id: int, file_id: str, file_type: str, **kwargs: Any
) -> Message | None:
    """Send a photo or (any other ``file_type``) a document; a refused file is only logged."""
    method = context.bot.send_photo if file_type == "photo" else context.bot.send_document
    return await _retrying(
        lambda: method(chat_id, file_id, **kwargs),
        chat_id,
        what=file_type,
        attempts=FILE_ATTEMPTS,
        raise_refused=False,
    )


async def _retrying(
    call: Callable[[], Awaitable[Message]],
    chat_id: int,
    *,
    what: str,
    attempts: int,
    raise_refused: bool,
) -> Message | None:
    """The one retry loop for sending: waits out flood limits and network trouble.

    A blocked bot gives None; a refusal (BadRequest: bad HTML, a wrong file id) is raised
    or, with ``raise_refused=False``, logged and None.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as exc:  # the rate limiter already waited; wait and try again
            await asyncio.sleep(_seconds(exc.retry_after))
        except BadRequest as exc:  # not worth repeating
            if raise_refused:
                raise
            log.warning("%s to chat %s refused: %s", what, chat_id, exc)
            return None
        except NetworkError as exc:  # TimedOut included
            log.warning("%s to chat %s failed (attempt %s): %s", what, chat_id, attempt, exc)
            await asyncio.sleep(0.2 * 2**attempt)
        except Forbidden:
            log.warning("chat %s has blocked the bot; %s not delivered", chat_id, what)
            return None
    log.error("giving up sending a %s to chat %s after %s attempts", what, chat_id, attempts)
    return None


def _seconds(delay: int | float | timedelta) -> float:
    return delay if isinstance(delay, int | float) else delay.total_seconds()


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


async def answer(update: Update) -> None:
    """Answer the button press (after the core call, so a refusal can be the alert)."""
    if update.callback_query is not None:
        await update.callback_query.answer()


def callback_tail(update: Update) -> str:
    """What follows the last ':' in the pressed button's data (a card id, a level).

    PTB lets a button without data reach any patterned handler: such a press is refused.
    """
    data = update.callback_query.data if update.callback_query is not None else None
    if not data or ":" not in data:
        raise NotFound("这个按钮已失效")
    return data.rsplit(":", 1)[1]


def callback_id(update: Update) -> int:
    """The card or entry id at the end of the pressed button's data."""
    tail = callback_tail(update)
    if not tail.isdecimal():
        raise NotFound("这个按钮已失效")
    return int(tail)


def pressed(update: Update) -> list[tuple[int, int]]:
    """The (chat, message) the button was pressed on, if known."""
    message = update.callback_query.message if update.callback_query else None
    return [(message.chat.id, message.message_id)] if message is not None else []


def user_data(context: Context) -> dict[Any, Any]:
    """This user's scratch space for a conversation."""
    assert context.user_data is not None
    return context.user_data


def person_account(svc: Services, person_id: int) -> Account | None:
    """The bound account of a roster person."""
    with svc.core.session() as s:
        return account_of_person(s, person_id)


async def tell_person(context: Context, person_id: int, text: str) -> None:
    """Send to a roster person's bound Telegram account; an unbound person is only logged."""
    svc = services(context)
    target = await svc.run(person_account, svc, person_id)
    if target is None:
        log.info("person %s has not bound Telegram; message not sent", person_id)
        return
    await send(context, target.telegram_user_id, text)


# ------------------------------------------------------------ cards sent to several people
def remember_copies(svc: Services, copies: dict[int, list[Message | None]]) -> None:
    """Store where each card was sent: {card id: sent messages}."""
    with transaction(svc.engine) as s:
        for card_id, messages in copies.items():
            add_copies(s, card_id, [(m.chat_id, m.message_id) for m in messages if m is not None])


async def show_decision(
    update: Update, context: Context, copies: Iterable[tuple[int, int]], text: str, *, caption: bool
) -> None:
    """Show a decision on every copy of a card, the pressed one first; its buttons go."""
    for chat_id, message_id in dict.fromkeys([*pressed(update), *copies]):
        try:
            if caption:
                await context.bot.edit_message_caption(
                    chat_id=chat_id, message_id=message_id, caption=text
                )
            else:
                await context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except TelegramError as exc:
            if "not modified" not in str(exc).lower():
                log.warning("could not edit card copy %s/%s: %s", chat_id, message_id, exc)


# ------------------------------------------------------------ conversations
def conversation(**kwargs: Any) -> ConversationHandler:
    """A ConversationHandler per user and chat; its buttons need no per-message tracking."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*per_message=False.*", PTBUserWarning)
        return ConversationHandler(**kwargs)


class Check(Protocol[T_co]):
    """A core read: what a button is about, if this account may give a reason for it."""

    def __call__(self, session: Session, rules: Rules, target_id: int, /, *, by: Account) -> T_co:
        """What the reason will be for (or a domain error with the user's message)."""


class Record(Protocol[T_co]):
    """A core write: the reason recorded, with the update id, in one transaction."""

    def __call__(
        self,
        session: Session,
        rules: Rules,
        target_id: int,
        /,
        *,
        reason: str,
        by: Account,
        now: datetime,
        update_id: int,
    ) -> T_co:
        """What was recorded (an InputError about the reason has it asked again)."""


def reason_conversation(
    name: str,
    *,
    permission: str,
    button: str,
    check: Check[V],
    record: Record[T],
    ask: Callable[[Views, V], str],
    announce: Callable[[Update, Context, T], Awaitable[None]],
    cancelled: str,
) -> ConversationHandler:
    """Press a button → asked for a reason → that user's next text is it (or /cancel).

    The button's data is ``<button>:<id>``. ``check`` (in a session) says what the id is
    and whether this account may give the reason, ``ask`` is the question; ``record`` (in
    a transaction) records the reason, ``announce`` tells people; /cancel answers with the
    ``cancelled`` template. Every step is gated by ``permission``. The conversation is
    entered only by the button, so while no question is open other text passes.
    """
    key = f"{name}:reason_for"  # where the id the question is about waits for the answer

    async def on_button(update: Update, context: Context, account: Account | None) -> str:
        """The button: check the press, remember what it is about, ask for the reason."""
        assert account is not None
        svc, about = services(context), callback_id(update)

        def read() -> V:
            with svc.core.session() as s:
                return check(s, svc.rules, about, by=account)

        target = await svc.run(read)
        user_data(context)[key] = about
        await answer(update)
        await reply(update, context, ask(svc.views, target))
        return REASON

    async def on_reason(update: Update, context: Context, account: Account | None) -> object:
        """The reason: record it once (a wrong one is asked again), then announce it."""
        assert account is not None and update.effective_message is not None
        svc, about = services(context), user_data(context).get(key, 0)
        reason, update_id = update.effective_message.text or "", update.update_id

        def write() -> T:
            now = svc.now()
            with transaction(svc.engine) as s:
                return record(
                    s, svc.rules, about, reason=reason, by=account, now=now, update_id=update_id
                )

        try:
            done = await svc.run(write)
        except InputError as exc:
            await reply(update, context, svc.views.render("error.html.j2", error=exc))
            return REASON
        user_data(context).pop(key, None)
        await announce(update, context, done)
        return END

    async def on_cancel(update: Update, context: Context, account: Account | None) -> object:
        """/cancel instead of a reason: nothing is recorded."""
        user_data(context).pop(key, None)
        await reply(update, context, services(context).views.render(cancelled))
        return END

    return conversation(
        entry_points=[
            CallbackQueryHandler(gate(permission, on_button), pattern=rf"^{button}:\d+$")
        ],
        states={REASON: [MessageHandler(TEXT, gate(permission, on_reason, records=True))]},
        fallbacks=[CommandHandler("cancel", gate(permission, on_cancel))],
        allow_reentry=True,
        conversation_timeout=REASON_TIMEOUT,
        name=name,
    )


# ------------------------------------------------------------ the permission gate
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
        fresh = mark_update(s, update_id, now=svc.now()) if mark else not update_seen(s, update_id)
        return (False, account_for(s, user_id)) if fresh else (True, None)


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
