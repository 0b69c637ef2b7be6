"""Assessment periods: a year (2026), a half (2026H1), a quarter (2026Q3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from scoring.errors import InputError

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the default zone; callers pass KAOHE_TIMEZONE

_PERIOD = re.compile(r"^(?P<year>\d{4})(?:(?P<kind>[HhQq])(?P<n>\d))?$")


@dataclass(frozen=True)
class Period:
    """A span of fact dates [start, end) with its label."""

    label: str
    year: int
    start: date
    end: date

    @property
    def annual(self) -> bool:
        """A whole year: the only period with review scores and grades."""
        return self.label == str(self.year)

    def contains(self, day: date) -> bool:
        """Whether a fact date falls in this period."""
        return self.start <= day < self.end

    @classmethod
    def parse(cls, text: str) -> Period:
        """2026, 2026H1, 2026H2, 2026Q1..Q4; anything else is an InputError."""
        m = _PERIOD.match(text.strip())
        if not m:
            raise InputError(f"期间“{text}”不对,请写 2026、2026H1、2026H2 或 2026Q3 这样的形式")
        year = int(m.group("year"))
        if not 1 <= year < 9999:  # a date must exist for the period's start and end
            raise InputError(f"期间“{text}”不对:年份应在 1 到 9998 之间")
        kind = (m.group("kind") or "").upper()
        if not kind:
            return cls(str(year), year, date(year, 1, 1), date(year + 1, 1, 1))
        n = int(m.group("n"))
        months = {"H": 6, "Q": 3}[kind]
        if not 1 <= n <= 12 // months:
            raise InputError(
                f"期间“{text}”不对:{'半年只有 H1、H2' if kind == 'H' else '季度是 Q1 到 Q4'}"
            )
        first = (n - 1) * months + 1
        last = first + months
        end = date(year + 1, 1, 1) if last > 12 else date(year, last, 1)
        return cls(f"{year}{kind}{n}", year, date(year, first, 1), end)

    @classmethod
    def containing(cls, day: date, kind: str) -> Period:
        """The year ('Y'), half ('H') or quarter ('Q') a day falls in."""
        if kind == "Y":
            return cls.parse(str(day.year))
        size = 6 if kind == "H" else 3
        return cls.parse(f"{day.year}{kind}{(day.month - 1) // size + 1}")
