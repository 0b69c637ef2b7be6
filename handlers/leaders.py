"""Leaders and the leading group: /dept, /standings, /veto, /revoke."""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import col, select
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.services import Services
from handlers.common import Context, gate, reply, send, services
from scoring import ledger
from scoring.accounts import GROUP, Account, account_of_person
from scoring.db import transaction
from scoring.errors import InputError
from scoring.models import Department, Entry
from scoring.parser import resolve_person
from scoring.pending import mark_update
from scoring.periods import Period
from scoring.roster import DbRoster
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
    """Standings of the departments the leader leads (the leading group: all)."""
    rows = svc.core.standings(period)
    if account.has(GROUP):
        return rows
    with svc.core.session() as s:
        led = s.exec(select(Department.name).where(col(Department.id).in_(account.leads))).all()
    return [r for r in rows if r.department in set(led)]


async def on_standings(update: Update, context: Context, account: Account | None) -> None:
    """Everyone's standing for a period (default: this year)."""
    svc = services(context)
    period = _period(context, svc)
    rows = await svc.run(svc.core.standings, period)
    await _send_table(update, context, f"全局 {period.label}", rows)


def veto_year(args: list[str], today: date, deadline_month: int) -> tuple[int, list[str]]:
    """The year a veto is for: written after the name, else the year being assessed
    (last year until the annual deadline month has passed, then this year)."""
    if len(args) > 1 and re.fullmatch(r"\d{4}(年)?", args[1]):
        return int(args[1][:4]), [args[0], *args[2:]]
    return (today.year - 1 if today.month <= deadline_month else today.year), args


async def on_veto(update: Update, context: Context, account: Account | None) -> None:
    """/veto 姓名 [年度] 原因: the leading group records a one-vote veto."""
    assert account is not None
    svc = services(context)
    now = svc.now()
    year, args = veto_year(
        list(context.args or []), now.date(), svc.rules.calendar.annual_deadline_month
    )
    if len(args) < 2:
        raise InputError("用法:/veto 姓名 [年度] 原因,例如 /veto 张三 2026 对组织决定拒不服从")
    if not 2000 <= year <= now.year:
        raise InputError(f"年度“{year}”不对")
    name, reason = args[0], " ".join(args[1:])
    veto_id = await svc.run(_veto, svc, name, reason, year, account, update.update_id)
    text = svc.views.render("veto_done.html.j2", id=veto_id, name=name, reason=reason, year=year)
    await reply(update, context, text)


def _veto(
    svc: Services, name: str, reason: str, year: int, account: Account, update_id: int
) -> int:
    now = svc.now()
    fact = now.date() if year == now.year else date(year, 12, 31)
    with transaction(svc.engine) as s:
        person = resolve_person(name, DbRoster(s))
        veto = ledger.add_veto(
            s, person=person, reason=reason, fact_date=fact, by=account.label, now=now
        )
        mark_update(s, update_id, now=now)
        assert veto.id is not None
        return veto.id


async def on_revoke(update: Update, context: Context, account: Account | None) -> None:
    """/revoke 编号 原因 (or v编号 for a veto): revoke it; the person concerned is told."""
    assert account is not None
    svc = services(context)
    target = (context.args or [""])[0].lstrip("#").lower()
    if not context.args or len(context.args) < 2 or not target.lstrip("v").isdigit():
        raise InputError(
            "用法:/revoke 记录编号 原因,例如 /revoke 12 误记;一票否决写 /revoke v3 原因"
        )
    reason = " ".join(context.args[1:])
    person = await svc.run(_revoke, svc, target, reason, account, update.update_id)
    label = f"一票否决 #{target[1:]}" if target.startswith("v") else f"记录 #{target}"
    await reply(update, context, svc.views.render("revoke_done.html.j2", what=label, reason=reason))
    if person is not None:
        text = svc.views.render("revoke_notice.html.j2", what=label, reason=reason)
        await send(context, person.telegram_user_id, text)


def _revoke(
    svc: Services, target: str, reason: str, account: Account, update_id: int
) -> Account | None:
    now = svc.now()
    with transaction(svc.engine) as s:
        if target.startswith("v"):
            row = ledger.revoke_veto(s, int(target[1:]), reason=reason, by=account.label,
                                     now=now, actor_person_id=account.person_id)  # fmt: skip
            person_id: int | None = row.person_id
        else:
            ledger.revoke_entry(s, int(target), reason=reason, by=account.label, now=now,
                                actor_person_id=account.person_id)  # fmt: skip
            entry = s.get(Entry, int(target))
            person_id = entry.person_id if entry else None
        mark_update(s, update_id, now=now)
        return account_of_person(s, person_id) if person_id else None


def build() -> list[BaseHandler]:
    """This module's handlers."""
    return [
        CommandHandler("dept", gate("dept", on_dept)),
        CommandHandler("standings", gate("standings", on_standings)),
        CommandHandler("veto", gate("veto", on_veto, records=True)),
        CommandHandler("revoke", gate("revoke", on_revoke, records=True)),
    ]
