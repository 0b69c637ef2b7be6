"""Inspectors record findings: text (or a photo with a caption) → card → 确认 → notices.

The card's buttons are answered at once; a refusal then stays in the chat as a message.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.callbacks import args_of, pattern
from handlers.common import Context, act, act_answered, evidence_kept, text_of
from usecases import findings


def _ids(update: Update, verb: str) -> list[int]:
    raw = update.callback_query.data if update.callback_query else None
    return [int(a) for a in args_of(raw, verb)]


async def on_finding_text(update: Update, context: Context) -> None:
    """A finding typed (or captioned on a photo) by an inspector: the card to confirm."""
    evidence, _, kept = await evidence_kept(update, context)
    await act(update, context, findings.record_finding, text_of(update), evidence, kept)


async def on_pick_button(update: Update, context: Context) -> None:
    """A suggested person or item was picked: the corrected finding's card."""
    card_id, choice = _ids(update, findings.PICK)
    await act_answered(update, context, findings.pick_suggestion, card_id, choice)


async def on_confirm_button(update: Update, context: Context) -> None:
    """确认: record once, show the entry numbers, tell each person charged."""
    (card_id,) = _ids(update, findings.CONFIRM)
    await act_answered(update, context, findings.confirm_finding, card_id)


async def on_cancel_button(update: Update, context: Context) -> None:
    """取消: the card is dropped, nothing recorded."""
    (card_id,) = _ids(update, findings.CANCEL)
    await act_answered(update, context, findings.cancel_finding, card_id)


async def on_undo_button(update: Update, context: Context) -> None:
    """撤回: within the window the recorder takes the finding back; people are told."""
    (card_id,) = _ids(update, findings.UNDO)
    await act_answered(update, context, findings.undo_finding, card_id)


async def on_checked(update: Update, context: Context) -> None:
    """/checked [备注]: today's spot check is recorded, even when it found nothing."""
    await act(update, context, findings.record_spot_check, " ".join(context.args or []))


def build() -> list[BaseHandler]:
    """This module's handlers (the finding text handler is the catch-all for inspectors)."""
    text = (filters.TEXT & ~filters.COMMAND) | (filters.PHOTO & filters.CaptionRegex(r"\S"))
    return [
        CommandHandler("checked", on_checked),
        CallbackQueryHandler(on_confirm_button, pattern=pattern(findings.CONFIRM)),
        CallbackQueryHandler(on_cancel_button, pattern=pattern(findings.CANCEL)),
        CallbackQueryHandler(on_undo_button, pattern=pattern(findings.UNDO)),
        CallbackQueryHandler(on_pick_button, pattern=pattern(findings.PICK, r":\d+:\d+")),
        MessageHandler(filters.ChatType.PRIVATE & text, on_finding_text),
    ]
