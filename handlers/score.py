"""/score: one's own score this year, in private (only one's own), and all its entries in
pages."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from handlers.callbacks import args_of, pattern
from handlers.common import Context, act, act_answered
from usecases import people


async def on_score(update: Update, context: Context) -> None:
    """Answer in private, even when asked in a group."""
    await act(update, context, people.score)


async def on_all_entries_button(update: Update, context: Context) -> None:
    """全部明细: the first page of the year's entries, as a new message."""
    raw = update.callback_query.data if update.callback_query else None
    (year,) = args_of(raw, people.SCORE_ALL)
    await act_answered(update, context, people.score_entries, int(year), 1, turn=False)


async def on_page_button(update: Update, context: Context) -> None:
    """Another page of the entries: the pressed message turns to it."""
    raw = update.callback_query.data if update.callback_query else None
    year, page = args_of(raw, people.SCORE_PAGE)
    await act_answered(update, context, people.score_entries, int(year), int(page))


def build() -> list[BaseHandler]:
    """This module's handlers."""
    return [
        CommandHandler("score", on_score),
        CallbackQueryHandler(on_all_entries_button, pattern=pattern(people.SCORE_ALL, r":\d{4}")),
        CallbackQueryHandler(on_page_button, pattern=pattern(people.SCORE_PAGE, r":\d{4}:\d+")),
    ]
