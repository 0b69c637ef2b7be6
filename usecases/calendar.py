"""The calendar's actions: /finalize, the year-end proposal cards, a notice's 申诉."""

from __future__ import annotations

from scoring import calendar, duties
from scoring.calendar import period_title
from scoring.errors import KaoheError
from scoring.ledger import EntryView
from scoring.periods import Period
from scoring.points import fmt
from scoring.rules import Rules
from usecases.appeals import APPEAL
from usecases.core import Ctx, verb
from usecases.messages import DIRECT, EDIT, Action, Out, Result, Say, say

PROPOSAL_OK, PROPOSAL_NO = "proposal_ok", "proposal_no"
NOTICE_APPEAL = "notice_appeal"


@verb("finalize")
def finalize(ctx: Ctx, args: list[str]) -> Result:
    """/finalize 2026: lock the year once review scores are in.

    ``value`` is what was finalized; the adapter has the annual bulletin posted (a duty) and
    then answers with ``finalized``.
    """
    if not args or not args[0].isdigit():
        return Result().reply(say("finalize_usage.html.j2", year=ctx.now.year - 1))
    done = duties.finalize_year(ctx.session, ctx.rules, int(args[0]), by=ctx.me.label, now=ctx.now)
    return Result(value=done)


def finalized(done: duties.Finalized, posted: bool) -> Say:
    """The answer to /finalize once the annual bulletin's duty has run (or not yet)."""
    template = "finalize_already.html.j2" if done.already else "finalize_done.html.j2"
    return say(template, f=done, posted=posted)


def proposal_card(rules: Rules, p: duties.Proposal) -> Say:
    """A year-end proposal card's text."""
    return say(
        "duty_proposal_card.html.j2", p=p, unit=rules.item(p.item_code).unit,
        notes=p.item_code == rules.study.notes_short_item,
    )  # fmt: skip


def proposal_actions(card_id: int) -> list[Action]:
    """确认扣分 records the proposal; 驳回 dismisses it."""
    card = str(card_id)
    return [Action("确认扣分", PROPOSAL_OK, (card,)), Action("驳回", PROPOSAL_NO, (card,))]


@verb("proposal_decide")
def decide_proposal(ctx: Ctx, card_id: int, confirm: bool) -> Result:
    """确认扣分 records the proposal through the core (source duty); 驳回 records nothing.

    Already decided (by another office member) or a locked year: the card says so.
    """
    me = ctx.me
    try:
        with ctx.attempt():  # a refusal leaves nothing half-recorded
            if confirm:
                out = duties.confirm_proposal(ctx.session, ctx.rules, card_id, by=me.label,
                                              by_id=me.person_id, now=ctx.now)  # fmt: skip
                state, p, ids = out.state, out.proposal, out.entry_ids
            else:
                p = duties.dismiss_proposal(ctx.session, card_id, by=me.label, by_id=me.person_id,
                                            now=ctx.now)  # fmt: skip
                state, ids = "dismissed", ()
    except KaoheError as exc:
        return Result([Out(say("error_plain.html.j2", error=exc.message), EDIT)])
    outcome = say(f"duty_proposal_{state}.html.j2", p=p, ids=ids, by=me.label)
    result = Result([Out(say("duty_proposal_decided.html.j2", card=proposal_card(ctx.rules, p),
                             outcome=outcome), EDIT)])  # fmt: skip
    if state == "confirmed":
        category = ctx.rules.category(ctx.rules.item(p.item_code).category).name
        notice = say(
            "duty_proposal_notice.html.j2", *[[Action("申诉", APPEAL, (str(i),))] for i in ids],
            p=p, ids=ids, year=p.year, category=category, by=me.label,
        )  # fmt: skip
        result.out.append(Out(notice, ctx.person(p.person_id)))
    return result


def _entry_label(e: EntryView) -> str:
    """An entry as a button: "#12 3月2日 迟到 扣1分"."""
    return f"#{e.id} {e.fact_date.month}月{e.fact_date.day}日 {e.item_name} 扣{fmt(e.points)}分"


@verb("appeal")
def notice_appeal(ctx: Ctx, quarter: str) -> Result:
    """申诉 under a quarterly notice: the presser's own entries of the quarter, in private.

    ``alert`` answers the press; ``value`` is the alert instead when the private message
    could not be delivered.
    """
    period = Period.parse(quarter)
    title = period_title(period)
    entries = duties.own_deductions(ctx.session, ctx.rules, period, ctx.me.person_id)
    notice = duties.notice_of(ctx.session, period.label)
    closes = notice.window_closes if notice is not None else None
    if closes is not None and not calendar.window_open(closes, ctx.now.date()):
        return Result(alert=say("notice_window_closed.html.j2", title=title, closes=closes))
    if not entries:
        return Result(alert=say("notice_no_entries.html.j2", title=title))
    rows = [[Action(_entry_label(e), APPEAL, (str(e.id),))] for e in entries]
    listing = say("notice_appeal_list.html.j2", *rows, title=title, closes=closes)
    return Result(
        [Out(listing, DIRECT)],
        alert=say("notice_appeal_sent.html.j2", title=title),
        value=say("notice_private_failed.html.j2", title=title),
    )
