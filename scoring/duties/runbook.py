"""The run book (``DutyRun``): which duties are done, and which are due now.

A duty's key is written once it is done; a duty that sends several messages notes each part
sent under ``<key>#parts``, so a retry sends only what is missing. The first tick writes
``installed``: nothing due before it is ever replayed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from scoring import calendar
from scoring.calendar import Duty
from scoring.db import insert_new
from scoring.duties.common import aware, calendar_tz
from scoring.models import DutyRun, YearLock
from scoring.rules import Calendar
from scoring.vote import CLOSE, REMIND, vote_duties

INSTALLED = "installed"
PARTS = "#parts"
RUN = "#run"  # a duty being run, by whom (claim_run)
LEASE = timedelta(minutes=5)  # a run claimed longer ago than this is taken to have died


def installed_at(session: Session, now: datetime) -> datetime:
    """When the bot first ran its duties (written now, on the very first call)."""
    if insert_new(session, DutyRun, key=INSTALLED, done_at=now, detail=""):
        return now
    row = session.get(DutyRun, INSTALLED)
    assert row is not None
    return aware(row.done_at, now.tzinfo or calendar_tz(now))


def install_time(session: Session, tz: tzinfo) -> datetime | None:
    """When the bot first ran its duties, or None if it never has."""
    row = session.get(DutyRun, INSTALLED)
    return aware(row.done_at, tz) if row is not None else None


def done_runs(session: Session) -> dict[str, DutyRun]:
    """Every duty done, by key (the install mark and part notes left out)."""
    rows = session.exec(select(DutyRun)).all()
    return {r.key: r for r in rows if r.key != INSTALLED and "#" not in r.key}


def is_done(session: Session, key: str) -> bool:
    """Whether the duty with this key is done."""
    return session.get(DutyRun, key) is not None


def parts_done(session: Session, key: str) -> set[str]:
    """The parts of an unfinished duty already sent."""
    row = session.get(DutyRun, key + PARTS)
    return set(json.loads(row.detail)) if row is not None and row.detail else set()


def add_part(session: Session, key: str, part: str, *, now: datetime) -> None:
    """Note one part of a duty as sent."""
    row = session.get(DutyRun, key + PARTS)
    if row is None:
        row = DutyRun(key=key + PARTS, done_at=now, detail="[]")
    sent = sorted({*json.loads(row.detail or "[]"), part})
    row.detail = json.dumps(sent, ensure_ascii=False)
    row.done_at = now
    session.add(row)


def claim_run(session: Session, key: str, *, now: datetime, owner: str) -> bool:
    """Claim a duty for one process to run (commit before sending anything); False while
    another process runs it. Several bots on one database so never both send a duty.

    A claim older than ``LEASE`` is taken over: its process died mid-run (killed, the machine
    lost). The parts it noted as sent are not sent again; one it sent but had not noted yet
    is (at least once rather than at most once: a notice lost is worse than one repeated).
    """
    claim = key + RUN
    if insert_new(session, DutyRun, key=claim, done_at=now, detail=owner):
        return True
    taken = session.execute(
        update(DutyRun)
        .where(col(DutyRun.key) == claim, col(DutyRun.done_at) < now - LEASE)
        .values(done_at=now, detail=owner)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release_run(session: Session, key: str) -> None:
    """Give up the claim on a duty (done, or to be tried again at the next tick)."""
    session.execute(delete(DutyRun).where(col(DutyRun.key) == key + RUN))


def mark_done(session: Session, key: str, *, now: datetime, detail: str = "") -> bool:
    """Record a duty as done (its part notes go); False if it already was."""
    session.execute(delete(DutyRun).where(col(DutyRun.key) == key + PARTS))
    if session.get(DutyRun, key) is not None:
        return False
    session.add(DutyRun(key=key, done_at=now, detail=detail))
    session.flush()
    return True


def duties_due(session: Session, cal: Calendar, tz: tzinfo, now: datetime) -> list[Duty]:
    """Every duty to run now: the calendar's (see scoring.calendar), annual bulletins, and
    the 民主评议's reminder and close (``scoring.vote``).

    An annual bulletin is due once its year is locked, until it has been posted.
    """
    installed = installed_at(session, now)
    done = set(done_runs(session))
    due = calendar.due_duties(cal, tz, now, installed=installed, done=done)
    for lock in session.exec(select(YearLock).order_by(col(YearLock.year))).all():
        key = f"annual:{lock.year}"
        if key not in done:
            due.append(Duty(aware(lock.locked_at, tz), key, "annual", str(lock.year)))
    due += [d for d in vote_duties(session, now) if d.due <= now and d.key not in done]
    return sorted(due)


@dataclass(frozen=True)
class JobRow:
    """A line of ``kaohe jobs``: a duty, when it falls, and where it stands."""

    key: str
    kind: str
    name: str
    due: datetime
    status: str  # done | due | skipped | scheduled
    done_at: datetime | None = None


def job_rows(session: Session, cal: Calendar, tz: tzinfo, now: datetime) -> list[JobRow]:
    """Of each kind of duty the latest one due (done, due, or skipped) and the next one."""
    installed = install_time(session, tz)
    runs = done_runs(session)
    rows: list[JobRow] = []
    for d in calendar.latest_due(cal, tz, now):
        run = runs.get(d.key)
        if run is not None:
            status = "done"
        elif installed is None or d.due < installed:
            status = "skipped"
        else:
            status = "due"
        rows.append(JobRow(d.key, d.kind, d.name, d.due, status,
                           aware(run.done_at, tz) if run else None))  # fmt: skip
    for d in calendar.upcoming(cal, tz, now):
        rows.append(JobRow(d.key, d.kind, d.name, d.due, "scheduled"))
    for lock in session.exec(select(YearLock).order_by(col(YearLock.year))).all():
        key = f"annual:{lock.year}"
        run = runs.get(key)
        rows.append(
            JobRow(key, "annual", calendar.KIND_NAMES["annual"], aware(lock.locked_at, tz),
                   "done" if run else "due", aware(run.done_at, tz) if run else None)
        )  # fmt: skip
    for d in vote_duties(session, now):
        run = runs.get(d.key)
        status = "done" if run else ("due" if d.due <= now else "scheduled")
        rows.append(JobRow(d.key, d.kind, d.name, d.due, status,
                           aware(run.done_at, tz) if run else None))  # fmt: skip
    order = (*calendar.KINDS, "annual", REMIND, CLOSE)
    return sorted(rows, key=lambda r: order.index(r.kind))
