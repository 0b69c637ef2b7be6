"""An attendance export sent to the bot by the office: proposal cards in the chat, each
confirmed (recorded through the ledger, the file's SHA-256 as evidence) or dismissed."""

from __future__ import annotations

from scoring import attendance
from scoring.errors import KaoheError
from usecases.appeals import APPEAL
from usecases.core import Ctx, verb
from usecases.messages import EDIT, Action, Out, Result, say

ATTENDANCE_OK, ATTENDANCE_NO = "attendance_ok", "attendance_no"
EXPORT_SUFFIXES = (".xlsx", ".xlsm", ".csv")
# a month's export for a bureau is tens of kilobytes: a larger file sent is not read
EXPORT_MAX_BYTES = 10 * 2**20


def is_export(file_name: str) -> bool:
    """Whether a sent file may be an attendance export (.xlsx or .csv)."""
    return file_name.lower().endswith(EXPORT_SUFFIXES)


@verb("attendance")
def import_file(ctx: Ctx, data: bytes, file_name: str) -> Result:
    """A 钉钉 月度汇总 or 企业微信 打卡月报: a summary, then a card per proposal."""
    done = attendance.import_attendance(
        ctx.session, ctx.rules, data, file_name, by=ctx.me.label, now=ctx.now
    )
    result = Result().reply(say("attendance_imported.html.j2", r=done))
    for card, p in done.opened:
        row = [Action("确认扣分", ATTENDANCE_OK, (str(card.id),)),
               Action("驳回", ATTENDANCE_NO, (str(card.id),))]  # fmt: skip
        result.reply(say("attendance_card.html.j2", row, p=p, card_id=card.id))
    return result


@verb("attendance")
def decide(ctx: Ctx, card_id: int, confirm: bool) -> Result:
    """确认扣分 records the card; 驳回 records nothing. Decided already: the card says so."""
    me = ctx.me
    try:
        with ctx.attempt():  # a refusal leaves nothing half-recorded
            if confirm:
                out = attendance.confirm_attendance(
                    ctx.session, ctx.rules, card_id, by=me.label, by_id=me.person_id, now=ctx.now
                )
                p, ids = out.proposal, out.entry_ids
            else:
                p = attendance.dismiss_attendance(
                    ctx.session, card_id, by=me.label, by_id=me.person_id, now=ctx.now
                )
                ids = ()
    except KaoheError as exc:
        return Result([Out(say("error_plain.html.j2", error=exc.message), EDIT)])
    decided = say("attendance_decided.html.j2", p=p, ids=ids, by=me.label, card_id=card_id)
    result = Result([Out(decided, EDIT)])
    if confirm:
        rows = [[Action("申诉", APPEAL, (str(i),))] for i in ids]
        notice = say("attendance_notice.html.j2", *rows, p=p, ids=ids, by=me.label)
        result.out.append(Out(notice, ctx.person(p.person_id)))
    return result
