"""/start CODE binds a Telegram account to a roster entry; /help says what one may do."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.common import Context, act
from usecases import people


async def on_start(update: Update, context: Context) -> None:
    """Bind with a code, or greet a bound person."""
    await act(update, context, people.start, (context.args or [""])[0])


async def on_help(update: Update, context: Context) -> None:
    """What this person can do, and how an inspector writes a finding."""
    await act(update, context, people.help_text)


def build() -> list[BaseHandler]:
    """This module's handlers."""
    return [CommandHandler("start", on_start), CommandHandler("help", on_help)]
