"""Appeals: 申诉 (``ap:<entry id>``) asks the reason; the leading group presses 维持 or 撤销.

The ``ap:<entry id>`` button is on every deduction notice (and on the quarterly notice), so
its pattern stays exactly that. The reason question is a conversation entered only by the
button: when it is not active it lets every other text pass (an inspector's findings).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.services import Services
from bot.views import Views
from handlers.common import (
    Context,
    answer,
    callback_id,
    gate,
    keyboard,
    reason_conversation,
    remember_copies,
    reply,
    send,
    services,
    show_decision,
    tell_person,
)
from scoring import appeals
from scoring.accounts import Account
from scoring.appeals import AppealedEntry, AppealView
from scoring.db import transaction
from scoring.rules import Rules

log = logging.getLogger(__name__)

APPEAL, UPHOLD, REVOKE = "ap", "ad:u", "ad:r"


def _appeal_question(views: Views, entry: AppealedEntry) -> str:
    """申诉 on a deduction notice (only the person charged may appeal): ask the reason."""
    return views.render("appeal_ask_reason.html.j2", e=entry)


def _open(
    s: Session, rules: Rules, entry: int, *, reason: str, by: Account, now: datetime, update_id: int
) -> tuple[AppealView, list[Account]]:
    """Open the appeal on an entry and, in the same transaction, find who decides it."""
    appeal = appeals.open_appeal(
        s, rules, entry, reason=reason, by=by, now=now, update_id=update_id
    )
    return appeal, appeals.deciders(s, appeal)


async def on_appeal_opened(
    update: Update, context: Context, opened: tuple[AppealView, list[Account]]
) -> None:
    """The reason given, the appeal is open: send it to the leading group, tell the appellant."""
    svc = services(context)
    appeal, deciders = opened
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


async def on_decision_button(update: Update, context: Context, account: Account | None) -> None:
    """维持 or 撤销: decide once, show it on every copy, tell the appellant and the recorder."""
    assert account is not None and update.callback_query is not None
    svc = services(context)
    revoke = (update.callback_query.data or "").startswith(REVOKE)
    card_id = callback_id(update)
    appeal, recorder = await svc.run(_decide, svc, card_id, revoke, account, update.update_id)
    await answer(update)
    text = svc.views.render("appeal_decided.html.j2", a=appeal)
    await show_decision(update, context, appeal.copies, text, caption=False)
    outcome = svc.views.render("appeal_outcome.html.j2", a=appeal)
    await tell_person(context, appeal.appellant_id, outcome)
    if recorder is not None:
        notice = svc.views.render("appeal_recorder_notice.html.j2", a=appeal)
        await send(context, recorder.telegram_user_id, notice)


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
    appealing = reason_conversation(
        "appeal",
        permission="appeal",
        button=APPEAL,
        check=appeals.appealable_entry,
        record=_open,
        ask=_appeal_question,
        announce=on_appeal_opened,
        cancelled="appeal_cancelled.html.j2",
    )
    decide = gate("appeal_decide", on_decision_button, records=True)
    return [
        CallbackQueryHandler(decide, pattern=rf"^(?:{UPHOLD}|{REVOKE}):\d+$"),
        appealing,
    ]
