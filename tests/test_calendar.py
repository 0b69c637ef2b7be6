"""The duty calendar, pure: each duty falls on its day and not before; working days; catch-up."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scoring import calendar
from scoring.calendar import Duty, due_duties, keys, latest_due, upcoming
from scoring.errors import RulesError
from scoring.periods import Period
from scoring.rules import Calendar, Rules, default_rules_text, parse_rules
from tests.helpers import d

TZ = ZoneInfo("Asia/Shanghai")
EPOCH = datetime(2020, 1, 1, tzinfo=TZ)  # installed long ago: nothing held back by install


def at(text: str) -> datetime:
    """A local time from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def due_at(cal: Calendar, now: datetime, done: set[str] | None = None) -> list[str]:
    return keys(due_duties(cal, TZ, now, installed=EPOCH, done=done or set()))


@pytest.fixture
def cal(rules: Rules) -> Calendar:
    return rules.calendar


def with_calendar(extra: str) -> Calendar:
    """The bundled rules with lines replaced in the [calendar] section."""
    text = default_rules_text()
    for line in extra.strip().splitlines():
        key = line.split("=")[0].strip()
        old = next(ln for ln in text.splitlines() if ln.startswith(f"{key} ="))
        text = text.replace(old, line)
    return parse_rules(text).calendar


# ------------------------------------------------------------------ working days
def test_working_days_are_monday_to_friday(cal: Calendar) -> None:
    assert calendar.is_working_day(d("2026-07-03"), cal)  # Friday
    assert not calendar.is_working_day(d("2026-07-04"), cal)  # Saturday
    assert not calendar.is_working_day(d("2026-07-05"), cal)  # Sunday


def test_rules_file_holidays_and_workdays_change_working_days() -> None:
    cal = with_calendar("holidays = [2026-10-01, 2026-10-02]\nworkdays = [2026-09-27]")
    assert not calendar.is_working_day(d("2026-10-01"), cal)
    assert calendar.is_working_day(d("2026-09-27"), cal)  # a Sunday worked (调休)


def test_a_day_both_holiday_and_workday_is_refused() -> None:
    with pytest.raises(RulesError, match="2026-10-01"):
        with_calendar("holidays = [2026-10-01]\nworkdays = [2026-10-01]")


def test_objection_window_counts_working_days_after_the_posting_day(cal: Calendar) -> None:
    assert cal.objection_window_working_days == 5
    # posted Monday 6 July: 7, 8, 9, 10, 13 July
    assert calendar.window_closes(d("2026-07-06"), cal) == d("2026-07-13")
    # posted on Sunday 5 July: 6 .. 10 July
    assert calendar.window_closes(d("2026-07-05"), cal) == d("2026-07-10")
    assert calendar.window_open(d("2026-07-13"), d("2026-07-13"))
    assert not calendar.window_open(d("2026-07-13"), d("2026-07-14"))


def test_objection_window_skips_holidays() -> None:
    cal = with_calendar("holidays = [2026-07-07, 2026-07-08]")
    assert calendar.window_closes(d("2026-07-06"), cal) == d("2026-07-15")


def test_objection_window_length_is_rules_data() -> None:
    cal = with_calendar("objection_window_working_days = 3")
    assert calendar.window_closes(d("2026-07-06"), cal) == d("2026-07-09")


# ------------------------------------------------------------------ every duty on its day
@pytest.mark.parametrize(
    ("key", "due"),
    [
        ("reminder:2026-11", "2026-11-01 09:00"),
        ("spotcheck:2026-10", "2026-11-02 09:30"),  # 1 Nov 2026 is a Sunday
        ("notice:2026Q3", "2026-10-05 10:00"),
        ("notice:2026Q4", "2027-01-05 10:00"),
        ("bulletin:2026H1", "2026-07-05 10:00"),
        ("bulletin:2026H2", "2027-01-05 10:00"),
        ("proposals:2026", "2026-12-20 09:00"),
        ("review:2027-01", "2027-01-03 09:00"),
        ("review:2027-02", "2027-02-03 09:00"),
    ],
)
def test_each_duty_fires_on_its_day_and_not_before(cal: Calendar, key: str, due: str) -> None:
    when = at(due)
    assert key not in due_at(cal, when - timedelta(minutes=1))
    assert key in due_at(cal, when)
    assert key in due_at(cal, when + timedelta(hours=5))


def test_the_spot_check_alert_waits_for_the_first_working_day(cal: Calendar) -> None:
    # 1 August 2026 is a Saturday: the alert about July falls on Monday 3 August
    assert "spotcheck:2026-07" not in due_at(cal, at("2026-08-02 12:00"))
    assert "spotcheck:2026-07" in due_at(cal, at("2026-08-03 09:30"))


def test_the_h2_bulletin_in_january_is_about_last_year(cal: Calendar) -> None:
    [bulletin] = [x for x in upcoming(cal, TZ, at("2026-12-01 00:00")) if x.kind == "bulletin"]
    assert bulletin == Duty(at("2027-01-05 10:00"), "bulletin:2026H2", "bulletin", "2026H2")


def test_review_reminders_are_about_the_year_before(cal: Calendar) -> None:
    [review] = [x for x in latest_due(cal, TZ, at("2027-01-10 00:00")) if x.kind == "review"]
    assert (review.key, review.subject) == ("review:2027-01", "2026")


def test_duty_times_are_rules_data() -> None:
    cal = with_calendar("half_year_bulletin = { months = [8, 2], day = 10, hour = 15 }")
    assert "bulletin:2026H1" not in due_at(cal, at("2026-07-31 23:59"))
    assert "bulletin:2026H1" in due_at(cal, at("2026-08-10 15:00"))


# ------------------------------------------------------------------ catch-up
def test_a_done_duty_is_not_due_again(cal: Calendar) -> None:
    now = at("2026-07-05 10:00")
    assert "bulletin:2026H1" in due_at(cal, now)
    assert "bulletin:2026H1" not in due_at(cal, now, done={"bulletin:2026H1"})


def test_after_an_outage_only_the_latest_of_each_kind_is_run(cal: Calendar) -> None:
    # down from June to 10 September: July's and August's reminders are not replayed
    due = due_at(cal, at("2026-09-10 08:00"))
    assert "reminder:2026-09" in due
    assert "reminder:2026-07" not in due and "reminder:2026-08" not in due
    assert "bulletin:2026H1" in due  # still the latest bulletin: posted when back
    assert "notice:2026Q2" in due


def test_nothing_due_before_the_install_is_replayed(cal: Calendar) -> None:
    installed = at("2026-07-06 12:00")
    due = keys(due_duties(cal, TZ, at("2026-07-20 00:00"), installed=installed, done=set()))
    assert "bulletin:2026H1" not in due and "reminder:2026-07" not in due
    due = keys(due_duties(cal, TZ, at("2026-08-01 09:00"), installed=installed, done=set()))
    assert due == ["reminder:2026-08"]


def test_upcoming_lists_the_next_of_every_kind(cal: Calendar) -> None:
    nxt = {x.kind: x.key for x in upcoming(cal, TZ, at("2026-07-10 00:00"))}
    assert nxt == {
        "reminder": "reminder:2026-08",
        "spotcheck": "spotcheck:2026-07",
        "notice": "notice:2026Q3",
        "bulletin": "bulletin:2026H2",
        "proposals": "proposals:2026",
        "review": "review:2027-01",
    }


# ------------------------------------------------------------------ periods
def test_periods_read_as_people_say_them() -> None:
    assert calendar.period_title(Period.parse("2026H1")) == "2026年上半年"
    assert calendar.period_title(Period.parse("2026H2")) == "2026年下半年"
    assert calendar.period_title(Period.parse("2026Q3")) == "2026年第三季度"
    assert calendar.period_title(Period.parse("2026")) == "2026年度"


def test_quarters_of_a_period() -> None:
    assert calendar.quarters_of(Period.parse("2026")) == [f"2026Q{q}" for q in (1, 2, 3, 4)]
    assert calendar.quarters_of(Period.parse("2026H2")) == ["2026Q3", "2026Q4"]
    assert calendar.quarters_of(Period.parse("2026Q2")) == ["2026Q2"]


def test_the_core_calendar_never_reads_the_clock() -> None:
    import importlib
    import inspect
    import pkgutil

    import scoring.calendar
    import scoring.duties

    parts = pkgutil.iter_modules(scoring.duties.__path__, "scoring.duties.")
    modules = [scoring.calendar, scoring.duties, *(importlib.import_module(m.name) for m in parts)]
    assert "scoring.duties.runbook" in {m.__name__ for m in modules}  # the walk finds them
    for module in modules:
        source = inspect.getsource(module)
        assert ".now(" not in source and "today(" not in source and "import telegram" not in source
