"""Leaders and the leading group: /dept, /standings, /veto, /revoke."""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import col, select

from scoring import ledger
from scoring.accounts import GROUP
from scoring.errors import InputError
from scoring.models import Department, Entry
from scoring.parser import resolve_person
from scoring.periods import Period
from scoring.roster import DbRoster
from scoring.standings import Standing
from usecases.core import Ctx, verb
from usecases.messages import EDIT, Out, Result, Say, say
from usecases.paging import page_actions, page_of

DEPT_PAGE, STANDINGS_PAGE = "dept_page", "standings_page"  # actions: another page


def _period(ctx: Ctx, args: list[str]) -> Period:
    return Period.parse(args[0]) if args else Period.containing(ctx.now.date(), "Y")


def _table(title: str, rows: list[Standing], page: int, turn: str, period: Period) -> Say:
    """A page of a standings table: its header and a line per person, with the actions that
    turn its pages."""
    at = page_of(len(rows), page)
    header = say("standings_header.html.j2", title=title, n=len(rows))
    lines = [header, *(say("standings_row.html.j2", s=r) for r in rows[at.start : at.stop])]
    if at.pages > 1:
        lines.append(say("page_of.html.j2", page=at))
    return say("lines.html.j2", *page_actions(turn, (period.label,), at), lines=lines)


def _led(ctx: Ctx, period: Period) -> list[Standing]:
    """The standings of the departments this leader leads (the leading group: everyone)."""
    rows = ctx.standings(period)
    if ctx.me.has(GROUP):
        return rows
    led = set(ctx.session.exec(select(Department.name).where(col(Department.id).in_(ctx.me.leads))))
    return [r for r in rows if r.department in led]


def _dept(ctx: Ctx, period: Period, page: int) -> Say:
    rows = _led(ctx, period)
    if not rows:
        return say("dept_none.html.j2")
    return _table(f"分管科室 {period.label}", rows, page, DEPT_PAGE, period)


def _everyone(ctx: Ctx, period: Period, page: int) -> Say:
    return _table(f"全局 {period.label}", ctx.standings(period), page, STANDINGS_PAGE, period)


@verb("dept")
def dept(ctx: Ctx, args: list[str]) -> Result:
    """Standings of the departments this leader leads (the leading group: all), a page at a
    time."""
    return Result().reply(_dept(ctx, _period(ctx, args), 1))


@verb("dept")
def dept_page(ctx: Ctx, period: str, page: int) -> Result:
    """Another page of /dept's table (the message pressed turns to it)."""
    return Result([Out(_dept(ctx, Period.parse(period), page), EDIT)])


@verb("standings")
def standings(ctx: Ctx, args: list[str]) -> Result:
    """Everyone's standing for a period (default: this year), a page at a time."""
    return Result().reply(_everyone(ctx, _period(ctx, args), 1))


@verb("standings")
def standings_page(ctx: Ctx, period: str, page: int) -> Result:
    """Another page of /standings' table (the message pressed turns to it)."""
    return Result([Out(_everyone(ctx, Period.parse(period), page), EDIT)])


def veto_year(args: list[str], today: date, deadline_month: int) -> tuple[int, list[str]]:
    """The year a veto is for: written after the name, else the year being assessed
    (last year until the annual deadline month has passed, then this year)."""
    if len(args) > 1 and re.fullmatch(r"\d{4}(年)?", args[1]):
        return int(args[1][:4]), [args[0], *args[2:]]
    return (today.year - 1 if today.month <= deadline_month else today.year), args


@verb("veto")
def veto(ctx: Ctx, args: list[str]) -> Result:
    """/veto 姓名 [年度] 原因: the leading group records a one-vote veto."""
    now = ctx.now
    year, args = veto_year(args, now.date(), ctx.rules.calendar.annual_deadline_month)
    if len(args) < 2:
        raise InputError("用法:/veto 姓名 [年度] 原因,例如 /veto 张三 2026 对组织决定拒不服从")
    if not 2000 <= year <= now.year:
        raise InputError(f"年度“{year}”不对")
    name, reason = args[0], " ".join(args[1:])
    fact = now.date() if year == now.year else date(year, 12, 31)
    person = resolve_person(name, DbRoster(ctx.session))
    row = ledger.add_veto(
        ctx.session, person=person, reason=reason, fact_date=fact, by=ctx.me.label, now=now
    )
    return Result().reply(say("veto_done.html.j2", id=row.id, name=name, reason=reason, year=year))


@verb("revoke")
def revoke(ctx: Ctx, args: list[str]) -> Result:
    """/revoke 编号 原因 (or v编号 for a veto): revoke it; the person concerned is told."""
    target = (args or [""])[0].lstrip("#").lower()
    if len(args) < 2 or not target.lstrip("v").isdigit():
        raise InputError(
            "用法:/revoke 记录编号 原因,例如 /revoke 12 误记;一票否决写 /revoke v3 原因"
        )
    reason = " ".join(args[1:])
    me, s = ctx.me, ctx.session
    person_id: int | None
    if target.startswith("v"):
        row = ledger.revoke_veto(s, int(target[1:]), reason=reason, by=me.label, now=ctx.now,
                                 actor_person_id=me.person_id)  # fmt: skip
        person_id, label = row.person_id, f"一票否决 #{target[1:]}"
    else:
        ledger.revoke_entry(s, int(target), reason=reason, by=me.label, now=ctx.now,
                            actor_person_id=me.person_id)  # fmt: skip
        entry = s.get(Entry, int(target))
        person_id, label = (entry.person_id if entry else None), f"记录 #{target}"
    result = Result().reply(say("revoke_done.html.j2", what=label, reason=reason))
    if person_id is not None:
        notice = say("revoke_notice.html.j2", what=label, reason=reason)
        result.out.append(Out(notice, ctx.person(person_id)))
    return result
