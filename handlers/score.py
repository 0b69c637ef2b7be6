"""/score: one's own score this year, in private (only one's own)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.common import Context, act
from usecases import people


async def on_score(update: Update, context: Context) -> None:
    """Answer in private, even when asked in a group."""
    await act(update, context, people.score)


def build() -> list[BaseHandler]:
    """This module's handlers."""
    return [CommandHandler("score", on_score)]
