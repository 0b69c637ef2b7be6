"""The baseline: a bare PTB echo bot (no database, no templates), polling the given server.

python -m bench.echo_bot BASE_URL
"""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text with the same text."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


def main() -> None:
    """Poll until terminated."""
    app = ApplicationBuilder().token("111:ECHO").base_url(sys.argv[1]).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(poll_interval=0, timeout=1)


if __name__ == "__main__":
    main()
