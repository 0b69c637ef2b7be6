"""An attendance export sent to the bot (a document, .xlsx or .csv): proposal cards with
确认扣分 and 驳回, as `kaohe attendance import` makes them."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from handlers.callbacks import args_of, pattern
from handlers.common import Context, act, act_answered
from usecases import attendance

EXPORT = filters.Document.FileExtension("xlsx") | filters.Document.FileExtension("csv")


async def on_export(update: Update, context: Context) -> None:
    """The office sends an export: read it, propose (records nothing by itself)."""
    message = update.effective_message
    document = message.document if message is not None else None
    if document is None:
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    await act(update, context, attendance.import_file, data, document.file_name or "export.xlsx")


async def on_decide_button(update: Update, context: Context) -> None:
    """确认扣分 records the card; 驳回 dismisses it."""
    raw = update.callback_query.data if update.callback_query else None
    confirm = bool(args_of(raw, attendance.ATTENDANCE_OK))
    (card_id,) = args_of(raw, attendance.ATTENDANCE_OK if confirm else attendance.ATTENDANCE_NO)
    await act_answered(update, context, attendance.decide, int(card_id), confirm)


def build() -> list[BaseHandler]:
    """This module's handlers (during a claim, its conversation takes a file first)."""
    return [
        MessageHandler(filters.ChatType.PRIVATE & EXPORT, on_export),
        CallbackQueryHandler(on_decide_button, pattern=pattern(attendance.ATTENDANCE_OK)),
        CallbackQueryHandler(on_decide_button, pattern=pattern(attendance.ATTENDANCE_NO)),
    ]
