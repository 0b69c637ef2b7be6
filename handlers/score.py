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


def _ints(update: Update, verb: str) -> list[int]:
    """The press's numbers; zeros for a press without data (PTB gives such a press to the
    first button handler: the verb then says the year is wrong)."""
    raw = update.callback_query.data if update.callback_query else None
    return [int(a) for a in args_of(raw, verb)] or [0, 0]


async def on_all_entries_button(update: Update, context: Context) -> None:
    """全部明细: the first page of the year's entries, as a new message."""
    year = _ints(update, people.SCORE_ALL)[0]
    await act_answered(update, context, people.score_entries, year, 1, turn=False)


async def on_page_button(update: Update, context: Context) -> None:
    """Another page of the entries: the pressed message turns to it."""
    year, page = _ints(update, people.SCORE_PAGE)[:2]
    await act_answered(update, context, people.score_entries, year, page)


def build() -> list[BaseHandler]:
    """This module's handlers."""
    return [
        CommandHandler("score", on_score),
        CallbackQueryHandler(on_all_entries_button, pattern=pattern(people.SCORE_ALL, r":\d{4}")),
        CallbackQueryHandler(on_page_button, pattern=pattern(people.SCORE_PAGE, r":\d{4}:\d+")),
    ]
