"""An inspector's finding: text (or a photo with a caption) → card → 确认 → entries, notices.

Evidence is the messenger's own reference to the photo or document ("" for none).
"""

from __future__ import annotations

from functools import partial

from scoring import duties, findings
from scoring.errors import InputError, ParseError
from scoring.findings import FindingView
from usecases.core import Ctx, verb
from usecases.messages import EDIT, Action, Out, Person, Result, Say, say

CONFIRM, CANCEL, UNDO, PICK = "finding_confirm", "finding_cancel", "finding_undo", "finding_pick"


def _card(ctx: Ctx, view: FindingView) -> Say:
    """The card to confirm, with 确认 and 取消."""
    card = str(view.card_id)
    return say(
        "finding_confirm.html.j2",
        [Action("确认", CONFIRM, (card,)), Action("取消", CANCEL, (card,))],
        f=view,
        undo_minutes=ctx.rules.bot.undo_minutes,
    )


MAX_FINDING_CHARS = 500  # a finding is a line or two; longer text is not one


@verb("finding")
def record_finding(ctx: Ctx, text: str, evidence: str = "", evidence_file: str = "") -> Result:
    """A finding typed (or captioned on a photo): its card, or what may have been meant.

    ``evidence_file`` is the local copy of the evidence (``scoring.evidence``), "" for none.
    """
    if len(text) > MAX_FINDING_CHARS:
        raise InputError(
            f"这条记录太长了({len(text)} 字):一条记录请控制在 {MAX_FINDING_CHARS} 字以内,"
            "多项情况请分条发送"
        )
    try:
        view = findings.open_finding(
            ctx.session, ctx.rules, text, recorder=ctx.me, fact_date=ctx.now.date(),
            evidence=evidence, now=ctx.now, evidence_file=evidence_file,
        )  # fmt: skip
    except ParseError as exc:
        return Result().reply(_suggestions(ctx, exc, text, evidence, evidence_file))
    return Result().reply(_card(ctx, view))


def _suggestions(ctx: Ctx, exc: ParseError, text: str, evidence: str, evidence_file: str) -> Say:
    """The parser's message, with an action for each suggestion it made."""
    if not exc.suggestions:
        return say("finding_error.html.j2", error=exc.message)
    card = findings.open_suggestions(
        ctx.session, exc, text, recorder=ctx.me, fact_date=ctx.now.date(), evidence=evidence,
        now=ctx.now, evidence_file=evidence_file,
    )  # fmt: skip
    rows = [[Action(s.label, PICK, (str(card.id), str(i)))] for i, s in enumerate(exc.suggestions)]
    return say("finding_error.html.j2", *rows, error=exc.message)


@verb("finding_pick")
def pick_suggestion(ctx: Ctx, card_id: int, choice: int) -> Result:
    """A suggested person or item picked: the corrected finding's card replaces the message."""
    try:
        with ctx.attempt():  # the suggestion card stays open when the corrected text fails
            view = findings.pick_suggestion(
                ctx.session, ctx.rules, card_id, choice, by=ctx.me, now=ctx.now
            )
    except ParseError as exc:
        return Result([Out(say("finding_error.html.j2", error=exc.message), EDIT)])
    return Result([Out(_card(ctx, view), EDIT)])


@verb("finding_confirm")
def confirm_finding(ctx: Ctx, card_id: int) -> Result:
    """确认: record once, tell each person charged (with 申诉), then show the entry numbers.

    The card shows 已记录 only after the notices went out, and the card notes that they did
    (``delivered``). So a recorder whose press got no answer (the bot stopped midway) and
    presses again sees the card as recorded, and whoever was not surely told is told again.
    Someone with no account bound cannot be told: the card says so (to tell them in person),
    and a press after they bound tells them.
    """
    people: dict[int, Person] = {}

    def reachable(person_ids: list[int]) -> set[int]:
        people.update(ctx.people(person_ids))
        return {pid for pid in person_ids if people[pid].addresses}

    view, telling = findings.press_confirm(
        ctx.session, ctx.rules, card_id, by=ctx.me, now=ctx.now, reachable=reachable
    )
    minutes = ctx.rules.bot.undo_minutes
    recorded = say(
        "finding_recorded.html.j2",
        [Action(f"撤回({minutes}分钟内)", UNDO, (str(card_id),))],
        f=view,
        undo_minutes=minutes,
        untold=[c.label for c in view.charges if c.person_id in telling.untold],
    )
    notices = [
        Out(
            say("finding_notice.html.j2", [appeal_action(c.entry_id)], f=view, c=c),
            people[c.person_id],
        )
        for c in view.charges
        if c.entry_id is not None and c.person_id in telling.owed
    ]
    # noted once the notices went out; nothing to note where none could go
    noticed = (
        partial(findings.mark_noticed, card_id=card_id, untold=telling.untold) if notices else None
    )
    # a notice not delivered for now: its button presses 确认 again, which sends what is owed
    pending = say("finding_notice_pending.html.j2", [Action("补发通知", CONFIRM, (str(card_id),))])
    return Result([*notices, Out(recorded, EDIT)], delivered=noticed, undelivered=pending)


def appeal_action(entry_id: int) -> Action:
    """申诉 on a deduction (the appeals' entry point)."""
    return Action("申诉", "appeal", (str(entry_id),))


@verb("finding_cancel")
def cancel_finding(ctx: Ctx, card_id: int) -> Result:
    """取消: the card is dropped, nothing recorded."""
    findings.cancel_finding(ctx.session, card_id, by=ctx.me, now=ctx.now)
    return Result([Out(say("finding_cancelled.html.j2"), EDIT)])


@verb("finding_undo")
def undo_finding(ctx: Ctx, card_id: int) -> Result:
    """撤回: within the window the recorder takes the finding back; people are told."""
    view = findings.undo_finding(ctx.session, ctx.rules, card_id, by=ctx.me, now=ctx.now)
    people = ctx.people([c.person_id for c in view.charges])
    notices = [
        Out(say("finding_undone_notice.html.j2", f=view, c=c), people[c.person_id])
        for c in view.charges
    ]
    return Result([Out(say("finding_undone.html.j2", f=view), EDIT), *notices])


@verb("spot_check")
def record_spot_check(ctx: Ctx, note: str) -> Result:
    """/checked [备注]: today's spot check is recorded, even when it found nothing."""
    day = ctx.now.date()
    duties.record_spot_check(
        ctx.session, day=day, inspector_id=ctx.me.person_id, inspector=ctx.me.label, note=note,
        now=ctx.now,
    )  # fmt: skip
    return Result().reply(say("spot_check_recorded.html.j2", day=day))
