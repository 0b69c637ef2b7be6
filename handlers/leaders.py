"""Leaders and the leading group: /dept, /standings, /veto, /revoke."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from handlers.callbacks import args_of, pattern
from handlers.common import Context, act, act_answered
from usecases import leaders

PAGED = r":\d{4}(H[12]|Q[1-4])?:\d+"  # a period's label and a page


async def on_dept(update: Update, context: Context) -> None:
    """Standings of the departments this leader leads (the leading group: all)."""
    await act(update, context, leaders.dept, list(context.args or []))


async def on_standings(update: Update, context: Context) -> None:
    """Everyone's standing for a period (default: this year)."""
    await act(update, context, leaders.standings, list(context.args or []))


async def on_page_button(update: Update, context: Context) -> None:
    """Another page of a /dept or /standings table: the pressed message turns to it."""
    raw = update.callback_query.data if update.callback_query else None
    dept = bool(args_of(raw, leaders.DEPT_PAGE))
    turn = leaders.dept_page if dept else leaders.standings_page
    # a press without data (PTB gives it to the first button handler): the period is wrong
    period, page = (args_of(raw, leaders.DEPT_PAGE if dept else leaders.STANDINGS_PAGE)
                    or ["", "1"])[:2]  # fmt: skip
    await act_answered(update, context, turn, period, int(page))


async def on_veto(update: Update, context: Context) -> None:
    """/veto 姓名 [年度] 原因: the leading group records a one-vote veto."""
    await act(update, context, leaders.veto, list(context.args or []))


async def on_revoke(update: Update, context: Context) -> None:
    """/revoke 编号 原因 (or v编号 for a veto): revoke it; the person concerned is told."""
    await act(update, context, leaders.revoke, list(context.args or []))


def build() -> list[BaseHandler]:
    """This module's handlers."""
    return [
        CommandHandler("dept", on_dept),
        CommandHandler("standings", on_standings),
        CommandHandler("veto", on_veto),
        CommandHandler("revoke", on_revoke),
        CallbackQueryHandler(on_page_button, pattern=pattern(leaders.DEPT_PAGE, PAGED)),
        CallbackQueryHandler(on_page_button, pattern=pattern(leaders.STANDINGS_PAGE, PAGED)),
    ]
