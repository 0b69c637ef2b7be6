"""/start CODE binds a Telegram account to a roster entry; /help says what one may do."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.services import Services
from handlers.common import Context, gate, reply, services
from scoring import accounts
from scoring.accounts import Account
from scoring.db import transaction


async def on_start(update: Update, context: Context, account: Account | None) -> None:
    """Bind with a code, or greet a bound person."""
    svc = services(context)
    user = update.effective_user
    assert user is not None
    if not context.args:
        template = "unbound.html.j2" if account is None else "bound.html.j2"
        await reply(update, context, svc.views.render(template, account=account))
        return
    bound = await svc.run(_bind, svc, context.args[0], user.id)
    await reply(update, context, svc.views.render("bound.html.j2", account=bound))


def _bind(svc: Services, code: str, user_id: int) -> Account:
    with transaction(svc.engine) as s:
        return accounts.bind(s, code, telegram_user_id=user_id, now=svc.now())


async def on_help(update: Update, context: Context, account: Account | None) -> None:
    """What this person can do, and how an inspector writes a finding."""
    svc = services(context)
    text = svc.views.render(
        "help.html.j2", account=account, duty=svc.rules.duty, items=svc.rules.items
    )
    await reply(update, context, text)


def build() -> list[BaseHandler]:
    """This module's handlers."""
    return [
        CommandHandler("start", gate("start", on_start)),
        CommandHandler("help", gate("help", on_help)),
    ]
