"""Appeals: 申诉 (``ap:<entry id>``) asks the reason; the leading group presses 维持 or 撤销.

The ``ap:<entry id>`` button is on every deduction notice (and under the quarterly notice's
list), so its data stays exactly that. The reason question is a conversation entered only
by the button: when it is not active it lets every other text pass (an inspector's findings).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from handlers.callbacks import args_of, pattern
from handlers.common import Context, act, reason_conversation
from usecases import appeals


async def on_decision_button(update: Update, context: Context) -> None:
    """维持 or 撤销: decide once, show it on every copy, tell the appellant and the recorder."""
    raw = update.callback_query.data if update.callback_query else None
    revoke = bool(args_of(raw, appeals.REVOKE))
    (card_id,) = args_of(raw, appeals.REVOKE if revoke else appeals.UPHOLD)
    await act(update, context, appeals.decide, int(card_id), revoke)


def build() -> list[BaseHandler]:
    """This module's handlers: the decision buttons and the reason question."""
    appealing = reason_conversation(
        "appeal",
        button=appeals.APPEAL,
        ask=appeals.ask_reason,
        record=appeals.open_appeal,
        cancel=appeals.cancel_appeal,
    )
    return [
        CallbackQueryHandler(on_decision_button, pattern=pattern(appeals.UPHOLD)),
        CallbackQueryHandler(on_decision_button, pattern=pattern(appeals.REVOKE)),
        appealing,
    ]
