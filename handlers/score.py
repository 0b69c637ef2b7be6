"""/score: one's own score this year, with entries and what they mean (only one's own)."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler

from bot.services import Services
from handlers.common import Context, gate, reply, send, services
from scoring.accounts import Account
from scoring.periods import Period
from scoring.personal import ScoreReport, score_report


async def on_score(update: Update, context: Context, account: Account | None) -> None:
    """Answer in private, even when asked in a group."""
    assert account is not None
    svc = services(context)
    report = await svc.run(_report, svc, account.person_id)
    text = svc.views.render(
        "score.html.j2", r=report, s=report.standing, rules=svc.rules, account=account
    )
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        await reply(update, context, svc.views.render("score_in_private.html.j2"))
    await send(context, account.telegram_user_id, text)


def _report(svc: Services, person_id: int) -> ScoreReport:
    period = Period.containing(svc.now().date(), "Y")
    with svc.core.session() as s:
        return score_report(s, svc.rules, person_id, period)


def build() -> list[BaseHandler]:
    """This module's handlers."""
    return [CommandHandler("score", gate("score", on_score))]
