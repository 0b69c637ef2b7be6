"""Spot checks: how many the office carried out in a month, and recording one.

A month counts as checked when a spot check was recorded with /checked (even one that found
nothing) or any deduction other than a year-end proposal (source ``duty``) is dated in it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from scoring import ledger
from scoring.duties.common import ATTENDANCE_SOURCE, DUTY_SOURCE
from scoring.models import Entry, SpotCheck


def spot_checks(session: Session, year: int, month: int) -> int:
    """Spot checks in a month: those recorded with /checked (even finding nothing), and
    deductions dated in it (year-end proposals and attendance imports left out: neither is
    a check someone made). 0: no spot check recorded."""
    start = date(year, month, 1)
    end = date(year + month // 12, month % 12 + 1, 1)
    findings = session.exec(
        select(func.count())
        .select_from(Entry)
        .where(
            Entry.kind == "deduction",
            col(Entry.fact_date) >= start,
            col(Entry.fact_date) < end,
            col(Entry.source).not_in((DUTY_SOURCE, ATTENDANCE_SOURCE)),
        )
    ).one()
    checks = session.exec(
        select(func.count())
        .select_from(SpotCheck)
        .where(col(SpotCheck.day) >= start, col(SpotCheck.day) < end)
    ).one()
    return int(findings) + int(checks)


def record_spot_check(
    session: Session, *, day: date, inspector_id: int | None, inspector: str, note: str,
    now: datetime,
) -> int:  # fmt: skip
    """The office says it carried out a spot check (one that found nothing leaves a trace)."""
    check = SpotCheck(day=day, inspector_id=inspector_id, inspector=inspector,
                      note=note.strip()[:500], recorded_at=now)  # fmt: skip
    session.add(check)
    session.flush()
    ledger.audit(session, now=now, actor=inspector, action="spot_check", day=day.isoformat())
    assert check.id is not None
    return check.id
