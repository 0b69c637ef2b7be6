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

from scoring import calendar, duties, ledger, vote
from scoring.accounts import ADMIN, GROUP, INSPECTOR, Account, addresses_of
from scoring.calendar import Duty, period_title
from scoring.models import Vote
from scoring.periods import Period
from scoring.rules import Rules
from scoring.standings import StandingsOf, compute_standings
from usecases import bulletins, review
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
    rules_file: str = ""  # where the bureau's rules file is, for the 调休 notice
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
        missing=len(duties.missing_reviews(session, p.rules, year)),
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


def plan_workdays_unknown(p: Planning, session: Session, duty: Duty, now: datetime) -> Plan:
    """December: next year's 调休 is not yet known; the office is told how to add it."""
    text = say("duty_workdays_unknown.html.j2", year=int(duty.subject), rules_file=p.rules_file)
    parts = [_private("p", a, text) for a in duties.bound_accounts(session, INSPECTOR, ADMIN)]
    return Plan(parts, detail=f"{len(parts)} told")


def plan_vote_remind(p: Planning, session: Session, duty: Duty, now: datetime) -> Plan:
    """Before a vote closes: those who have not voted, privately (with their ballot); the
    group, how many have voted and who has not."""
    year = int(duty.subject)
    t = vote.turnout(session, year, p.tz)
    if t.state != vote.OPEN:
        return Plan(detail="vote no longer open")
    parts = [Part("group", GROUP_CHAT, say("vote_turnout.html.j2", t=t))]
    waiting = vote.not_voted(session, year)
    for pid, addresses in addresses_of(session, waiting).items():
        if addresses:
            first = review.first_page(vote.ballot(session, p.rules, year, pid, now=now))
            text = say("vote_reminder.html.j2", *first.actions, t=t, page=first)
            parts.append(Part(f"p:{pid}", Person(pid, addresses), text))
    return Plan(parts, detail=f"{len(parts) - 1} reminded")


def plan_vote_close(p: Planning, session: Session, duty: Duty, now: datetime) -> Plan:
    """At its closing time a vote closes (counted if turnout is enough) and people are told
    as at a close by hand; a vote closed by hand before its time needs nothing more."""
    year = int(duty.subject)
    row = session.get(Vote, year)
    if row is None:
        return Plan(detail="no such vote")
    if row.state == vote.OPEN:
        r = vote.close_vote(session, p.rules, year, by=review.AUTO_CLOSE, now=now)
    elif row.closed_at is not None and row.closed_at < duty.due:
        return Plan(detail="closed by hand before its time")
    else:  # closed by this duty on a try whose messages did not all go out
        r = vote.scored(vote.results(session, year, p.tz), p.rules)
    ids = [x.person.id for x in r.people]
    people = {pid: Person(pid, a) for pid, a in addresses_of(session, ids).items()}
    parts: list[Part] = []
    if r.turnout.state == vote.CLOSED:  # short of the turnout: the leading group decides
        prompt = review.confirm_prompt(r.turnout)
        parts += [_private("confirm", a, prompt) for a in duties.bound_accounts(session, GROUP)]
    for o in review.result_outs(p.rules, r, people):
        if isinstance(o.to, Person):
            parts.append(Part(f"p:{o.to.person_id}", o.to, o.say))
        else:
            parts.append(Part("group", GROUP_CHAT, o.say))
    return Plan(parts, detail=f"{r.turnout.state}: {len(r.turnout.voted)}/{r.turnout.roll}")


PLANS: dict[str, Callable[[Planning, Session, Duty, datetime], Plan]] = {
    "reminder": plan_reminder,
    "spotcheck": plan_spot_check,
    "notice": plan_notice,
    "bulletin": plan_bulletin,
    "proposals": plan_proposals,
    "review": plan_review,
    "workdays": plan_workdays_unknown,
    "annual": plan_annual,
    vote.REMIND: plan_vote_remind,
    vote.CLOSE: plan_vote_close,
}
