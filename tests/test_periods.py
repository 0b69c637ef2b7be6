"""Assessment periods: a year, a half (H1 = 1 Jan – 30 Jun), a quarter."""

from __future__ import annotations

from datetime import date

import pytest

from scoring.errors import InputError
from scoring.periods import Period


@pytest.mark.parametrize(
    ("text", "label", "start", "end", "annual"),
    [
        ("2026", "2026", date(2026, 1, 1), date(2027, 1, 1), True),
        ("2026H1", "2026H1", date(2026, 1, 1), date(2026, 7, 1), False),
        ("2026h2", "2026H2", date(2026, 7, 1), date(2027, 1, 1), False),
        ("2026Q1", "2026Q1", date(2026, 1, 1), date(2026, 4, 1), False),
        (" 2026q3 ", "2026Q3", date(2026, 7, 1), date(2026, 10, 1), False),
        ("2026Q4", "2026Q4", date(2026, 10, 1), date(2027, 1, 1), False),
    ],
)
def test_a_period_spans_its_dates_with_the_end_excluded(
    text: str, label: str, start: date, end: date, annual: bool
) -> None:
    p = Period.parse(text)
    assert (p.label, p.year, p.start, p.end, p.annual) == (label, 2026, start, end, annual)


def test_the_first_half_ends_on_30_june() -> None:
    h1 = Period.parse("2026H1")
    assert h1.contains(date(2026, 6, 30))
    assert not h1.contains(date(2026, 7, 1))
    assert not h1.contains(date(2025, 12, 31))


@pytest.mark.parametrize(
    "text", ["", "26", "2026H3", "2026H0", "2026Q5", "2026Q0", "2026M1", "明年", "0000", "9999"]
)
def test_a_period_written_wrongly_is_an_input_error_with_a_message(text: str) -> None:
    with pytest.raises(InputError) as caught:
        Period.parse(text)
    assert "期间" in caught.value.message


@pytest.mark.parametrize(
    ("day", "kind", "label"),
    [
        (date(2026, 6, 30), "H", "2026H1"),
        (date(2026, 7, 1), "H", "2026H2"),
        (date(2026, 3, 31), "Q", "2026Q1"),
        (date(2026, 12, 31), "Q", "2026Q4"),
        (date(2026, 12, 31), "Y", "2026"),
    ],
)
def test_the_period_containing_a_day(day: date, kind: str, label: str) -> None:
    assert Period.containing(day, kind).label == label
