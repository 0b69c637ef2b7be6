"""Leaders and the leading group: /dept, /standings, /veto, /revoke."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.services import Services
from handlers.common import Context, gate, reply, send, services
from scoring import ledger
from scoring.accounts import GROUP, Account, account_of_person
from scoring.db import transaction
from scoring.errors import InputError
from scoring.models import Department, Entry
from scoring.periods import Period
from scoring.standings import Standing

TELEGRAM_LIMIT = 4096


def chunks(lines: list[str], limit: int = TELEGRAM_LIMIT - 96) -> list[str]:
    """Join lines into messages that stay under Telegram's length limit."""
    out: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + len(line) + 1 > limit:
            out.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line[:limit]
    if current:
        out.append(current)
    return out


def _period(context: Context, svc: Services) -> Period:
    if context.args:
        return Period.parse(context.args[0])
    return Period.containing(svc.now().date(), "Y")


async def _send_table(update: Update, context: Context, title: str, rows: list[Standing]) -> None:
    svc = services(context)
    header = svc.views.render("standings_header.html.j2", title=title, n=len(rows))
    lines = [svc.views.render("standings_row.html.j2", s=s) for s in rows]
    for part in chunks([header, *lines]):
        await reply(update, context, part)


async def on_dept(update: Update, context: Context, account: Account | None) -> None:
    """Standings of the departments this leader leads (the leading group: all)."""
    assert account is not None
    svc = services(context)
    period = _period(context, svc)
    rows = await svc.run(_dept_rows, svc, account, period)
    if not rows:
        await reply(update, context, svc.views.render("dept_none.html.j2"))
        return
    await _send_table(update, context, f"分管科室 {period.label}", rows)


def _dept_rows(svc: Services, account: Account, period: Period) -> list[Standing]:
    with svc.core.session() as s:
        names = {d.name for d in s.exec(_departments_query(account)).all()}
    return [r for r in svc.core.standings(period) if r.department in names]


def _departments_query(account: Account):  # type: ignore[no-untyped-def]
    from sqlmodel import col, select

    query = select(Department)
    if not account.has(GROUP):
        query = query.where(col(Department.id).in_(account.leads or {-1}))
    return query


async def on_standings(update: Update, context: Context, account: Account | None) -> None:
    """Everyone's standing for a period (default: this year)."""
    svc = services(context)
    period = _period(context, svc)
    rows = await svc.run(svc.core.standings, period)
    await _send_table(update, context, f"全局 {period.label}", rows)


async def on_veto(update: Update, context: Context, account: Account | None) -> None:
    """/veto 姓名 原因: the leading group records a one-vote veto."""
    assert account is not None
    svc = services(context)
    if not context.args or len(context.args) < 2:
        raise InputError("用法:/veto 姓名 原因,例如 /veto 张三 对组织决定拒不服从")
    name, reason = context.args[0], " ".join(context.args[1:])
    now = svc.now()
    await svc.run(
        svc.core.add_veto, name, reason=reason, fact_date=now.date(), by=account.label, now=now
    )
    await reply(
        update,
        context,
        svc.views.render("veto_done.html.j2", name=name, reason=reason, year=now.year),
    )


async def on_revoke(update: Update, context: Context, account: Account | None) -> None:
    """/revoke 编号 原因: revoke an entry; the person charged is told."""
    assert account is not None
    svc = services(context)
    if not context.args or len(context.args) < 2 or not context.args[0].lstrip("#").isdigit():
        raise InputError("用法:/revoke 记录编号 原因,例如 /revoke 12 误记")
    entry_id, reason = int(context.args[0].lstrip("#")), " ".join(context.args[1:])
    person = await svc.run(_revoke, svc, entry_id, reason, account, update.update_id)
    await reply(
        update, context, svc.views.render("revoke_done.html.j2", id=entry_id, reason=reason)
    )
    if person is not None:
        await send(
            context,
            person.telegram_user_id,
            svc.views.render("revoke_notice.html.j2", id=entry_id, reason=reason),
        )


def _revoke(
    svc: Services, entry_id: int, reason: str, account: Account, update_id: int
) -> Account | None:
    from scoring.pending import mark_update

    now = svc.now()
    with transaction(svc.engine) as s:
        ledger.revoke_entry(s, entry_id, reason=reason, by=account.label, now=now)
        mark_update(s, update_id, now=now)
        entry = s.get(Entry, entry_id)
        return account_of_person(s, entry.person_id) if entry and entry.person_id else None


def build() -> list[BaseHandler]:
    """This module's handlers."""
    return [
        CommandHandler("dept", gate("dept", on_dept)),
        CommandHandler("standings", gate("standings", on_standings)),
        CommandHandler("veto", gate("veto", on_veto)),
        CommandHandler("revoke", gate("revoke", on_revoke, records=True)),
    ]
