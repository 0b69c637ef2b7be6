"""Bonus claims: /claim asks kind → level → title → date → evidence; a leader 批准 or 驳回.

The date is the honour's or publication's (获奖/刊发日期, typed or 今天): the bonus counts for
its year. A date ahead, before last year or in a locked year is refused and asked again.

The card goes, as the evidence photo or document with the card as its caption, to the
claimant's leaders in charge and the leading group. Every copy is remembered, so the first
decision shows on all of them. Callback queries are answered after the core call: when the
core refuses (already decided, not your department), the gate's alert is that one answer.
"""

from __future__ import annotations

import logging
from datetime import date

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.services import Services
from bot.views import Views
from handlers.common import (
    END,
    TEXT,
    Context,
    answer,
    callback_id,
    callback_tail,
    conversation,
    deliver,
    edit,
    gate,
    keyboard,
    reason_conversation,
    remember_copies,
    reply,
    services,
    show_decision,
    tell_person,
    user_data,
)
from scoring import claims
from scoring.accounts import Account
from scoring.claims import ClaimView
from scoring.db import transaction
from scoring.errors import Conflict, InputError

log = logging.getLogger(__name__)

# Conversation states.
KIND, LEVEL, TITLE, DATE, EVIDENCE = "kind", "level", "title", "date", "evidence"
# Callback data prefixes (card ids and level names stay far below 64 bytes).
PICK_KIND, PICK_LEVEL, APPROVE, REJECT = "ck", "cv", "cl:a", "cl:r"
TODAY = "cd:today"  # 今天, at the date question
CLAIM_TIMEOUT = 30 * 60  # seconds a half-finished claim is kept
DRAFT = "claim_draft"

FILE = filters.UpdateType.MESSAGE & (filters.PHOTO | filters.Document.ALL)
OTHER = filters.UpdateType.MESSAGE & ~filters.COMMAND


# ------------------------------------------------------------ the claimant's conversation
def _draft(context: Context) -> dict[str, str]:
    draft: dict[str, str] = user_data(context).setdefault(DRAFT, {})
    return draft


def _today_keyboard() -> InlineKeyboardMarkup:
    return keyboard([[("今天", TODAY)]])


def _decide_keyboard(claim: ClaimView) -> InlineKeyboardMarkup:
    return keyboard(
        [[("批准", f"{APPROVE}:{claim.card_id}"), ("驳回", f"{REJECT}:{claim.card_id}")]]
    )


async def on_claim(update: Update, context: Context, account: Account | None) -> str:
    """/claim: start a claim by choosing its kind (表彰 or 信息稿件)."""
    svc = services(context)
    user_data(context)[DRAFT] = {}
    buttons = [[(k.name, f"{PICK_KIND}:{k.code}") for k in svc.rules.bonus.kinds]]
    text = svc.views.render("claim_ask_kind.html.j2")
    await reply(update, context, text, reply_markup=keyboard(buttons))
    return KIND


async def on_kind_button(update: Update, context: Context, account: Account | None) -> str:
    """A kind was chosen: ask for its level with the rules file's levels."""
    svc = services(context)
    kind = claims.check_kind(svc.rules, callback_tail(update))
    _draft(context)["kind"] = kind.code
    await answer(update)
    buttons = [[(level, f"{PICK_LEVEL}:{level}") for level in kind.levels]]
    text = svc.views.render("claim_ask_level.html.j2", kind=kind)
    await edit(update, text, reply_markup=keyboard(buttons))
    return LEVEL


async def on_level_button(update: Update, context: Context, account: Account | None) -> str:
    """A level was chosen: ask for the honour's or article's title."""
    svc = services(context)
    draft = _draft(context)
    level = callback_tail(update)
    claims.check_level(svc.rules, draft.get("kind", ""), level)
    draft["level"] = level
    await answer(update)
    kind = svc.rules.bonus_kind(draft["kind"])
    await edit(update, svc.views.render("claim_ask_title.html.j2", kind=kind, level=level))
    return TITLE


async def on_title_text(update: Update, context: Context, account: Account | None) -> str:
    """The title: ask for the honour's or article's date (a wrong title is asked again)."""
    assert update.effective_message is not None
    svc = services(context)
    draft = _draft(context)
    try:
        draft["title"] = claims.check_title(update.effective_message.text or "")
    except InputError as exc:
        await reply(update, context, svc.views.render("error.html.j2", error=exc))
        return TITLE
    await reply(update, context, _ask_date(svc, draft), reply_markup=_today_keyboard())
    return DATE


def _ask_date(svc: Services, draft: dict[str, str]) -> str:
    kind = svc.rules.bonus_kind(draft["kind"])
    return svc.views.render(
        "claim_ask_date.html.j2", kind=kind, level=draft["level"], title=draft["title"]
    )


async def on_date_text(update: Update, context: Context, account: Account | None) -> str:
    """The date typed (2026-12-20, 12月20日 …): ask for the evidence, or ask again."""
    assert update.effective_message is not None
    return await _take_date(update, context, update.effective_message.text or "")


async def on_today_button(update: Update, context: Context, account: Account | None) -> str:
    """今天: the honour or article is dated today; ask for the evidence."""
    return await _take_date(update, context, None)


async def _take_date(update: Update, context: Context, typed: str | None) -> str:
    """Keep the date and ask for the evidence, or say why not and ask for the date again."""
    svc = services(context)
    draft = _draft(context)
    try:
        day = await svc.run(_fact_date, svc, typed)
    except (InputError, Conflict) as exc:  # ahead, too old, unreadable, or a locked year
        await answer(update)
        text = svc.views.render("claim_date_refused.html.j2", error=exc)
        await reply(update, context, text, reply_markup=_today_keyboard())
        return DATE
    draft["fact_date"] = day.isoformat()
    await answer(update)
    kind = svc.rules.bonus_kind(draft["kind"])
    text = svc.views.render(
        "claim_ask_evidence.html.j2", kind=kind, level=draft["level"], title=draft["title"], day=day
    )
    if update.callback_query is not None:
        await edit(update, text)
    else:
        await reply(update, context, text)
    return EVIDENCE


def _fact_date(svc: Services, typed: str | None) -> date:
    """The typed date (today when None), checked against today and the locked years."""
    today = svc.now().date()
    day = today if typed is None else claims.parse_fact_date(typed, today=today)
    with svc.core.session() as s:
        return claims.check_fact_date(s, day, today=today)


async def on_evidence(update: Update, context: Context, account: Account | None) -> object:
    """The evidence: open the claim and send the card to everyone who may decide it."""
    assert account is not None and update.effective_message is not None
    svc = services(context)
    evidence = _evidence(update.effective_message)
    draft = user_data(context).pop(DRAFT, {})
    claim, approvers = await svc.run(_open, svc, account, draft, evidence, update.update_id)
    sent = [await _send_card(context, a.telegram_user_id, claim) for a in approvers]
    await svc.run(remember_copies, svc, {claim.card_id: sent})
    labels = [a.label for a in approvers]
    await reply(
        update, context, svc.views.render("claim_submitted.html.j2", c=claim, approvers=labels)
    )
    return END


def _evidence(msg: Message) -> tuple[str, str]:
    """The file id and type of the photo (largest size) or document sent."""
    if msg.photo:
        return msg.photo[-1].file_id, "photo"
    assert msg.document is not None
    return msg.document.file_id, "document"


def _open(
    svc: Services,
    account: Account,
    draft: dict[str, str],
    evidence: tuple[str, str],
    update_id: int,
) -> tuple[ClaimView, list[Account]]:
    now = svc.now()
    fact_date = date.fromisoformat(draft.get("fact_date") or now.date().isoformat())
    with transaction(svc.engine) as s:
        claim = claims.open_claim(
            s,
            svc.rules,
            claimant=account,
            kind=draft.get("kind", ""),
            level=draft.get("level", ""),
            title=draft.get("title", ""),
            evidence=evidence[0],
            evidence_type=evidence[1],
            fact_date=fact_date,
            now=now,
            update_id=update_id,
        )
        return claim, claims.approvers(s, claim)


async def _send_card(context: Context, chat_id: int, claim: ClaimView) -> Message | None:
    """The card as the evidence itself, captioned, with 批准 and 驳回."""
    caption = services(context).views.render("claim_card.html.j2", c=claim)
    return await deliver(
        context,
        chat_id,
        claim.evidence,
        claim.evidence_type,
        caption=caption,
        reply_markup=_decide_keyboard(claim),
    )


async def on_stray(update: Update, context: Context, account: Account | None) -> None:
    """Something other than the step's answer: say again what this step needs."""
    svc = services(context)
    draft = _draft(context)
    markup = None
    if "fact_date" in draft:
        text = svc.views.render("claim_need_evidence.html.j2")
    elif "title" in draft:
        text, markup = _ask_date(svc, draft), _today_keyboard()
    elif "level" in draft:
        kind = svc.rules.bonus_kind(draft["kind"])
        text = svc.views.render("claim_ask_title.html.j2", kind=kind, level=draft["level"])
    else:
        text = svc.views.render("claim_need_button.html.j2")
    await reply(update, context, text, reply_markup=markup)


async def on_cancel_claim(update: Update, context: Context, account: Account | None) -> object:
    """/cancel during a claim: nothing is submitted."""
    user_data(context).pop(DRAFT, None)
    await reply(update, context, services(context).views.render("claim_cancelled.html.j2"))
    return END


# ------------------------------------------------------------ the approvers
async def on_approve_button(update: Update, context: Context, account: Account | None) -> None:
    """批准: record the bonus once, show the decision on every copy, tell the claimant."""
    assert account is not None
    svc = services(context)
    claim = await svc.run(_approve, svc, callback_id(update), account, update.update_id)
    await answer(update)
    await _announce(update, context, claim)


def _approve(svc: Services, card_id: int, account: Account, update_id: int) -> ClaimView:
    now = svc.now()
    with transaction(svc.engine) as s:
        return claims.approve_claim(s, svc.rules, card_id, by=account, now=now, update_id=update_id)


async def _announce(update: Update, context: Context, claim: ClaimView) -> None:
    """The decision on every copy of the card, and the claimant told."""
    svc = services(context)
    text = svc.views.render("claim_decided.html.j2", c=claim)
    await show_decision(update, context, claim.copies, text, caption=True)
    template = f"claim_{claim.state}_notice.html.j2"
    notice = svc.views.render(template, c=claim, cap=svc.rules.bonus.cap)
    await tell_person(context, claim.claimant_id, notice)


def _reject_question(views: Views, claim: ClaimView) -> str:
    """驳回: ask this approver why (the claim stays pending until they answer)."""
    return views.render("claim_ask_reason.html.j2", c=claim)


async def on_rejected(update: Update, context: Context, claim: ClaimView) -> None:
    """The reason given, the claim is rejected: show it on every copy, tell the claimant."""
    await reply(update, context, services(context).views.render("claim_rejected.html.j2", c=claim))
    await _announce(update, context, claim)


async def on_pending(update: Update, context: Context, account: Account | None) -> None:
    """/pending: every claim this leader may decide, each again with its buttons."""
    assert account is not None and update.effective_chat is not None
    svc = services(context)
    waiting = await svc.run(_awaiting, svc, account)
    if not waiting:
        await reply(update, context, svc.views.render("claim_none_pending.html.j2"))
        return
    await reply(update, context, svc.views.render("claim_pending_header.html.j2", n=len(waiting)))
    chat_id = update.effective_chat.id
    sent = {c.card_id: [await _send_card(context, chat_id, c)] for c in waiting}
    await svc.run(remember_copies, svc, sent)


def _awaiting(svc: Services, account: Account) -> list[ClaimView]:
    with svc.core.session() as s:
        return claims.claims_awaiting(s, svc.rules, by=account)


def build() -> list[BaseHandler]:
    """This module's handlers: the decision buttons, the reason question, the claim itself.

    The reason conversation comes before the claim conversation, so a leader who presses
    驳回 in the middle of their own claim gives the reason first.
    """
    private = filters.ChatType.PRIVATE
    rejecting = reason_conversation(
        "claim_reject",
        permission="claim_decide",
        button=REJECT,
        check=claims.claim_to_decide,
        record=claims.reject_claim,
        ask=_reject_question,
        announce=on_rejected,
        cancelled="claim_reject_cancelled.html.j2",
    )
    stray: MessageHandler[Context, object] = MessageHandler(OTHER, gate("claim", on_stray))
    claiming = conversation(
        entry_points=[CommandHandler("claim", gate("claim", on_claim), filters=private)],
        states={
            KIND: [
                CallbackQueryHandler(gate("claim", on_kind_button), pattern=rf"^{PICK_KIND}:\w+$"),
                stray,
            ],
            LEVEL: [
                CallbackQueryHandler(gate("claim", on_level_button), pattern=rf"^{PICK_LEVEL}:"),
                stray,
            ],
            TITLE: [MessageHandler(TEXT, gate("claim", on_title_text)), stray],
            DATE: [
                MessageHandler(TEXT, gate("claim", on_date_text)),
                CallbackQueryHandler(gate("claim", on_today_button), pattern=rf"^{TODAY}$"),
                stray,
            ],
            EVIDENCE: [MessageHandler(FILE, gate("claim", on_evidence, records=True)), stray],
        },
        fallbacks=[CommandHandler("cancel", gate("claim", on_cancel_claim))],
        allow_reentry=True,
        conversation_timeout=CLAIM_TIMEOUT,
        name="claim",
    )
    return [
        CallbackQueryHandler(
            gate("claim_decide", on_approve_button, records=True), pattern=rf"^{APPROVE}:\d+$"
        ),
        rejecting,
        claiming,
        CommandHandler("pending", gate("pending", on_pending), filters=private),
    ]
