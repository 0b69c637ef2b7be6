"""What every Telegram handler shares: the update as a use-case event, one call of a verb,
and its result shown in Telegram.

A handler reads the update, calls one verb through ``act`` and returns; ``act`` turns the
verb's result into messages (HTML and inline buttons), edits, alerts and notices. A domain
error or a refusal is an alert on the pressed button, or a message in the chat.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, ParamSpec

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from handlers.callbacks import args_of, pattern
from handlers.sending import TELEGRAM, TelegramSender, keyboard
from scoring.errors import KaoheError
from scoring.evidence import EvidenceStore, extension
from templates.views import Views
from usecases.cards import evidence_ref
from usecases.core import Ctx, Event, UseCases
from usecases.messages import (
    DIRECT,
    EDIT,
    REPLY,
    Copies,
    Copy,
    Group,
    Out,
    Person,
    Result,
    Say,
    say,
)
from usecases.outbox import DeliveryFailed, Outbox, Undeliverable, deliver_result

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
P = ParamSpec("P")
TEXT = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
END = ConversationHandler.END
ALERT_LIMIT = 190  # characters of a button's alert (Telegram allows 200)
ASK_REASON = "reason"  # the state of a reason_conversation (the verbs' REASON)
REASON_TIMEOUT = 10 * 60  # seconds an unanswered reason question is kept


@dataclass
class Deps:
    """What the Telegram handlers work with, built once and kept in ``bot_data["tg"]``."""

    usecases: UseCases
    views: Views
    outbox: Outbox
    sender: TelegramSender
    clock: Callable[[], datetime]
    # runs one calendar duty now (by key) and says whether it is done: /finalize's bulletin
    run_duty: Callable[[str], Awaitable[bool]]
    # where evidence photos and documents are also kept (None: not kept)
    evidence: EvidenceStore | None = None


def deps(context: Context) -> Deps:
    """The handlers' dependencies, built at start-up."""
    found: Deps = context.bot_data["tg"]
    return found


def event_of(update: Update, now: datetime) -> Event | None:
    """The update as a use-case event (None for updates no person sent)."""
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    chat = update.effective_chat
    private = chat is None or chat.type == ChatType.PRIVATE
    return Event(TELEGRAM, str(user.id), f"tg:{update.update_id}", now, private)


def evidence_of(message: Message | None) -> tuple[str, str]:
    """(stored evidence, "photo"|"document") of a message's photo (largest) or document."""
    if message is not None and message.photo:
        return evidence_ref(TELEGRAM, message.photo[-1].file_id), "photo"
    if message is not None and message.document is not None:
        return evidence_ref(TELEGRAM, message.document.file_id), "document"
    return "", ""


async def evidence_kept(update: Update, context: Context) -> tuple[str, str, str]:
    """(stored evidence, "photo"|"document", local copy) of the message's photo or document.

    The file is downloaded and kept by its SHA-256 (``scoring.evidence``). A failed download
    loses nothing but the copy: the local name is then "" and the failure is logged.
    """
    message = update.effective_message
    evidence, kind = evidence_of(message)
    store = deps(context).evidence
    if not evidence or message is None or store is None:
        return evidence, kind, ""
    media = message.photo[-1] if message.photo else message.document
    assert media is not None
    try:
        file = await media.get_file()
        data = bytes(await file.download_as_bytearray())
        hint = getattr(media, "file_name", None) or file.file_path or ""
        kept = await asyncio.to_thread(
            store.keep, data, extension(hint, "jpg" if kind == "photo" else "bin")
        )
    except (TelegramError, OSError) as exc:
        log.warning(
            "update %s: evidence not kept locally (%s); recorded without the copy",
            update.update_id, type(exc).__name__,
        )  # fmt: skip
        return evidence, kind, ""
    return evidence, kind, kept


def text_of(update: Update) -> str:
    """The text (or a photo's caption) of the update's message."""
    msg = update.effective_message
    return (msg.text or msg.caption or "") if msg is not None else ""


async def act(
    update: Update,
    context: Context,
    fn: Callable[Concatenate[Ctx, P], Result],
    *args: P.args,
    **kwargs: P.kwargs,
) -> Result | None:
    """Run a verb for this update and show its result; None when nothing was done (no
    person sent it, it was processed before, it was refused, or a domain error)."""
    return await _act(update, context, False, fn, args, kwargs)


async def act_answered(
    update: Update,
    context: Context,
    fn: Callable[Concatenate[Ctx, P], Result],
    *args: P.args,
    **kwargs: P.kwargs,
) -> Result | None:
    """``act`` for a button answered at once (its refusals and errors then come as messages
    in the chat, where they stay to be read)."""
    await _answer(update)
    return await _act(update, context, True, fn, args, kwargs)


async def _act(
    update: Update,
    context: Context,
    answered: bool,
    fn: Callable[..., Result],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Result | None:
    d = deps(context)
    event = event_of(update, d.clock())
    if event is None:
        return None
    try:
        result = await d.usecases.run(event, fn, *args, **kwargs)
    except KaoheError as exc:
        await tell(update, context, exc.message, say("error.html.j2", error=exc), answered)
        return None
    if result.duplicate:
        log.info("update %s already processed; skipped", update.update_id)
        return None
    if result.refusal is not None:
        text = d.views.say(result.refusal)
        await tell(update, context, text, result.refusal, answered)
        return None
    await show(update, context, result, answered)
    return result


async def show(update: Update, context: Context, result: Result, answered: bool = False) -> None:
    """Every message of a result, where it goes; the pressed button answered."""
    d, query = deps(context), update.callback_query
    if query is not None and not answered and result.alert is None:
        await _answer(update)
    alert = await deliver_result(result, lambda out: _deliver(update, context, out), d.usecases)
    if query is not None and not answered and result.alert is not None and alert is not None:
        modal = alert is not result.alert or not any(o.to == DIRECT for o in result.out)
        await _answer(update, d.views.say(alert)[:ALERT_LIMIT], modal=modal)


async def _deliver(update: Update, context: Context, out: Out) -> list[Copy] | None:
    """Deliver one message; where it went (None: not delivered)."""
    d, to = deps(context), out.to
    try:
        if to in (REPLY, DIRECT):
            chat = update.effective_chat if to == REPLY else update.effective_user
            if chat is None:
                return None
            sent = await d.sender.send(chat.id, out.say)
            return [(TELEGRAM, str(sent.chat_id), str(sent.message_id))]
        if to == EDIT:
            await edit(update, context, out.say)
            return []
        if isinstance(to, Person):
            return await d.outbox.to_person(to, out.say)
        if isinstance(to, Group):
            for sender in d.outbox.senders.values():
                if sender.has_group:
                    await sender.to_group(out.say)
            return []
        if isinstance(to, Copies):
            await d.outbox.replace([*pressed(update), *to.copies], out.say, caption=to.caption)
            return []
    except (Undeliverable, DeliveryFailed) as exc:
        log.warning("update %s: a message was not delivered: %s", update.update_id, exc)
        return None
    raise ValueError(f"unknown target {to!r}")


def pressed(update: Update) -> list[Copy]:
    """The message the button was pressed on, if known."""
    message = update.callback_query.message if update.callback_query else None
    if message is None:
        return []
    return [(TELEGRAM, str(message.chat.id), str(message.message_id))]


async def edit(update: Update, context: Context, message: Say) -> None:
    """Edit the message a button was pressed on (ignoring 'message is not modified')."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.edit_message_text(
            deps(context).views.say(message), reply_markup=keyboard(message)
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _answer(update: Update, text: str | None = None, *, modal: bool = False) -> bool:
    """Answer the pressed button (once); False if it was already answered."""
    query = update.callback_query
    if query is None:
        return False
    try:
        await query.answer(text, show_alert=modal if text else None)
    except BadRequest:  # already answered
        return False
    return True


async def tell(
    update: Update, context: Context, plain: str, message: Say, answered: bool = False
) -> None:
    """An alert on the button if it is still unanswered, else a message in the chat."""
    if (
        update.callback_query is not None
        and not answered
        and await _answer(update, plain[:ALERT_LIMIT], modal=True)
    ):
        return
    chat = update.effective_chat
    if chat is None:
        return
    try:
        await deps(context).sender.send(chat.id, message)
    except (Undeliverable, DeliveryFailed) as exc:
        log.warning("update %s: could not answer: %s", update.update_id, exc)


def conversation(**kwargs: Any) -> ConversationHandler:
    """A ConversationHandler per user and chat; its buttons need no per-message tracking."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*per_message=False.*", PTBUserWarning)
        return ConversationHandler(**kwargs)


def state(result: Result | None, otherwise: object = END) -> object:
    """The conversation's next step after a verb (``otherwise`` when it said none)."""
    if result is None or result.state is None:
        return otherwise
    return result.state


def reason_conversation(
    name: str,
    *,
    button: str,
    ask: Callable[[Ctx, int], Result],
    record: Callable[[Ctx, int, str], Result],
    cancel: Callable[[Ctx], Result],
) -> ConversationHandler:
    """Press a button → asked for a reason → that user's next text is it (or /cancel).

    ``ask`` checks the press and asks; ``record`` records the reason (a wrong one is asked
    again: its result keeps the state); ``cancel`` answers /cancel. The conversation is
    entered only by the button, so while no question is open other text passes.
    """
    key = f"{name}:reason_for"  # where the id the question is about waits for the answer

    async def on_button(update: Update, context: Context) -> object:
        """The button: check the press, remember what it is about, ask for the reason."""
        raw = update.callback_query.data if update.callback_query else None
        about = int(args_of(raw, button)[0])
        result = await act(update, context, ask, about)
        if result is not None and result.state is not None:
            _user_data(context)[key] = about
        return state(result)

    async def on_reason(update: Update, context: Context) -> object:
        """The reason: record it once (a wrong one is asked again)."""
        about = _user_data(context).get(key, 0)
        result = await act(update, context, record, about, text_of(update))
        if result is None or result.state is None:
            _user_data(context).pop(key, None)
        return state(result)

    async def on_cancel(update: Update, context: Context) -> object:
        """/cancel instead of a reason: nothing is recorded."""
        _user_data(context).pop(key, None)
        await act(update, context, cancel)
        return END

    return conversation(
        entry_points=[CallbackQueryHandler(on_button, pattern=pattern(button))],
        states={ASK_REASON: [MessageHandler(TEXT, on_reason)]},
        fallbacks=[CommandHandler("cancel", on_cancel)],
        allow_reentry=True,
        conversation_timeout=REASON_TIMEOUT,
        name=name,
    )


def _user_data(context: Context) -> dict[Any, Any]:
    """This user's scratch space for a conversation."""
    assert context.user_data is not None
    return context.user_data
