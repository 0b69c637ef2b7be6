"""The calendar's duties as messages: reminders, alerts, notices, bulletins, proposals.

A duty's plan is a list of parts, each a message to a person or to the group, with a name
stable across retries; the scheduler (``bot.duties``) delivers each part to every target
(a person's bound accounts; each messenger's group) exactly once, then records the duty
with ``finish``. Planning reads the database in the caller's transaction; year-end
proposals open their cards there, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal

from sqlmodel import Session

from scoring import calendar, duties, ledger
from scoring.accounts import ADMIN, GROUP, INSPECTOR, Account
from scoring.calendar import Duty, period_title
from scoring.periods import Period
from scoring.rules import Rules
from scoring.standings import StandingsOf, compute_standings
from usecases import bulletins
from usecases.calendar import NOTICE_APPEAL, proposal_actions, proposal_card
from usecases.messages import Action, Attachment, Group, Person, Say, say

GROUP_CHAT = Group()


@dataclass(frozen=True)
class Part:
    """One message of a duty; ``name`` is stable across retries."""

    name: str
    to: Person | Group
    say: Say


@dataclass
class Plan:
    """A duty's messages, and the database work recorded with its key once they are sent.

    ``ready`` False: the duty cannot run yet (nobody to send proposals to); it stays undone
    and ``reason`` is logged once.
    """

    parts: list[Part] = field(default_factory=list)
    finish: Callable[[Session], str] | None = None
    detail: str = ""
    ready: bool = True
    reason: str = ""


@dataclass(frozen=True)
class Planning:
    """What planning needs beyond the database: the rules, the bureau's zone, and where
    standings come from (the bot's ``StandingsCache``)."""

    rules: Rules
    tz: tzinfo
    standings: StandingsOf = compute_standings


def _private(name: str, account: Account, message: Say) -> Part:
    return Part(f"{name}:{account.person_id}", Person(account.person_id, account.addresses),
                message)  # fmt: skip


def _points(rules: Rules, code: str) -> Decimal | None:
    """An item's points, or None if this rules file has no such item."""
    try:
        return rules.item(code).points
    except KeyError:
        return None


def plan_reminder(p: Planning, session: Session, duty: Duty, now: datetime) -> Plan:
    """Everyone bound: the month's study session, summary and plan; the office: spot checks."""
    year, month = (int(x) for x in duty.subject.split("-"))
    absent, late, missing = (
        _points(p.rules, code)
        for code in ("study_absent", "business_report_late", "business_report_missing")
    )
    parts = [
        _private("p", a, say(
            "duty_monthly_reminder.html.j2", month=month, prev_month=(month - 2) % 12 + 1,
            inspector=a.has(INSPECTOR), absent_points=absent, late_points=late,
            missing_points=missing,
        ))
        for a in duties.bound_accounts(session)
    ]  # fmt: skip
    return Plan(parts, detail=f"{len(parts)} reminders ({year}-{month:02d})")


def plan_spot_check(p: Planning, session: Session, duty: Duty, now: datetime) -> Plan:
    """After a month without any spot check recorded: the office and the leading group."""
    year, month = (int(x) for x in duty.subject.split("-"))
    checks = duties.spot_checks(session, year, month)
    if checks:
        return Plan(detail=f"{checks} deductions recorded; no alert")
    text = say("duty_spot_check_alert.html.j2", year=year, month=month)
    parts = [_private("p", a, text) for a in duties.bound_accounts(session, INSPECTOR, GROUP)]
    return Plan(parts, detail=f"no spot check; {len(parts)} alerted")


def plan_notice(p: Planning, session: Session, duty: Duty, now: datetime) -> Plan:
    """The quarter's deductions, vetoes and bonuses to the group, with the 申诉 action."""
    period = Period.parse(duty.subject)
    notice = duties.quarter_notice(session, p.rules, period)
    cal = p.rules.calendar
    closes = calendar.window_closes(now.date(), cal)
    appeal = [Action("申诉", NOTICE_APPEAL, (period.label,))]
    text = bulletins.notice_text(p.rules, notice, closes, appeal)

    def finish(s: Session) -> str:
        row = duties.record_notice(s, cal, period.label, now=now)
        return f"posted; objections until {row.window_closes.isoformat()}"

    return Plan([Part("text", GROUP_CHAT, text)], finish=finish)


def plan_bulletin(p: Planning, session: Session, duty: Duty, now: datetime) -> Plan:
    """The half-year estimate to the group: text, chart (with a CJK font), Excel."""
    period = Period.parse(duty.subject)
    font = bulletins.find_cjk_font()  # looked up once, then cached
    rendered = bulletins.render_bulletin(
        session, p.rules, period, font=font, tz=p.tz, standings_of=p.standings
    )
    return Plan(bulletin_parts(p.rules, rendered), detail="chart" if rendered.png else "no chart")


def bulletin_parts(rules: Rules, rendered: bulletins.RenderedBulletin) -> list[Part]:
    """A rendered bulletin as messages to the group: text, chart, Excel."""
    parts = [Part("text", GROUP_CHAT, rendered.text)]
    if (chart := rendered.chart) is not None:
        parts.append(Part("chart", GROUP_CHAT, chart))
    title = f"{rules.unit.name} {period_title(rendered.period)}考核测算"
    caption = say("bulletin_excel_caption.html.j2", title=title)
    parts.append(Part("excel", GROUP_CHAT, rendered.excel(caption)))
    return parts


def plan_proposals(p: Planning, session: Session, duty: Duty, now: datetime) -> Plan:
    """Year-end deductions the data implies, as cards for the office to confirm or dismiss."""
    year = int(duty.subject)
    if duties.review_done(session, year):
        return Plan(detail="year already finalized")
    office = duties.bound_accounts(session, INSPECTOR) or duties.bound_accounts(session, ADMIN)
    if not office:
        return Plan(ready=False, reason="no 督查员 or 管理员 has bound a messenger")
    carded = duties.open_proposal_cards(session, p.rules, year, now=now)
    study = p.rules.study
    intro = say(
        "duty_proposals_intro.html.j2", year=year, count=len(carded),
        chars=study.notes_chars_per_year, need=study.reflections_per_year,
        notes_points=p.rules.item(study.notes_short_item).points,
        reflection_points=p.rules.item(study.reflection_missing_item).points,
    )  # fmt: skip
    parts: list[Part] = []
    for a in office:
        parts.append(_private("intro", a, intro))
        for card, proposal in carded:
            base = proposal_card(p.rules, proposal)
            card_say = Say(base.template, base.values, (tuple(proposal_actions(card.id)),))
            parts.append(_private(f"card{card.id}", a, card_say))
    return Plan(parts, detail=f"{len(carded)} proposals to {len(office)}")


def plan_review(p: Planning, session: Session, duty: Duty, now: datetime) -> Plan:
    """From January: the leading group, until the year is finalized."""
    year = int(duty.subject)
    if duties.review_done(session, year):
        return Plan(detail="year already finalized")
    text = say(
        "duty_review_reminder.html.j2", year=year,
        deadline_month=p.rules.calendar.annual_deadline_month,
        missing=len(duties.missing_reviews(session, year)),
    )  # fmt: skip
    parts = [_private("p", a, text) for a in duties.bound_accounts(session, GROUP)]
    return Plan(parts, detail=f"{len(parts)} reminded")


def plan_annual(p: Planning, session: Session, duty: Duty, now: datetime) -> Plan:
    """The finalized year to the group: grades, the excellent, the reduced payouts, Excel."""
    year = int(duty.subject)
    result = duties.annual_result(session, p.rules, year, standings=p.standings)
    period = Period.parse(str(year))
    xlsx = bulletins.export_bytes(
        p.rules, period, result.standings, ledger.entry_views(session, p.rules, period), tz=p.tz
    )
    caption = say("bulletin_annual_excel_caption.html.j2", year=year)
    file = Attachment("document", data=xlsx, filename=f"kaohe-{year}.xlsx")
    excel = Say(caption.template, caption.values, file=file)
    parts = [
        Part("text", GROUP_CHAT, bulletins.annual_text(p.rules, result)),
        Part("excel", GROUP_CHAT, excel),
    ]
    return Plan(parts, detail=f"{len(result.standings)} graded")


PLANS: dict[str, Callable[[Planning, Session, Duty, datetime], Plan]] = {
    "reminder": plan_reminder,
    "spotcheck": plan_spot_check,
    "notice": plan_notice,
    "bulletin": plan_bulletin,
    "proposals": plan_proposals,
    "review": plan_review,
    "annual": plan_annual,
}
