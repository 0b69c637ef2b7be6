"""Appeals: 申诉 (``ap:<entry id>``) asks the reason; the leading group presses 维持 or 撤销.

The ``ap:<entry id>`` button is on every deduction notice (and on the quarterly notice), so
its pattern stays exactly that. The reason question is a conversation entered only by the
button: when it is not active it lets every other text pass (an inspector's findings).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler

from bot.services import Services
from handlers.claims import (
    END,
    TEXT,
    answer,
    callback_id,
    conversation,
    edit_copies,
    person_account,
    pressed,
    remember_copies,
    user_data,
)
from handlers.common import Context, gate, keyboard, reply, send, services
from scoring import appeals
from scoring.accounts import Account
from scoring.appeals import AppealedEntry, AppealView
from scoring.db import transaction
from scoring.errors import InputError

log = logging.getLogger(__name__)

REASON = "reason"
APPEAL, UPHOLD, REVOKE = "ap", "ad:u", "ad:r"
REASON_TIMEOUT = 10 * 60  # seconds an unanswered reason question is kept
APPEALING = "appeal_entry"


async def on_appeal_button(update: Update, context: Context, account: Account | None) -> str:
    """申诉 on a deduction notice: only the person charged may appeal; ask the reason."""
    assert account is not None
    svc = services(context)
    entry = await svc.run(_appealable, svc, callback_id(update), account)
    user_data(context)[APPEALING] = entry.entry_id
    await answer(update)
    await reply(update, context, svc.views.render("appeal_ask_reason.html.j2", e=entry))
    return REASON


def _appealable(svc: Services, entry_id: int, account: Account) -> AppealedEntry:
    with svc.core.session() as s:
        return appeals.appealable_entry(s, svc.rules, entry_id, by=account)


async def on_appeal_reason(update: Update, context: Context, account: Account | None) -> object:
    """The reason: open the appeal and send it to every leading-group member."""
    assert account is not None and update.effective_message is not None
    svc = services(context)
    entry_id = user_data(context).get(APPEALING, 0)
    reason = update.effective_message.text or ""
    try:
        appeal, deciders = await svc.run(_open, svc, entry_id, reason, account, update.update_id)
    except InputError as exc:
        await reply(update, context, svc.views.render("error.html.j2", error=exc))
        return REASON
    user_data(context).pop(APPEALING, None)
    card = svc.views.render("appeal_card.html.j2", a=appeal)
    markup = keyboard(
        [[("维持", f"{UPHOLD}:{appeal.card_id}"), ("撤销", f"{REVOKE}:{appeal.card_id}")]]
    )
    sent = [await send(context, d.telegram_user_id, card, reply_markup=markup) for d in deciders]
    await svc.run(remember_copies, svc, {appeal.card_id: sent})
    labels = [d.label for d in deciders]
    await reply(
        update, context, svc.views.render("appeal_submitted.html.j2", a=appeal, deciders=labels)
    )
    return END


def _open(
    svc: Services, entry_id: int, reason: str, account: Account, update_id: int
) -> tuple[AppealView, list[Account]]:
    now = svc.now()
    with transaction(svc.engine) as s:
        appeal = appeals.open_appeal(
            s, svc.rules, entry_id, reason=reason, by=account, now=now, update_id=update_id
        )
        return appeal, appeals.deciders(s, appeal)


async def on_cancel_appeal(update: Update, context: Context, account: Account | None) -> object:
    """/cancel instead of a reason: no appeal."""
    user_data(context).pop(APPEALING, None)
    await reply(update, context, services(context).views.render("appeal_cancelled.html.j2"))
    return END


async def on_decision_button(update: Update, context: Context, account: Account | None) -> None:
    """维持 or 撤销: decide once, show it on every copy, tell the appellant and the recorder."""
    assert account is not None and update.callback_query is not None
    svc = services(context)
    revoke = (update.callback_query.data or "").startswith(REVOKE)
    card_id = callback_id(update)
    appeal, recorder = await svc.run(_decide, svc, card_id, revoke, account, update.update_id)
    await answer(update)
    text = svc.views.render("appeal_decided.html.j2", a=appeal)
    await edit_copies(context, [*pressed(update), *appeal.copies], text, caption=False)
    appellant = await svc.run(person_account, svc, appeal.appellant_id)
    for target, template in ((appellant, "appeal_outcome"), (recorder, "appeal_recorder_notice")):
        if target is not None:
            notice = svc.views.render(f"{template}.html.j2", a=appeal)
            await send(context, target.telegram_user_id, notice)


def _decide(
    svc: Services, card_id: int, revoke: bool, account: Account, update_id: int
) -> tuple[AppealView, Account | None]:
    now = svc.now()
    with transaction(svc.engine) as s:
        appeal = appeals.decide_appeal(
            s, svc.rules, card_id, revoke=revoke, by=account, now=now, update_id=update_id
        )
        return appeal, appeals.recorder_of(s, appeal)


def build() -> list[BaseHandler]:
    """This module's handlers: the decision buttons and the reason question."""
    appealing = conversation(
        entry_points=[
            CallbackQueryHandler(gate("appeal", on_appeal_button), pattern=rf"^{APPEAL}:\d+$")
        ],
        states={REASON: [MessageHandler(TEXT, gate("appeal", on_appeal_reason, records=True))]},
        fallbacks=[CommandHandler("cancel", gate("appeal", on_cancel_appeal))],
        allow_reentry=True,
        conversation_timeout=REASON_TIMEOUT,
        name="appeal",
    )
    decide = gate("appeal_decide", on_decision_button, records=True)
    return [
        CallbackQueryHandler(decide, pattern=rf"^(?:{UPHOLD}|{REVOKE}):\d+$"),
        appealing,
    ]
