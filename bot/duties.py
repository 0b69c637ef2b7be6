"""The calendar's duties on PTB's JobQueue: reminders, alerts, notices, bulletins, proposals,
and the December notice that next year's 调休 is not yet known.

One repeating job (``duties``) ticks every minute, the first time at start-up. Each tick
reads the clock once (``services.now()``) and runs every duty due and not done (see
``scoring.calendar`` for what falls when, and for the catch-up rule). A duty is a list of
messages (parts); each part sent is noted, so a retry sends only what is missing, and the
duty's key is recorded only when every part went out. A failed send leaves the duty
undone: the next tick tries again. A private chat that cannot be reached (the person
blocked the bot, or never opened a chat with it) is logged and skipped, not retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from bot import bulletins
from bot.services import Services
from scoring import calendar, duties
from scoring.accounts import ADMIN, GROUP, INSPECTOR, Account
from scoring.calendar import Duty, period_title
from scoring.db import transaction
from scoring.periods import Period
from scoring.rules import Rules

log = logging.getLogger(__name__)
JOB_NAME = "duties"
PROPOSAL_BUTTON = "prop"  # prop:ok:<card id> records, prop:no:<card id> dismisses
TICK_SECONDS = 60
_LOCK = "duties_lock"
_warned: set[str] = set()


# ------------------------------------------------------------------ what a duty sends
@dataclass(frozen=True)
class Part:
    """One message of a duty; ``name`` is stable across retries."""

    name: str
    chat_id: int
    text: str = ""
    photo: bytes | None = None
    document: bytes | None = None
    filename: str = ""
    markup: InlineKeyboardMarkup | None = None
    private: bool = False


@dataclass
class Plan:
    """A duty's messages, and the database work recorded with its key once they are sent.

    ``ready`` False: the duty cannot run yet (no group chat configured, nobody to send
    proposals to); it stays undone and ``reason`` is logged once.
    """

    parts: list[Part] = field(default_factory=list)
    finish: Callable[[Session], str] | None = None
    detail: str = ""
    ready: bool = True
    reason: str = ""


def _buttons(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def _private(name: str, account: Account, text: str, **kwargs: Any) -> Part:
    return Part(f"{name}:{account.person_id}", account.telegram_user_id, text, private=True,
                **kwargs)  # fmt: skip


def _group_parts(name: str, chat_id: int, text: str) -> list[Part]:
    return [Part(f"{name}{i}", chat_id, t) for i, t in enumerate(bulletins.split_message(text), 1)]


def _no_group(svc: Services) -> Plan | None:
    if svc.settings.group_chat_id is None:
        return Plan(ready=False, reason="KAOHE_GROUP_CHAT_ID is not set")
    return None


def _points(rules: Rules, code: str) -> Decimal | None:
    """An item's points, or None if this rules file has no such item."""
    try:
        return rules.item(code).points
    except KeyError:
        return None


def plan_reminder(svc: Services, session: Session, duty: Duty, now: datetime) -> Plan:
    """Everyone bound: the month's study session, summary and plan; the office: spot checks."""
    year, month = (int(x) for x in duty.subject.split("-"))
    absent, late, missing = (
        _points(svc.rules, code)
        for code in ("study_absent", "business_report_late", "business_report_missing")
    )
    parts = []
    for a in duties.bound_accounts(session):
        text = svc.views.render(
            "duty_monthly_reminder.html.j2", month=month, prev_month=(month - 2) % 12 + 1,
            inspector=a.has(INSPECTOR), absent_points=absent, late_points=late,
            missing_points=missing,
        )  # fmt: skip
        parts.append(_private("p", a, text))
    return Plan(parts, detail=f"{len(parts)} reminders ({year}-{month:02d})")


def plan_spot_check(svc: Services, session: Session, duty: Duty, now: datetime) -> Plan:
    """After a month without any spot check recorded: the office and the leading group."""
    year, month = (int(x) for x in duty.subject.split("-"))
    checks = duties.spot_checks(session, year, month)
    if checks:
        return Plan(detail=f"{checks} deductions recorded; no alert")
    text = svc.views.render("duty_spot_check_alert.html.j2", year=year, month=month)
    parts = [_private("p", a, text) for a in duties.bound_accounts(session, INSPECTOR, GROUP)]
    return Plan(parts, detail=f"no spot check; {len(parts)} alerted")


def plan_notice(svc: Services, session: Session, duty: Duty, now: datetime) -> Plan:
    """The quarter's deductions, vetoes and bonuses to the group, with the 申诉 button."""
    if (missing := _no_group(svc)) is not None:
        return missing
    assert svc.settings.group_chat_id is not None
    period = Period.parse(duty.subject)
    notice = duties.quarter_notice(session, svc.rules, period)
    cal = svc.rules.calendar
    text = bulletins.notice_text(
        svc.views, svc.rules, notice, calendar.window_closes(now.date(), cal)
    )
    parts = _group_parts("text", svc.settings.group_chat_id, text)
    last = parts[-1]
    parts[-1] = Part(last.name, last.chat_id, last.text,
                     markup=_buttons([[("申诉", f"apn:{period.label}")]]))  # fmt: skip

    def finish(s: Session) -> str:
        row = duties.record_notice(s, cal, period.label, now=now)
        return f"posted; objections until {row.window_closes.isoformat()}"

    return Plan(parts, finish=finish)


def plan_bulletin(svc: Services, session: Session, duty: Duty, now: datetime) -> Plan:
    """The half-year estimate to the group: text, chart (with a CJK font), Excel."""
    if (missing := _no_group(svc)) is not None:
        return missing
    period = Period.parse(duty.subject)
    rendered = bulletins.render_bulletin(
        session, svc.rules, svc.views, period, font=bulletins.find_cjk_font(), tz=svc.settings.tz
    )
    return Plan(bulletin_parts(svc, rendered), detail="chart" if rendered.png else "no chart")


def bulletin_parts(svc: Services, rendered: bulletins.RenderedBulletin) -> list[Part]:
    """A rendered bulletin as messages to the group: text, chart, Excel."""
    chat = svc.settings.group_chat_id
    assert chat is not None
    parts = _group_parts("text", chat, rendered.text)
    if rendered.png is not None:
        parts.append(Part("chart", chat, rendered.caption, photo=rendered.png,
                          filename=rendered.png_name))  # fmt: skip
    title = f"{svc.rules.unit.name} {period_title(rendered.period)}考核测算"
    caption = svc.views.render("bulletin_excel_caption.html.j2", title=title)
    parts.append(Part("excel", chat, caption, document=rendered.xlsx,
                      filename=rendered.xlsx_name))  # fmt: skip
    return parts


def plan_proposals(svc: Services, session: Session, duty: Duty, now: datetime) -> Plan:
    """Year-end deductions the data implies, as cards for the office to confirm or dismiss."""
    year = int(duty.subject)
    if duties.review_done(session, year):
        return Plan(detail="year already finalized")
    office = duties.bound_accounts(session, INSPECTOR) or duties.bound_accounts(session, ADMIN)
    if not office:
        return Plan(ready=False, reason="no 督查员 or 管理员 has bound Telegram")
    carded = duties.open_proposal_cards(session, svc.rules, year, now=now)
    study = svc.rules.study
    intro = svc.views.render(
        "duty_proposals_intro.html.j2", year=year, count=len(carded),
        chars=study.notes_chars_per_year, need=study.reflections_per_year,
        notes_points=svc.rules.item(study.notes_short_item).points,
        reflection_points=svc.rules.item(study.reflection_missing_item).points,
    )  # fmt: skip
    parts: list[Part] = []
    for a in office:
        parts.append(_private("intro", a, intro))
        for card, p in carded:
            text = proposal_card_text(svc, p)
            ok, no = f"{PROPOSAL_BUTTON}:ok:{card.id}", f"{PROPOSAL_BUTTON}:no:{card.id}"
            markup = _buttons([[("确认扣分", ok), ("驳回", no)]])
            parts.append(_private(f"card{card.id}", a, text, markup=markup))
    return Plan(parts, detail=f"{len(carded)} proposals to {len(office)}")


def proposal_card_text(svc: Services, p: duties.Proposal) -> str:
    """A proposal card's text."""
    return svc.views.render(
        "duty_proposal_card.html.j2", p=p, unit=svc.rules.item(p.item_code).unit,
        notes=p.item_code == svc.rules.study.notes_short_item,
    )  # fmt: skip


def plan_review(svc: Services, session: Session, duty: Duty, now: datetime) -> Plan:
    """From January: the leading group, until the year is finalized."""
    year = int(duty.subject)
    if duties.review_done(session, year):
        return Plan(detail="year already finalized")
    text = svc.views.render(
        "duty_review_reminder.html.j2", year=year,
        deadline_month=svc.rules.calendar.annual_deadline_month,
        missing=len(duties.missing_reviews(session, year)),
    )  # fmt: skip
    parts = [_private("p", a, text) for a in duties.bound_accounts(session, GROUP)]
    return Plan(parts, detail=f"{len(parts)} reminded")


def plan_annual(svc: Services, session: Session, duty: Duty, now: datetime) -> Plan:
    """The finalized year to the group: grades, the excellent, the reduced payouts, Excel."""
    if (missing := _no_group(svc)) is not None:
        return missing
    chat = svc.settings.group_chat_id
    assert chat is not None
    year = int(duty.subject)
    result = duties.annual_result(session, svc.rules, year)
    period = Period.parse(str(year))
    parts = _group_parts("text", chat, bulletins.annual_text(svc.views, svc.rules, result))
    xlsx = bulletins.export_bytes(
        svc.rules, period, result.standings,
        duties.ledger.entry_views(session, svc.rules, period), tz=svc.settings.tz,
    )  # fmt: skip
    caption = svc.views.render("bulletin_annual_excel_caption.html.j2", year=year)
    parts.append(Part("excel", chat, caption, document=xlsx, filename=f"kaohe-{year}.xlsx"))
    return Plan(parts, detail=f"{len(result.standings)} graded")


def plan_workdays_unknown(svc: Services, session: Session, duty: Duty, now: datetime) -> Plan:
    """December: next year's 调休 is not yet known; the office is told how to add it."""
    office = duties.bound_accounts(session, INSPECTOR, ADMIN)
    text = svc.views.render(
        "duty_workdays_unknown.html.j2", year=int(duty.subject),
        rules_file=svc.settings.rules_file or "",
    )  # fmt: skip
    parts = [_private("p", a, text) for a in office]
    return Plan(parts, detail=f"{len(parts)} told")


PLANS: dict[str, Callable[[Services, Session, Duty, datetime], Plan]] = {
    "reminder": plan_reminder,
    "spotcheck": plan_spot_check,
    "notice": plan_notice,
    "bulletin": plan_bulletin,
    "proposals": plan_proposals,
    "review": plan_review,
    "workdays": plan_workdays_unknown,
    "annual": plan_annual,
}


# ------------------------------------------------------------------ sending
class Unreachable(Exception):
    """A person's private chat cannot be reached; retrying would not help."""


async def deliver(bot: Bot, part: Part) -> None:
    """Send one part; raise on failure (Unreachable for a private chat that is closed)."""
    try:
        if part.photo is not None:
            await bot.send_photo(
                part.chat_id, InputFile(part.photo, filename=part.filename),
                caption=part.text or None, parse_mode=ParseMode.HTML,
            )  # fmt: skip
        elif part.document is not None:
            await bot.send_document(
                part.chat_id, InputFile(part.document, filename=part.filename),
                caption=part.text or None, parse_mode=ParseMode.HTML,
            )  # fmt: skip
        else:
            await bot.send_message(
                part.chat_id, part.text, parse_mode=ParseMode.HTML, reply_markup=part.markup
            )
    except Forbidden as exc:
        if part.private:
            raise Unreachable(str(exc)) from exc
        raise
    except BadRequest as exc:
        if part.private and "chat not found" in str(exc).lower():
            raise Unreachable(str(exc)) from exc
        raise


async def send_parts(bot: Bot, svc: Services, key: str, parts: list[Part], now: datetime) -> bool:
    """Send the parts not yet sent, noting each; False at the first failure."""
    sent = await svc.run(_parts_done, svc, key)
    for part in parts:
        if part.name in sent:
            continue
        try:
            await deliver(bot, part)
        except Unreachable as exc:
            log.warning("duty %s: chat %s unreachable (%s); skipped", key, part.chat_id, exc)
        except TelegramError as exc:
            log.warning("duty %s: part %s failed (%s); retried next tick", key, part.name, exc)
            return False
        await svc.run(_add_part, svc, key, part.name, now)
    return True


def _parts_done(svc: Services, key: str) -> set[str]:
    with svc.core.session() as s:
        return duties.parts_done(s, key)


def _add_part(svc: Services, key: str, part: str, now: datetime) -> None:
    with transaction(svc.engine) as s:
        duties.add_part(s, key, part, now=now)


# ------------------------------------------------------------------ running duties
def _plan(svc: Services, duty: Duty, now: datetime) -> Plan:
    with transaction(svc.engine) as s:  # proposals open their cards here, once
        return PLANS[duty.kind](svc, s, duty, now)


def _finish(svc: Services, duty: Duty, plan: Plan, now: datetime) -> None:
    with transaction(svc.engine) as s:
        detail = plan.finish(s) if plan.finish else plan.detail
        duties.mark_done(s, duty.key, now=now, detail=detail)


async def run_duty(bot: Bot, svc: Services, duty: Duty, now: datetime) -> bool:
    """Run one duty: send what is missing, then record its key. False: still undone."""
    plan = await svc.run(_plan, svc, duty, now)
    if not plan.ready:
        if duty.key not in _warned:
            _warned.add(duty.key)
            log.warning("duty %s cannot run yet: %s", duty.key, plan.reason)
        return False
    if not await send_parts(bot, svc, duty.key, plan.parts, now):
        return False
    await svc.run(_finish, svc, duty, plan, now)
    log.info("duty %s done: %s", duty.key, plan.detail or "")
    return True


def _due(svc: Services, now: datetime) -> list[Duty]:
    with transaction(svc.engine) as s:
        return duties.duties_due(s, svc.rules.calendar, svc.settings.tz, now)


async def run_due_duties(app: Application, now: datetime, *, only: str | None = None) -> list[str]:
    """Run every duty due at ``now`` and not done (or just the one keyed ``only``).

    Returns the keys done. One run at a time: a tick waits for the one before.
    """
    svc: Services = app.bot_data["services"]
    lock: asyncio.Lock = app.bot_data.setdefault(_LOCK, asyncio.Lock())
    done: list[str] = []
    async with lock:
        for duty in await svc.run(_due, svc, now):
            if only is not None and duty.key != only:
                continue
            try:
                if await run_duty(app.bot, svc, duty, now):
                    done.append(duty.key)
            except Exception:  # one broken duty must not stop the others
                log.exception("duty %s failed; retried next tick", duty.key)
    return done


async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The repeating job: read the clock once, run what is due."""
    svc: Services = context.bot_data["services"]
    await run_due_duties(context.application, svc.now())


def schedule_duties(app: Application) -> None:
    """Tick every minute, the first time as soon as the application starts (catch-up).

    The first run is pinned with ``next_run_time``: a plain ``first=0`` would be counted
    from now, when the application is built, and APScheduler would then wait a whole
    interval once it starts. No misfire limit: a late tick still runs, coalesced into one.
    """
    if app.job_queue is None:
        log.warning("no JobQueue (install python-telegram-bot[job-queue]); duties will not run")
        return
    svc: Services = app.bot_data["services"]
    app.job_queue.run_repeating(
        tick, interval=TICK_SECONDS, first=TICK_SECONDS, name=JOB_NAME,
        job_kwargs={"next_run_time": svc.now(), "misfire_grace_time": None, "coalesce": True,
                    "max_instances": 1},
    )  # fmt: skip
