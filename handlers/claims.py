"""Bonus claims: /claim asks kind → level → title → date → evidence; a leader 批准 or 驳回.

The conversation's steps are PTB states; the answers so far (a ``claims.Draft``) wait in
the user's data. The reason conversation for 驳回 comes before the claim conversation, so a
leader who presses 驳回 in the middle of their own claim gives the reason first.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.callbacks import args_of, pattern
from handlers.common import (
    END,
    TEXT,
    Context,
    act,
    conversation,
    evidence_kept,
    reason_conversation,
    state,
    text_of,
)
from usecases import claims
from usecases.claims import DATE, EVIDENCE, KIND, LEVEL, TITLE, Draft
from usecases.messages import Result

CLAIM_TIMEOUT = 30 * 60  # seconds a half-finished claim is kept
DRAFT = "claim_draft"
FILE = filters.UpdateType.MESSAGE & (filters.PHOTO | filters.Document.ALL)
OTHER = filters.UpdateType.MESSAGE & ~filters.COMMAND


def _draft(context: Context) -> Draft:
    assert context.user_data is not None
    draft = context.user_data.get(DRAFT)
    return draft if isinstance(draft, Draft) else Draft()


def _step(context: Context, result: Result | None) -> object:
    """Keep the draft a step returned; the conversation goes where it says (a refusal or an
    error ends it)."""
    if result is not None and isinstance(result.value, Draft):
        assert context.user_data is not None
        context.user_data[DRAFT] = result.value
    return state(result)


def _tail(update: Update, verb: str) -> str:
    raw = update.callback_query.data if update.callback_query else None
    args = args_of(raw, verb)
    return args[0] if args else ""


async def on_claim(update: Update, context: Context) -> object:
    """/claim: start a claim by choosing its kind (表彰 or 信息稿件)."""
    return _step(context, await act(update, context, claims.start_claim))


async def on_kind_button(update: Update, context: Context) -> object:
    """A kind was chosen: ask for its level."""
    result = await act(
        update, context, claims.pick_kind, _draft(context), _tail(update, claims.PICK_KIND)
    )
    return _step(context, result)


async def on_level_button(update: Update, context: Context) -> object:
    """A level was chosen: ask for the title."""
    result = await act(
        update, context, claims.pick_level, _draft(context), _tail(update, claims.PICK_LEVEL)
    )
    return _step(context, result)


async def on_title_text(update: Update, context: Context) -> object:
    """The title: ask for the date (a wrong title is asked again)."""
    result = await act(update, context, claims.give_title, _draft(context), text_of(update))
    return _step(context, result)


async def on_date_text(update: Update, context: Context) -> object:
    """The date typed (2026-12-20, 12月20日 …): ask for the evidence, or ask again."""
    result = await act(update, context, claims.give_date, _draft(context), text_of(update))
    return _step(context, result)


async def on_today_button(update: Update, context: Context) -> object:
    """今天: the honour or article is dated today; ask for the evidence."""
    result = await act(update, context, claims.give_date, _draft(context), None)
    return _step(context, result)


async def on_evidence(update: Update, context: Context) -> object:
    """The evidence: open the claim and send the card to everyone who may decide it."""
    evidence, kind, kept = await evidence_kept(update, context)
    draft = _draft(context)
    assert context.user_data is not None
    context.user_data.pop(DRAFT, None)
    await act(update, context, claims.give_evidence, draft, evidence, kind, kept)
    return END


async def on_stray(update: Update, context: Context) -> None:
    """Something other than the step's answer: say again what this step needs."""
    await act(update, context, claims.stray, _draft(context))


async def on_cancel_claim(update: Update, context: Context) -> object:
    """/cancel during a claim: nothing is submitted."""
    assert context.user_data is not None
    context.user_data.pop(DRAFT, None)
    await act(update, context, claims.cancel_claim)
    return END


async def on_approve_button(update: Update, context: Context) -> None:
    """批准: record the bonus once, show the decision on every copy, tell the claimant."""
    await act(update, context, claims.approve, int(_tail(update, claims.APPROVE) or 0))


async def on_pending(update: Update, context: Context) -> None:
    """/pending: every claim this leader may decide, each again with its buttons."""
    await act(update, context, claims.pending)


def build() -> list[BaseHandler]:
    """This module's handlers: the decision buttons, the reason question, the claim itself."""
    private = filters.ChatType.PRIVATE
    rejecting = reason_conversation(
        "claim_reject",
        button=claims.REJECT,
        ask=claims.ask_reject_reason,
        record=claims.reject,
        cancel=claims.cancel_reject,
    )
    stray: MessageHandler[Context, object] = MessageHandler(OTHER, on_stray)
    claiming = conversation(
        entry_points=[CommandHandler("claim", on_claim, filters=private)],
        states={
            KIND: [
                CallbackQueryHandler(on_kind_button, pattern=pattern(claims.PICK_KIND, r":\w+")),
                stray,
            ],
            LEVEL: [
                CallbackQueryHandler(on_level_button, pattern=pattern(claims.PICK_LEVEL, ":.+")),
                stray,
            ],
            TITLE: [MessageHandler(TEXT, on_title_text), stray],
            DATE: [
                MessageHandler(TEXT, on_date_text),
                CallbackQueryHandler(on_today_button, pattern=pattern(claims.TODAY, "")),
                stray,
            ],
            EVIDENCE: [MessageHandler(FILE, on_evidence), stray],
        },
        fallbacks=[CommandHandler("cancel", on_cancel_claim)],
        allow_reentry=True,
        conversation_timeout=CLAIM_TIMEOUT,
        name="claim",
    )
    return [
        CallbackQueryHandler(on_approve_button, pattern=pattern(claims.APPROVE)),
        rejecting,
        claiming,
        CommandHandler("pending", on_pending, filters=private),
    ]
