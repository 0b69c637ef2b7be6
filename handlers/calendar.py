"""The calendar's buttons and the year's close: /finalize, proposal cards, a notice's 申诉."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from handlers.callbacks import args_of, pattern
from handlers.common import Context, act, act_answered, deps, show
from scoring.duties import Finalized
from usecases import calendar
from usecases.messages import Result


async def on_finalize(update: Update, context: Context) -> None:
    """/finalize 2026: lock the year once review scores are in; post the annual bulletin."""
    result = await act(update, context, calendar.finalize, list(context.args or []))
    if result is None or not isinstance(result.value, Finalized):
        return
    done = result.value
    posted = await deps(context).run_duty(f"annual:{done.year}")
    await show(update, context, Result().reply(calendar.finalized(done, posted)))


async def on_proposal_button(update: Update, context: Context) -> None:
    """确认扣分 records the proposal (source duty); 驳回 records nothing."""
    raw = update.callback_query.data if update.callback_query else None
    confirm = bool(args_of(raw, calendar.PROPOSAL_OK))
    (card_id,) = args_of(raw, calendar.PROPOSAL_OK if confirm else calendar.PROPOSAL_NO)
    await act_answered(update, context, calendar.decide_proposal, int(card_id), confirm)


async def on_notice_appeal(update: Update, context: Context) -> None:
    """申诉 under a quarterly notice: the presser's own entries of the quarter, in private."""
    raw = update.callback_query.data if update.callback_query else None
    (quarter,) = args_of(raw, calendar.NOTICE_APPEAL)
    await act(update, context, calendar.notice_appeal, quarter)


def build() -> list[BaseHandler]:
    """This module's handlers."""
    return [
        CommandHandler("finalize", on_finalize),
        CallbackQueryHandler(on_proposal_button, pattern=pattern(calendar.PROPOSAL_OK)),
        CallbackQueryHandler(on_proposal_button, pattern=pattern(calendar.PROPOSAL_NO)),
        CallbackQueryHandler(
            on_notice_appeal, pattern=pattern(calendar.NOTICE_APPEAL, r":\d{4}Q[1-4]")
        ),
    ]
