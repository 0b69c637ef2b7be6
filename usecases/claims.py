"""Bonus claims: /claim asks kind → level → title → date → evidence; a leader 批准 or 驳回.

The claimant's answers so far are a ``Draft`` that the adapter keeps for the conversation;
each step's verb checks its answer and says what comes next (``state``). The card goes, with
the evidence as its file, to the claimant's leaders in charge and the leading group, each
copy remembered, so the first decision shows on all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from scoring import claims
from scoring.claims import ClaimView
from scoring.errors import Conflict, InputError
from usecases.cards import attachment
from usecases.core import Ctx, verb
from usecases.messages import EDIT, REPLY, Action, Copies, Out, Result, Say, say

# The conversation's steps (the adapter's states) and the actions' verbs.
KIND, LEVEL, TITLE, DATE, EVIDENCE, REASON = "kind", "level", "title", "date", "evidence", "reason"
PICK_KIND, PICK_LEVEL, TODAY = "claim_kind", "claim_level", "claim_today"
APPROVE, REJECT = "claim_approve", "claim_reject"


@dataclass(frozen=True)
class Draft:
    """A claim's answers so far."""

    kind: str = ""
    level: str = ""
    title: str = ""
    fact_date: str = ""


def _today() -> Action:
    return Action("今天", TODAY)


def _kind(ctx: Ctx, draft: Draft) -> object:
    return ctx.rules.bonus_kind(draft.kind)


@verb("claim")
def start_claim(ctx: Ctx) -> Result:
    """/claim: start a claim by choosing its kind (表彰 or 信息稿件)."""
    row = [Action(k.name, PICK_KIND, (k.code,)) for k in ctx.rules.bonus.kinds]
    return Result(state=KIND, value=Draft()).reply(say("claim_ask_kind.html.j2", row))


@verb("claim")
def pick_kind(ctx: Ctx, draft: Draft, code: str) -> Result:
    """A kind was chosen: ask for its level with the rules file's levels."""
    kind = claims.check_kind(ctx.rules, code)
    row = [Action(level, PICK_LEVEL, (level,)) for level in kind.levels]
    asked = say("claim_ask_level.html.j2", row, kind=kind)
    return Result([Out(asked, EDIT)], state=LEVEL, value=replace(draft, kind=kind.code))


@verb("claim")
def pick_level(ctx: Ctx, draft: Draft, level: str) -> Result:
    """A level was chosen: ask for the honour's or article's title."""
    claims.check_level(ctx.rules, draft.kind, level)
    asked = say("claim_ask_title.html.j2", kind=_kind(ctx, draft), level=level)
    return Result([Out(asked, EDIT)], state=TITLE, value=replace(draft, level=level))


def _ask_date(ctx: Ctx, draft: Draft) -> Say:
    return say(
        "claim_ask_date.html.j2", [_today()], kind=_kind(ctx, draft), level=draft.level,
        title=draft.title,
    )  # fmt: skip


@verb("claim")
def give_title(ctx: Ctx, draft: Draft, text: str) -> Result:
    """The title: ask for the honour's or article's date (a wrong title is asked again)."""
    try:
        title = claims.check_title(text)
    except InputError as exc:
        return Result(state=TITLE, value=draft).reply(say("error.html.j2", error=exc))
    draft = replace(draft, title=title)
    return Result(state=DATE, value=draft).reply(_ask_date(ctx, draft))


@verb("claim")
def give_date(ctx: Ctx, draft: Draft, typed: str | None) -> Result:
    """The date typed (2026-12-20, 12月20日 …) or 今天 (None): ask for the evidence.

    A date ahead, before last year, unreadable or in a locked year is refused and asked again.
    """
    today = ctx.now.date()
    try:
        day = today if typed is None else claims.parse_fact_date(typed, today=today)
        day = claims.check_fact_date(ctx.session, day, today=today)
    except (InputError, Conflict) as exc:
        refused = say("claim_date_refused.html.j2", [_today()], error=exc)
        return Result(state=DATE, value=draft).reply(refused)
    draft = replace(draft, fact_date=day.isoformat())
    asked = say(
        "claim_ask_evidence.html.j2", kind=_kind(ctx, draft), level=draft.level,
        title=draft.title, day=day,
    )  # fmt: skip
    return Result([Out(asked, REPLY if typed is not None else EDIT)], state=EVIDENCE, value=draft)


def claim_card(claim: ClaimView) -> Say:
    """The card for those who decide: the evidence itself, captioned, with 批准 and 驳回."""
    card = str(claim.card_id)
    return say(
        "claim_card.html.j2",
        [Action("批准", APPROVE, (card,)), Action("驳回", REJECT, (card,))],
        file=attachment(claim.evidence, claim.evidence_type),
        c=claim,
    )


@verb("claim")
def give_evidence(
    ctx: Ctx, draft: Draft, evidence: str, evidence_type: str, evidence_file: str = ""
) -> Result:
    """The evidence: open the claim and send the card to everyone who may decide it."""
    fact_date = date.fromisoformat(draft.fact_date or ctx.now.date().isoformat())
    claim = claims.open_claim(
        ctx.session, ctx.rules, claimant=ctx.me, kind=draft.kind, level=draft.level,
        title=draft.title, evidence=evidence, evidence_type=evidence_type,
        fact_date=fact_date, now=ctx.now, evidence_file=evidence_file,
    )  # fmt: skip
    approvers = claims.approvers(ctx.session, claim)
    people = ctx.people([a.person_id for a in approvers])
    cards = [Out(claim_card(claim), people[a.person_id], card=claim.card_id) for a in approvers]
    labels = [a.label for a in approvers]
    submitted = say("claim_submitted.html.j2", c=claim, approvers=labels)
    return Result([*cards, Out(submitted)])


@verb("claim")
def stray(ctx: Ctx, draft: Draft) -> Result:
    """Something other than the step's answer: say again what this step needs."""
    if draft.fact_date:
        asked = say("claim_need_evidence.html.j2")
    elif draft.title:
        asked = _ask_date(ctx, draft)
    elif draft.level:
        asked = say("claim_ask_title.html.j2", kind=_kind(ctx, draft), level=draft.level)
    else:
        asked = say("claim_need_button.html.j2")
    return Result(value=draft).reply(asked)


@verb("claim")
def cancel_claim(ctx: Ctx) -> Result:
    """/cancel during a claim: nothing is submitted."""
    return Result().reply(say("claim_cancelled.html.j2"))


def _decided(ctx: Ctx, claim: ClaimView) -> Result:
    """The decision on every copy of the card, and the claimant told."""
    notice = say(f"claim_{claim.state}_notice.html.j2", c=claim, cap=ctx.rules.bonus.cap)
    decided = Out(say("claim_decided.html.j2", c=claim), Copies(claim.copies, caption=True))
    return Result([decided, Out(notice, ctx.person(claim.claimant_id))])


@verb("claim_decide")
def approve(ctx: Ctx, card_id: int) -> Result:
    """批准: record the bonus once, show the decision on every copy, tell the claimant."""
    claim = claims.approve_claim(ctx.session, ctx.rules, card_id, by=ctx.me, now=ctx.now)
    return _decided(ctx, claim)


@verb("claim_decide")
def ask_reject_reason(ctx: Ctx, card_id: int) -> Result:
    """驳回: ask this approver why (the claim stays pending until they answer)."""
    claim = claims.claim_to_decide(ctx.session, ctx.rules, card_id, by=ctx.me)
    return Result(state=REASON).reply(say("claim_ask_reason.html.j2", c=claim))


@verb("claim_decide")
def reject(ctx: Ctx, card_id: int, reason: str) -> Result:
    """The reason given: the claim is rejected, shown on every copy, the claimant told."""
    try:
        claim = claims.reject_claim(
            ctx.session, ctx.rules, card_id, reason=reason, by=ctx.me, now=ctx.now
        )
    except InputError as exc:
        return Result(state=REASON).reply(say("error.html.j2", error=exc))
    result = _decided(ctx, claim)
    result.out.insert(0, Out(say("claim_rejected.html.j2", c=claim)))
    return result


@verb("claim_decide")
def cancel_reject(ctx: Ctx) -> Result:
    """/cancel instead of a reason: nothing is recorded."""
    return Result().reply(say("claim_reject_cancelled.html.j2"))


@verb("pending")
def pending(ctx: Ctx) -> Result:
    """/pending: every claim this leader may decide, each again with its buttons."""
    waiting = claims.claims_awaiting(ctx.session, ctx.rules, by=ctx.me)
    if not waiting:
        return Result().reply(say("claim_none_pending.html.j2"))
    header = Out(say("claim_pending_header.html.j2", n=len(waiting)))
    return Result([header, *(Out(claim_card(c), REPLY, card=c.card_id) for c in waiting)])
