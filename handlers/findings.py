"""Inspectors record findings: text (or a photo with a caption) → card → 确认 → notices."""

from __future__ import annotations

import logging
from datetime import date

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.services import Services
from handlers.common import Context, edit, gate, keyboard, reply, send, services
from scoring import duties, findings
from scoring.accounts import Account
from scoring.db import transaction
from scoring.errors import ParseError
from scoring.findings import FindingView
from scoring.pending import mark_update

log = logging.getLogger(__name__)
CONFIRM, CANCEL, UNDO, PICK = "fc", "fx", "fu", "fs"


def _confirm_keyboard(view: FindingView) -> object:
    return keyboard([[("确认", f"{CONFIRM}:{view.card_id}"), ("取消", f"{CANCEL}:{view.card_id}")]])


async def on_finding_text(update: Update, context: Context, account: Account | None) -> None:
    """A finding typed (or captioned on a photo) by an inspector: show the card to confirm."""
    assert account is not None and update.effective_message is not None
    msg = update.effective_message
    text = msg.text or msg.caption or ""
    evidence = (
        msg.photo[-1].file_id if msg.photo else (msg.document.file_id if msg.document else "")
    )
    svc = services(context)
    try:
        view = await svc.run(_open, svc, text, account, evidence)
    except ParseError as exc:
        await _offer_suggestions(update, context, svc, exc, text, account, evidence)
        return
    await _show_card(update, context, svc, view)


def _open(svc: Services, text: str, account: Account, evidence: str) -> FindingView:
    now = svc.now()
    with transaction(svc.engine) as s:
        return findings.open_finding(
            s, svc.rules, text, recorder=account, fact_date=now.date(), evidence=evidence, now=now
        )


async def _show_card(update: Update, context: Context, svc: Services, view: FindingView) -> None:
    text = svc.views.render(
        "finding_confirm.html.j2", f=view, undo_minutes=svc.rules.bot.undo_minutes
    )
    await reply(update, context, text, reply_markup=_confirm_keyboard(view))


async def _offer_suggestions(
    update: Update,
    context: Context,
    svc: Services,
    exc: ParseError,
    text: str,
    account: Account,
    evidence: str,
) -> None:
    """The parser's message, with a button for each suggestion it made."""
    if not exc.suggestions:
        await reply(update, context, svc.views.render("finding_error.html.j2", error=exc.message))
        return
    now = svc.now()

    def open_card() -> int:
        with transaction(svc.engine) as s:
            return findings.open_suggestions(
                s, exc, text, recorder=account, fact_date=now.date(), evidence=evidence, now=now
            ).id

    card_id = await svc.run(open_card)
    buttons = [[(s.label, f"{PICK}:{card_id}:{i}")] for i, s in enumerate(exc.suggestions)]
    await reply(
        update,
        context,
        svc.views.render("finding_error.html.j2", error=exc.message),
        reply_markup=keyboard(buttons),
    )


def _card_id(update: Update) -> list[int]:
    assert update.callback_query is not None and update.callback_query.data is not None
    return [int(x) for x in update.callback_query.data.split(":")[1:]]


async def on_pick_button(update: Update, context: Context, account: Account | None) -> None:
    """A suggested person or item was picked: show the corrected finding's card."""
    assert account is not None and update.callback_query is not None
    await update.callback_query.answer()
    card_id, choice = _card_id(update)
    svc = services(context)

    def pick() -> FindingView:
        with transaction(svc.engine) as s:
            return findings.pick_suggestion(
                s, svc.rules, card_id, choice, by=account, now=svc.now()
            )

    try:
        view = await svc.run(pick)
    except ParseError as exc:
        await edit(update, svc.views.render("finding_error.html.j2", error=exc.message))
        return
    text = svc.views.render(
        "finding_confirm.html.j2", f=view, undo_minutes=svc.rules.bot.undo_minutes
    )
    await edit(update, text, reply_markup=_confirm_keyboard(view))


async def on_confirm_button(update: Update, context: Context, account: Account | None) -> None:
    """确认: record once, show the entry numbers, tell each person charged."""
    assert account is not None and update.callback_query is not None
    await update.callback_query.answer()
    (card_id,) = _card_id(update)
    svc = services(context)

    def confirm() -> FindingView:
        with transaction(svc.engine) as s:
            return findings.confirm_finding(
                s, svc.rules, card_id, by=account, now=svc.now(), update_id=update.update_id
            )

    view = await svc.run(confirm)
    minutes = svc.rules.bot.undo_minutes
    await edit(
        update,
        svc.views.render("finding_recorded.html.j2", f=view, undo_minutes=minutes),
        reply_markup=keyboard([[(f"撤回({minutes}分钟内)", f"{UNDO}:{card_id}")]]),
    )
    await _notify(context, svc, "finding_notice.html.j2", view)


async def _notify(context: Context, svc: Services, template: str, view: FindingView) -> None:
    """Tell each person charged (those who have bound Telegram); notices carry 申诉."""
    for charge in view.charges:
        if charge.telegram_user_id is None:
            log.info("person %s has not bound Telegram; notice not sent", charge.person_id)
            continue
        markup = None
        if template == "finding_notice.html.j2":
            markup = keyboard([[("申诉", f"ap:{charge.entry_id}")]])
        text = svc.views.render(template, f=view, c=charge)
        await send(context, charge.telegram_user_id, text, reply_markup=markup)


async def on_cancel_button(update: Update, context: Context, account: Account | None) -> None:
    """取消: the card is dropped, nothing recorded."""
    assert account is not None and update.callback_query is not None
    await update.callback_query.answer()
    (card_id,) = _card_id(update)
    svc = services(context)

    def cancel() -> None:
        with transaction(svc.engine) as s:
            findings.cancel_finding(s, card_id, by=account, now=svc.now())

    await svc.run(cancel)
    await edit(update, svc.views.render("finding_cancelled.html.j2"))


async def on_undo_button(update: Update, context: Context, account: Account | None) -> None:
    """撤回: within the window the recorder takes the finding back; people are told."""
    assert account is not None and update.callback_query is not None
    await update.callback_query.answer()
    (card_id,) = _card_id(update)
    svc = services(context)

    def undo() -> FindingView:
        with transaction(svc.engine) as s:
            return findings.undo_finding(
                s, svc.rules, card_id, by=account, now=svc.now(), update_id=update.update_id
            )

    view = await svc.run(undo)
    await edit(update, svc.views.render("finding_undone.html.j2", f=view))
    await _notify(context, svc, "finding_undone_notice.html.j2", view)


async def on_checked(update: Update, context: Context, account: Account | None) -> None:
    """/checked [备注]: today's spot check is recorded, even when it found nothing."""
    assert account is not None
    svc = services(context)
    note = " ".join(context.args or [])
    day = await svc.run(_record_check, svc, account, note, update.update_id)
    await reply(update, context, svc.views.render("spot_check_recorded.html.j2", day=day))


def _record_check(svc: Services, account: Account, note: str, update_id: int) -> date:
    now = svc.now()
    with transaction(svc.engine) as s:
        mark_update(s, update_id, now=now)
        duties.record_spot_check(s, day=now.date(), inspector_id=account.person_id,
                                 inspector=account.label, note=note, now=now)  # fmt: skip
    return now.date()


def build() -> list[BaseHandler]:
    """This module's handlers (the finding text handler is the catch-all for inspectors)."""
    text = (filters.TEXT & ~filters.COMMAND) | (filters.PHOTO & filters.CaptionRegex(r"\S"))
    return [
        CommandHandler("checked", gate("spot_check", on_checked, records=True)),
        CallbackQueryHandler(
            gate("finding_confirm", on_confirm_button, records=True), pattern=rf"^{CONFIRM}:\d+$"
        ),
        CallbackQueryHandler(gate("finding_cancel", on_cancel_button), pattern=rf"^{CANCEL}:\d+$"),
        CallbackQueryHandler(
            gate("finding_undo", on_undo_button, records=True), pattern=rf"^{UNDO}:\d+$"
        ),
        CallbackQueryHandler(gate("finding_pick", on_pick_button), pattern=rf"^{PICK}:\d+:\d+$"),
        MessageHandler(filters.ChatType.PRIVATE & text, gate("finding", on_finding_text)),
    ]
