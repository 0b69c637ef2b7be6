"""The duty calendar, pure: what falls when, by the rules file's ``[calendar]`` section.

Every duty has a key (``reminder:2026-11``, ``spotcheck:2026-10``, ``notice:2026Q3``,
``bulletin:2026H1``, ``proposals:2026``, ``review:2027-01``; ``annual:2026`` is set off by
``/finalize``, not by the calendar). The bot records a key once the duty is done.

Catch-up (what a bot that was down does when it comes back): of each kind of duty only
the latest one that has fallen due is run, and only if it fell due after the bot's first
start (its install). A bot down across 1 July posts the H1 bulletin when it is back; a bot
down for three months sends this month's reminder, not the two before it.

Nothing here reads the clock: ``now`` is passed in, aware, in the bot's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from scoring.periods import Period
from scoring.rules import Calendar

KINDS = ("reminder", "spotcheck", "notice", "bulletin", "proposals", "review")
KIND_NAMES = {
    "reminder": "月初提醒(学习、工作小结与计划、纪律督查)",
    "spotcheck": "上月未开展纪律督查的提醒",
    "notice": "季度扣分、处罚、奖励情况公开通报",
    "bulletin": "半年考核测算通报",
    "proposals": "年终学习笔记、心得扣分建议",
    "review": "年度考核截止提醒",
    "annual": "年度考核结果通报",
    "vote_remind": "民主评议截止前的提醒",
    "vote_close": "民主评议截止",
}
_QUARTER_NAMES = "一二三四"
# How far back the calendar is searched for the latest duty of each kind (over a year,
# since the yearly duties fall once a year).
_LOOK_BACK_MONTHS = 14


@dataclass(frozen=True, order=True)
class Duty:
    """One duty falling due: when, its key, its kind and what it is about."""

    due: datetime
    key: str
    kind: str
    subject: str  # a month (2026-11), a period (2026Q3, 2026H1) or a year (2026)

    @property
    def name(self) -> str:
        """What the duty is, for people."""
        return KIND_NAMES[self.kind]


# ------------------------------------------------------------------ working days
def is_working_day(day: date, cal: Calendar) -> bool:
    """Monday to Friday, except the rules file's holidays, plus its 调休 workdays."""
    if day in cal.workdays:
        return True
    if day in cal.holidays:
        return False
    return day.weekday() < 5


def working_day_after(day: date, n: int, cal: Calendar) -> date:
    """The n-th working day after ``day`` (``day`` itself not counted; n = 0 is ``day``)."""
    current = day
    for _ in range(n):
        current += timedelta(days=1)
        while not is_working_day(current, cal):
            current += timedelta(days=1)
    return current


def nth_working_day(year: int, month: int, n: int, cal: Calendar) -> date:
    """The n-th working day of a month (n ≥ 1)."""
    return working_day_after(date(year, month, 1) - timedelta(days=1), n, cal)


def window_closes(posted: date, cal: Calendar) -> date:
    """The last day of the objection window (公示期) of a notice posted on ``posted``.

    The window is ``objection_window_working_days`` working days after the posting day,
    the posting day not counted: posted on Monday 6 July, 5 working days, it closes at the
    end of Monday 13 July. Objections are taken until then; the entries are final after.
    """
    return working_day_after(posted, cal.objection_window_working_days, cal)


def window_open(closes: date, today: date) -> bool:
    """Whether a notice's objection window is still open on ``today``."""
    return today <= closes


# ------------------------------------------------------------------ periods
def assessment_year(year: int, month: int) -> int:
    """The year a duty falling in this month is about: July–December this year, else the last."""
    return year if month >= 7 else year - 1


def period_title(period: Period) -> str:
    """A period as people say it: 2026年上半年, 2026年第三季度, 2026年度."""
    label = period.label
    if period.annual:
        return f"{period.year}年度"
    if label.endswith("H1"):
        return f"{period.year}年上半年"
    if label.endswith("H2"):
        return f"{period.year}年下半年"
    return f"{period.year}年第{_QUARTER_NAMES[int(label[-1]) - 1]}季度"


def quarters_of(period: Period) -> list[str]:
    """The quarters a period covers (2026H1 → 2026Q1, 2026Q2)."""
    first = (period.start.month - 1) // 3 + 1
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month
    return [f"{period.year}Q{q}" for q in range(first, first + months // 3)]


def quarter_before(year: int, month: int) -> Period:
    """The quarter that ended before this month began (January → Q4 of the year before)."""
    prev = date(year, month, 1) - timedelta(days=1)
    return Period.containing(prev, "Q")


def half_before(year: int, month: int) -> Period:
    """The half-year a bulletin in this month reports: H1 from July on, else last year's H2."""
    return Period.parse(f"{year}H1" if month >= 7 else f"{year - 1}H2")


# ------------------------------------------------------------------ the schedule
def _at(day: date, hour: int, minute: int, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def duties_in_month(cal: Calendar, tz: tzinfo, year: int, month: int) -> list[Duty]:
    """Every duty that falls due in a month, in order."""
    out: list[Duty] = []
    r = cal.monthly_reminder
    out.append(
        Duty(_at(date(year, month, r.day), r.hour, r.minute, tz), f"reminder:{year}-{month:02d}",
             "reminder", f"{year}-{month:02d}")
    )  # fmt: skip
    py, pm = _add_months(year, month, -1)
    a = cal.spot_check_alert
    day = nth_working_day(year, month, a.working_day, cal)
    out.append(
        Duty(_at(day, a.hour, a.minute, tz), f"spotcheck:{py}-{pm:02d}", "spotcheck",
             f"{py}-{pm:02d}")
    )  # fmt: skip
    if month in (1, 4, 7, 10):
        q = cal.quarterly_notice
        quarter = quarter_before(year, month).label
        out.append(
            Duty(_at(date(year, month, q.day), q.hour, q.minute, tz), f"notice:{quarter}",
                 "notice", quarter)
        )  # fmt: skip
    b = cal.half_year_bulletin
    if month in b.months:
        half = half_before(year, month).label
        out.append(
            Duty(_at(date(year, month, b.day), b.hour, b.minute, tz), f"bulletin:{half}",
                 "bulletin", half)
        )  # fmt: skip
    p = cal.year_end_proposals
    if month == p.month:
        subject = str(assessment_year(year, month))
        out.append(
            Duty(_at(date(year, month, p.day), p.hour, p.minute, tz), f"proposals:{subject}",
                 "proposals", subject)
        )  # fmt: skip
    rv = cal.review_reminder
    if month in rv.months:
        out.append(
            Duty(_at(date(year, month, rv.day), rv.hour, rv.minute, tz),
                 f"review:{year}-{month:02d}", "review", str(assessment_year(year, month)))
        )  # fmt: skip
    return sorted(out)


def schedule(cal: Calendar, tz: tzinfo, around: datetime, *, before: int, after: int) -> list[Duty]:
    """Every duty due from ``before`` months before ``around``'s month to ``after`` after."""
    local = around.astimezone(tz)
    out: list[Duty] = []
    for n in range(-before, after + 1):
        year, month = _add_months(local.year, local.month, n)
        out.extend(duties_in_month(cal, tz, year, month))
    return sorted(out)


def latest_due(cal: Calendar, tz: tzinfo, now: datetime) -> list[Duty]:
    """Of each kind, the latest duty due at or before ``now``."""
    latest: dict[str, Duty] = {}
    for duty in schedule(cal, tz, now, before=_LOOK_BACK_MONTHS, after=0):
        if duty.due <= now:
            latest[duty.kind] = duty
    return sorted(latest.values())


def upcoming(cal: Calendar, tz: tzinfo, now: datetime) -> list[Duty]:
    """Of each kind, the next duty due after ``now``."""
    nxt: dict[str, Duty] = {}
    for duty in schedule(cal, tz, now, before=0, after=_LOOK_BACK_MONTHS):
        if duty.due > now and duty.kind not in nxt:
            nxt[duty.kind] = duty
    return sorted(nxt.values())


def due_duties(
    cal: Calendar, tz: tzinfo, now: datetime, *, installed: datetime, done: Set[str]
) -> list[Duty]:
    """What to run now: of each kind the latest duty due, if not done and not before install."""
    return [d for d in latest_due(cal, tz, now) if d.key not in done and d.due >= installed]


def keys(duties: Iterable[Duty]) -> list[str]:
    """The keys of some duties, in order (for logs and tests)."""
    return [d.key for d in duties]
