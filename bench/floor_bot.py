"""The floor of the record-and-confirm flow: a bare PTB bot (no database, no templates) that
makes the Bot API calls `kaohe run` makes for it, polling the given server.

A text is answered with a card with two buttons; a press is answered, then its card
edited (with its undo button): three calls per finding where the echo bot makes two per two
messages. The cards are HTML of the size and shape of ours, as the server has to parse
ours; what is left out is everything of ours: the database, the templates, the use cases.

python -m bench.floor_bot BASE_URL
"""

from __future__ import annotations

import sys

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

# a finding card and its recorded form, as `kaohe run` shows them for "职工000 迟到"
CARD = (
    "<b>请确认扣分记录</b>\n项目:迟到(机关日常)\n日期:12月2日\n• {who}(科室0) 扣 0.5 分\n"
    "证据:无\n记录人:督查甲(办公室)"
)
RECORDED = (
    "<b>已记录</b> ✅\n项目:迟到(机关日常),12月2日\n• 记录 #{n} 职工000(科室0) 扣 0.5 分\n"
    "职工000(科室0) 尚未绑定机器人,未能通知本人,请另行告知。10 分钟内可撤回。"
)


async def card(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text: a card to confirm, with 确认 and 取消."""
    assert update.effective_message is not None
    n = update.update_id
    buttons = [[InlineKeyboardButton("确认", callback_data=f"fc:{n}"),
                InlineKeyboardButton("取消", callback_data=f"fx:{n}")]]  # fmt: skip
    who = (update.effective_message.text or "").split()[0]
    await update.effective_message.reply_text(
        CARD.format(who=who), reply_markup=InlineKeyboardMarkup(buttons)
    )


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press: answered first, then the card edited."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    n = (query.data or ":0").partition(":")[2]
    undo = [[InlineKeyboardButton("撤回(10分钟内)", callback_data=f"fu:{n}")]]
    await query.edit_message_text(RECORDED.format(n=n), reply_markup=InlineKeyboardMarkup(undo))


def main() -> None:
    """Poll until terminated."""
    defaults = Defaults(parse_mode=ParseMode.HTML)
    app = ApplicationBuilder().token("333:FLOOR").base_url(sys.argv[1]).defaults(defaults).build()
    app.add_handler(MessageHandler(filters.TEXT, card))
    app.add_handler(CallbackQueryHandler(confirm))
    app.run_polling(poll_interval=0, timeout=1)


if __name__ == "__main__":
    main()
