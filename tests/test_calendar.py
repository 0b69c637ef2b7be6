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
# 2026 as the State Council's notice has it (国办发明电〔2025〕7号): 元旦 1–3 January,
# 4 January (Sunday) worked; 春节 15–23 February, 14 and 28 February (Saturdays) worked;
# 清明 4–6 April; 劳动节 1–5 May, 9 May (Saturday) worked; 端午 19–21 June; 中秋 25–27
# September; 国庆 1–7 October, 20 September (Sunday) and 10 October (Saturday) worked.
@pytest.mark.parametrize(
    "day",
    ["2026-07-03", "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20",
     "2026-10-10", "2026-10-08", "2026-05-06"],
)  # fmt: skip
def test_working_days_of_2026(cal: Calendar, day: str) -> None:
    assert calendar.is_working_day(d(day), cal)


@pytest.mark.parametrize(
    "day",
    ["2026-07-04", "2026-07-05", "2026-01-01", "2026-01-02", "2026-02-16", "2026-02-20",
     "2026-02-23", "2026-04-06", "2026-05-01", "2026-05-04", "2026-05-05", "2026-06-19",
     "2026-09-25", "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"],
)  # fmt: skip
def test_days_off_of_2026(cal: Calendar, day: str) -> None:
    assert not calendar.is_working_day(d(day), cal)


def test_a_year_without_a_published_schedule_is_weekdays_minus_statutory_holidays(
    cal: Calendar,
) -> None:
    assert not calendar.workdays_known(2031, cal)
    assert not calendar.is_working_day(d("2031-10-01"), cal)  # Wednesday, 国庆节
    assert not calendar.is_working_day(d("2031-05-02"), cal)  # Friday, 劳动节
    assert not calendar.is_working_day(d("2031-10-04"), cal)  # a Saturday: no 调休 known
    assert calendar.is_working_day(d("2031-10-06"), cal)  # a Monday
    assert calendar.workdays_known(2026, cal)


def test_rules_file_holidays_and_workdays_change_working_days() -> None:
    cal = with_calendar("holidays = [2026-07-10, 2031-10-06]\nworkdays = [2026-10-07, 2031-10-04]")
    assert not calendar.is_working_day(d("2026-07-10"), cal)  # a local holiday, a Friday
    assert calendar.is_working_day(d("2026-10-07"), cal)  # the package's day off, worked
    assert calendar.is_working_day(d("2031-10-04"), cal)  # a Saturday worked (调休)
    assert not calendar.is_working_day(d("2031-10-06"), cal)
    assert calendar.workdays_known(2031, cal)  # the office typed the year in


def test_without_a_statutory_calendar_working_days_are_monday_to_friday() -> None:
    cal = with_calendar('statutory = ""')
    assert calendar.is_working_day(d("2026-10-01"), cal)  # a Thursday
    assert not calendar.is_working_day(d("2026-10-10"), cal)  # a Saturday


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


def test_objection_window_counts_a_make_up_saturday_and_skips_the_holiday(cal: Calendar) -> None:
    # posted Thursday 8 October: 9, 10 (a Saturday worked), 12, 13, 14 October
    assert calendar.window_closes(d("2026-10-08"), cal) == d("2026-10-14")
    # posted Wednesday 30 September: 1–7 October are days off: 8, 9, 10, 12, 13 October
    assert calendar.window_closes(d("2026-09-30"), cal) == d("2026-10-13")


def test_objection_window_skips_the_rules_file_holidays() -> None:
    cal = with_calendar("holidays = [2026-07-07, 2026-07-08]")
    assert calendar.window_closes(d("2026-07-06"), cal) == d("2026-07-15")


def test_objection_window_length_is_rules_data() -> None:
    cal = with_calendar("objection_window_working_days = 3")
    assert calendar.window_closes(d("2026-07-06"), cal) == d("2026-07-09")


# ------------------------------------------------------------------ every duty on its day
@pytest.mark.parametrize(
    ("key", "due"),
    [
        ("reminder:2026-07", "2026-07-01 09:00"),
        ("reminder:2026-11", "2026-11-02 09:00"),  # 1 Nov 2026 is a Sunday
        ("reminder:2026-01", "2026-01-04 09:00"),  # 元旦; 4 January is a Sunday worked
        ("reminder:2026-05", "2026-05-06 09:00"),  # 劳动节 1–5 May
        ("reminder:2026-10", "2026-10-08 09:00"),  # 国庆节 1–7 October
        # the spot-check alert: the first working day of the next month
        ("spotcheck:2025-12", "2026-01-04 09:30"),  # a Sunday worked, not 1 January
        ("spotcheck:2026-04", "2026-05-06 09:30"),
        ("spotcheck:2026-09", "2026-10-08 09:30"),
        ("spotcheck:2026-07", "2026-08-03 09:30"),  # 1 August is a Saturday
        ("spotcheck:2026-10", "2026-11-02 09:30"),
        ("notice:2026Q1", "2026-04-07 10:00"),  # 清明 4–6 April
        ("notice:2026Q2", "2026-07-06 10:00"),  # 5 July is a Sunday
        ("notice:2026Q3", "2026-10-08 10:00"),  # 国庆节
        ("notice:2026Q4", "2027-01-05 10:00"),
        ("bulletin:2026H1", "2026-07-06 10:00"),
        ("bulletin:2026H2", "2027-01-05 10:00"),
        ("proposals:2026", "2026-12-21 09:00"),  # 20 December is a Sunday
        ("review:2027-01", "2027-01-04 09:00"),  # 3 January 2027 is a Sunday
        ("review:2027-02", "2027-02-03 09:00"),
    ],
)
def test_each_duty_fires_on_its_working_day_and_not_before(
    cal: Calendar, key: str, due: str
) -> None:
    when = at(due)
    assert key not in due_at(cal, when - timedelta(minutes=1))
    assert key in due_at(cal, when)
    assert key in due_at(cal, when + timedelta(hours=5))


def test_the_office_is_told_once_in_december_that_next_years_schedule_is_unknown(
    cal: Calendar,
) -> None:
    # 1 December 2030 is a Sunday
    assert "workdays:2031" not in due_at(cal, at("2030-12-02 08:59"))
    assert "workdays:2031" in due_at(cal, at("2030-12-02 09:00"))
    assert "workdays:2031" in due_at(cal, at("2031-01-20 09:00"))  # not yet done: still due
    assert "workdays:2031" not in due_at(cal, at("2031-01-20 09:00"), done={"workdays:2031"})
    [duty] = [x for x in latest_due(cal, TZ, at("2030-12-02 09:00")) if x.kind == "workdays"]
    assert (duty.subject, duty.name) == ("2031", "下一年节假日调休安排尚未录入的提醒")


def test_no_notice_for_a_year_whose_schedule_is_known(cal: Calendar) -> None:
    assert not [x for x in latest_due(cal, TZ, at("2025-12-31 12:00")) if x.kind == "workdays"]
    typed_in = with_calendar("workdays = [2031-10-11]")
    assert "workdays:2031" not in due_at(typed_in, at("2030-12-02 09:00"))


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
    now = at("2026-07-06 10:00")
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
    installed = at("2026-07-06 12:00")  # the H1 bulletin fell on Monday 6 July at 10:00
    due = keys(due_duties(cal, TZ, at("2026-07-20 00:00"), installed=installed, done=set()))
    assert "bulletin:2026H1" not in due and "reminder:2026-07" not in due
    # 1 August is a Saturday: August's reminder falls on Monday 3 August
    assert keys(due_duties(cal, TZ, at("2026-08-01 09:00"), installed=installed, done=set())) == []
    due = keys(due_duties(cal, TZ, at("2026-08-03 09:00"), installed=installed, done=set()))
    assert due == ["reminder:2026-08"]


def test_upcoming_lists_the_next_of_every_kind(cal: Calendar) -> None:
    nxt = {x.kind: x.key for x in upcoming(cal, TZ, at("2026-07-10 00:00"))}
    nxt.pop("workdays", None)  # whether 2027 is known depends on the holidays package
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
