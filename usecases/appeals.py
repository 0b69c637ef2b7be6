"""Appeals: 申诉 on a deduction asks the reason; the leading group presses 维持 or 撤销."""

from __future__ import annotations

from scoring import appeals
from scoring.errors import InputError
from usecases.core import Ctx, verb
from usecases.messages import Action, Copies, Out, Result, say

REASON = "reason"
APPEAL, UPHOLD, REVOKE = "appeal", "appeal_uphold", "appeal_revoke"


@verb("appeal")
def ask_reason(ctx: Ctx, entry_id: int) -> Result:
    """申诉 on a deduction notice (only the person charged may appeal): ask the reason."""
    entry = appeals.appealable_entry(ctx.session, ctx.rules, entry_id, by=ctx.me)
    return Result(state=REASON).reply(say("appeal_ask_reason.html.j2", e=entry))


@verb("appeal")
def open_appeal(ctx: Ctx, entry_id: int, reason: str) -> Result:
    """The reason given, the appeal is open: to the leading group; the appellant told."""
    try:
        appeal = appeals.open_appeal(
            ctx.session, ctx.rules, entry_id, reason=reason, by=ctx.me, now=ctx.now
        )
    except InputError as exc:
        return Result(state=REASON).reply(say("error.html.j2", error=exc))
    deciders = appeals.deciders(ctx.session, appeal)
    card = str(appeal.card_id)
    row = [Action("维持", UPHOLD, (card,)), Action("撤销", REVOKE, (card,))]
    people = ctx.people([d.person_id for d in deciders])
    cards = [
        Out(say("appeal_card.html.j2", row, a=appeal), people[d.person_id], card=appeal.card_id)
        for d in deciders
    ]
    labels = [d.label for d in deciders]
    return Result([*cards, Out(say("appeal_submitted.html.j2", a=appeal, deciders=labels))])


@verb("appeal")
def cancel_appeal(ctx: Ctx) -> Result:
    """/cancel instead of a reason: nothing is recorded."""
    return Result().reply(say("appeal_cancelled.html.j2"))


@verb("appeal_decide")
def decide(ctx: Ctx, card_id: int, revoke: bool) -> Result:
    """维持 or 撤销: decide once, show it on every copy, tell the appellant and the recorder."""
    appeal = appeals.decide_appeal(
        ctx.session, ctx.rules, card_id, revoke=revoke, by=ctx.me, now=ctx.now
    )
    recorder = appeals.recorder_of(ctx.session, appeal)
    out = [
        Out(say("appeal_decided.html.j2", a=appeal), Copies(appeal.copies)),
        Out(say("appeal_outcome.html.j2", a=appeal), ctx.person(appeal.appellant_id)),
    ]
    if recorder is not None:
        notice = say("appeal_recorder_notice.html.j2", a=appeal)
        out.append(Out(notice, ctx.person(recorder.person_id)))
    return Result(out)
