"""The duty calendar, pure: what falls when, by the rules file's ``[calendar]`` section.

Every duty has a key (``reminder:2026-11``, ``spotcheck:2026-10``, ``notice:2026Q3``,
``bulletin:2026H1``, ``proposals:2026``, ``review:2027-01``, ``workdays:2027``;
``annual:2026`` is set off by ``/finalize``, not by the calendar). The bot records a key
once the duty is done.

Working days are China's: the statutory holidays and the weekend days worked instead (调休)
as the State Council publishes them each year, read from the ``holidays`` package, with
the rules file's own ``holidays`` and ``workdays`` over them. A year whose 调休 is not yet
published (the package has no make-up day for it, the rules file lists none of its days)
is taken as Monday to Friday minus the statutory holidays; from December the office is
told once that next year's is unknown (``workdays:2027``). A duty whose day is not a
working day falls on the next working day.

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
from functools import lru_cache

from scoring.periods import Period
from scoring.rules import Calendar, MonthDay

KINDS = ("reminder", "spotcheck", "notice", "bulletin", "proposals", "review", "workdays")
KIND_NAMES = {
    "reminder": "月初提醒(学习、工作小结与计划、纪律督查)",
    "spotcheck": "上月未开展纪律督查的提醒",
    "notice": "季度扣分、处罚、奖励情况公开通报",
    "bulletin": "半年考核测算通报",
    "proposals": "年终学习笔记、心得扣分建议",
    "review": "年度考核截止提醒",
    "workdays": "下一年节假日调休安排尚未录入的提醒",
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
    # a month (2026-11), a period (2026Q3, 2026H1) or a year (2026; for workdays, the next)
    subject: str

    @property
    def name(self) -> str:
        """What the duty is, for people."""
        return KIND_NAMES[self.kind]


# ------------------------------------------------------------------ working days
@lru_cache(maxsize=256)
def _statutory(country: str, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """A year's statutory days off and its weekend days worked (调休), from ``holidays``.

    A year the package has no State Council schedule for comes with its statutory holidays
    (and the days it moves them to) and no make-up days. ``""``: none at all.
    """
    if not country:
        return frozenset(), frozenset()
    import holidays  # its country tables load only when a working day is counted

    table = holidays.country_holidays(country, years=year)
    days_off = frozenset(d for d in table if d.year == year)
    # weekend_workdays holds the make-up days of every year the package knows
    return days_off, frozenset(d for d in table.weekend_workdays if d.year == year)


def is_working_day(day: date, cal: Calendar) -> bool:
    """The rules file's workdays and holidays first, then the statutory calendar
    (its 调休 workdays and days off), then Monday to Friday."""
    if day in cal.workdays:
        return True
    if day in cal.holidays:
        return False
    days_off, made_up = _statutory(cal.statutory, day.year)
    if day in made_up:
        return True
    if day in days_off:
        return False
    return day.weekday() < 5


def workdays_known(year: int, cal: Calendar) -> bool:
    """Whether a year's 调休 is known: the package has its make-up days, or the rules file
    lists days of it (an office that typed in the State Council's notice)."""
    if _statutory(cal.statutory, year)[1]:
        return True
    return any(d.year == year for d in (*cal.holidays, *cal.workdays))


def working_day_from(day: date, cal: Calendar) -> date:
    """``day`` if it is a working day, else the next working day."""
    while not is_working_day(day, cal):
        day += timedelta(days=1)
    return day


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


def _falls(year: int, month: int, when: MonthDay, cal: Calendar, tz: tzinfo) -> datetime:
    """A duty set for a day of a month: that day, or the next working day, at its time."""
    day = working_day_from(date(year, month, when.day), cal)
    return _at(day, when.hour, when.minute, tz)


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def duties_in_month(cal: Calendar, tz: tzinfo, year: int, month: int) -> list[Duty]:
    """Every duty that falls due in a month, in order."""
    out: list[Duty] = []
    r = cal.monthly_reminder
    out.append(
        Duty(_falls(year, month, r, cal, tz), f"reminder:{year}-{month:02d}",
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
            Duty(_falls(year, month, q, cal, tz), f"notice:{quarter}",
                 "notice", quarter)
        )  # fmt: skip
    b = cal.half_year_bulletin
    if month in b.months:
        half = half_before(year, month).label
        out.append(
            Duty(_falls(year, month, b, cal, tz), f"bulletin:{half}",
                 "bulletin", half)
        )  # fmt: skip
    p = cal.year_end_proposals
    if month == p.month:
        subject = str(assessment_year(year, month))
        out.append(
            Duty(_falls(year, month, p, cal, tz), f"proposals:{subject}",
                 "proposals", subject)
        )  # fmt: skip
    rv = cal.review_reminder
    if month in rv.months:
        out.append(
            Duty(_falls(year, month, rv, cal, tz),
                 f"review:{year}-{month:02d}", "review", str(assessment_year(year, month)))
        )  # fmt: skip
    w = cal.workdays_unknown_notice
    if month == w.month and not workdays_known(year + 1, cal):
        out.append(
            Duty(_falls(year, month, w, cal, tz), f"workdays:{year + 1}", "workdays", str(year + 1))
        )
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
    # a month before: a duty of last month may have moved into this one (after a holiday)
    for duty in schedule(cal, tz, now, before=1, after=_LOOK_BACK_MONTHS):
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
