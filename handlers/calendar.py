"""The calendar's buttons and the year's close: /finalize, proposal cards, a notice's 申诉."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.duties import PROPOSAL_BUTTON, proposal_card_text, run_due_duties
from bot.services import Services
from handlers.common import Context, edit, gate, keyboard, reply, send, services
from scoring import calendar, duties
from scoring.accounts import Account, account_of_person
from scoring.calendar import period_title
from scoring.db import transaction
from scoring.errors import KaoheError
from scoring.ledger import EntryView
from scoring.models import PublicNotice
from scoring.pending import mark_update
from scoring.periods import Period
from scoring.points import fmt

log = logging.getLogger(__name__)
NOTICE_APPEAL, APPEAL = "apn", "ap"  # ap:<entry id> is handlers.appeals' button


# ------------------------------------------------------------------ /finalize
async def on_finalize(update: Update, context: Context, account: Account | None) -> None:
    """/finalize 2026: lock the year once review scores are in; post the annual bulletin."""
    assert account is not None
    svc = services(context)
    now = svc.now()
    if not context.args or not context.args[0].isdigit():
        await reply(update, context, svc.views.render("finalize_usage.html.j2", year=now.year - 1))
        return
    year = int(context.args[0])

    def finalize() -> duties.Finalized:
        with transaction(svc.engine) as s:
            mark_update(s, update.update_id, now=now)
            return duties.finalize_year(s, year, by=account.label, now=now)

    done = await svc.run(finalize)
    await run_due_duties(context.application, now, only=f"annual:{year}")
    posted = await svc.run(_is_done, svc, f"annual:{year}")
    template = "finalize_already.html.j2" if done.already else "finalize_done.html.j2"
    await reply(update, context, svc.views.render(template, f=done, posted=posted))


def _is_done(svc: Services, key: str) -> bool:
    with svc.core.session() as s:
        return duties.is_done(s, key)


# ------------------------------------------------------------------ proposal cards
async def on_proposal_button(update: Update, context: Context, account: Account | None) -> None:
    """确认扣分 records the proposal through the core (source duty); 驳回 records nothing."""
    assert account is not None and update.callback_query is not None
    query = update.callback_query
    await query.answer()
    _, action, raw_id = (query.data or "").split(":")
    svc = services(context)
    now = svc.now()

    def decide() -> tuple[str, duties.Proposal, tuple[int, ...]]:
        with transaction(svc.engine) as s:
            mark_update(s, update.update_id, now=svc.now())
            if action == "ok":
                out = duties.confirm_proposal(s, svc.rules, int(raw_id), by=account.label,
                                              by_id=account.person_id, now=now)  # fmt: skip
                return out.state, out.proposal, out.entry_ids
            p = duties.dismiss_proposal(s, int(raw_id), by=account.label,
                                        by_id=account.person_id, now=now)  # fmt: skip
            return "dismissed", p, ()

    try:
        state, proposal, ids = await svc.run(decide)
    except KaoheError as exc:  # already decided (by another office member) or year locked
        await edit(update, exc.message)
        return
    card = proposal_card_text(svc, proposal)
    result = svc.views.render(f"duty_proposal_{state}.html.j2", p=proposal, ids=ids,
                              by=account.label)  # fmt: skip
    await edit(update, f"{card}\n\n{result}")
    if state == "confirmed":
        await _tell_person(context, svc, proposal, ids, account)


async def _tell_person(
    context: Context, svc: Services, p: duties.Proposal, ids: tuple[int, ...], by: Account
) -> None:
    def lookup() -> Account | None:
        with svc.core.session() as s:
            return account_of_person(s, p.person_id)

    target = await svc.run(lookup)
    if target is None:
        log.info("person %s has not bound Telegram; proposal notice not sent", p.person_id)
        return
    category = svc.rules.category(svc.rules.item(p.item_code).category).name
    text = svc.views.render("duty_proposal_notice.html.j2", p=p, ids=ids, year=p.year,
                            category=category, by=by.label)  # fmt: skip
    await send(context, target.telegram_user_id, text,
               reply_markup=keyboard([[("申诉", f"{APPEAL}:{i}")] for i in ids]))  # fmt: skip


# ------------------------------------------------------------------ a notice's 申诉
async def on_notice_appeal(update: Update, context: Context, account: Account | None) -> None:
    """申诉 under a quarterly notice: the presser's own entries of the quarter, in private."""
    assert account is not None and update.callback_query is not None
    query = update.callback_query
    svc = services(context)
    period = Period.parse((query.data or "").split(":", 1)[1])
    title = period_title(period)
    today = svc.now().date()

    def mine() -> tuple[list[EntryView], PublicNotice | None]:
        with svc.core.session() as s:
            entries = duties.own_deductions(s, svc.rules, period, account.person_id)
            return entries, duties.notice_of(s, period.label)

    entries, notice = await svc.run(mine)
    closes = notice.window_closes if notice is not None else None
    if closes is not None and not calendar.window_open(closes, today):
        text = svc.views.render("notice_window_closed.html.j2", title=title, closes=closes)
        await query.answer(text, show_alert=True)
        return
    if not entries:
        await query.answer(svc.views.render("notice_no_entries.html.j2", title=title),
                           show_alert=True)  # fmt: skip
        return
    buttons = [
        [(f"#{e.id} {e.fact_date.month}月{e.fact_date.day}日 {e.item_name} 扣{fmt(e.points)}分",
          f"{APPEAL}:{e.id}")]
        for e in entries
    ]  # fmt: skip
    text = svc.views.render("notice_appeal_list.html.j2", title=title, closes=closes)
    sent = await send(context, account.telegram_user_id, text, reply_markup=keyboard(buttons))
    template = "notice_appeal_sent.html.j2" if sent else "notice_private_failed.html.j2"
    await query.answer(svc.views.render(template, title=title), show_alert=sent is None)


def build() -> list[BaseHandler]:
    """This module's handlers."""
    return [
        CommandHandler("finalize", gate("finalize", on_finalize, records=True)),
        CallbackQueryHandler(
            gate("proposal_decide", on_proposal_button, records=True),
            pattern=rf"^{PROPOSAL_BUTTON}:(ok|no):\d+$",
        ),
        CallbackQueryHandler(
            gate("appeal", on_notice_appeal), pattern=rf"^{NOTICE_APPEAL}:\d{{4}}Q[1-4]$"
        ),
    ]
