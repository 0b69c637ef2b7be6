"""The floor of the record-and-confirm flow: a bare PTB bot (no database, no templates) that
makes the Bot API calls `kaohe run` makes for it, polling the given server.

A text is answered with a card with two buttons; a press is answered, then its card
edited: three calls per finding where the echo bot makes two per two messages.

python -m bench.floor_bot BASE_URL
"""

from __future__ import annotations

import sys

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)


async def card(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text: a card to confirm, with 确认 and 取消."""
    assert update.effective_message is not None
    n = update.update_id
    buttons = [[InlineKeyboardButton("确认", callback_data=f"fc:{n}"),
                InlineKeyboardButton("取消", callback_data=f"fx:{n}")]]  # fmt: skip
    await update.effective_message.reply_text(
        f"<b>{update.effective_message.text}</b>", reply_markup=InlineKeyboardMarkup(buttons)
    )


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press: answered first, then the card edited."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"已记录 {query.data}")


def main() -> None:
    """Poll until terminated."""
    app = ApplicationBuilder().token("333:FLOOR").base_url(sys.argv[1]).build()
    app.add_handler(MessageHandler(filters.TEXT, card))
    app.add_handler(CallbackQueryHandler(confirm))
    app.run_polling(poll_interval=0, timeout=1)


if __name__ == "__main__":
    main()
