"""Leaders and the leading group: /dept, /standings, /veto, /revoke."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.common import Context, act
from usecases import leaders


async def on_dept(update: Update, context: Context) -> None:
    """Standings of the departments this leader leads (the leading group: all)."""
    await act(update, context, leaders.dept, list(context.args or []))


async def on_standings(update: Update, context: Context) -> None:
    """Everyone's standing for a period (default: this year)."""
    await act(update, context, leaders.standings, list(context.args or []))


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
    ]
