"""One person's view: their score with its entries and what it means; study submissions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from scoring.errors import InputError, NotFound
from scoring.ledger import EntryView, audit, person_entries, person_entry_count
from scoring.models import StudySubmission
from scoring.periods import Period
from scoring.rules import Rules
from scoring.standings import Standing, StandingsOf, compute_standings, standing_of

ZERO = Decimal(0)


@dataclass(frozen=True)
class StudyTally:
    """The year's study notes and reflections against the plan's targets."""

    notes_chars: int
    notes_target: int
    reflections: int
    reflections_target: int

    @property
    def notes_missing(self) -> int:
        """Characters still to write this year."""
        return max(self.notes_target - self.notes_chars, 0)


@dataclass(frozen=True)
class ScoreReport:
    """What /score shows: one's own standing, the latest entries, and what they mean."""

    period: Period
    standing: Standing
    entries: list[EntryView]  # the latest, oldest first
    entry_count: int  # all of the period's
    headcount: int
    excellent_line: Decimal
    gap_to_excellent: Decimal
    bonus_room: Decimal
    study: StudyTally


def study_tally(session: Session, rules: Rules, person_id: int, year: int) -> StudyTally:
    """Notes characters and reflections handed in during the year."""
    rows = session.exec(
        select(StudySubmission.kind, func.sum(StudySubmission.chars), func.count())
        .where(
            StudySubmission.person_id == person_id,
            col(StudySubmission.fact_date) >= date(year, 1, 1),
            col(StudySubmission.fact_date) < date(year + 1, 1, 1),
        )
        .group_by(StudySubmission.kind)
    ).all()
    found = {kind: (int(chars or 0), int(n)) for kind, chars, n in rows}
    return StudyTally(
        notes_chars=found.get("notes", (0, 0))[0],
        notes_target=rules.study.notes_chars_per_year,
        reflections=found.get("reflection", (0, 0))[1],
        reflections_target=rules.study.reflections_per_year,
    )


def score_report(
    session: Session,
    rules: Rules,
    person_id: int,
    period: Period,
    *,
    latest: int | None = None,
    standings: StandingsOf = compute_standings,
) -> ScoreReport:
    """The person's standing among everyone, without anyone else's name or score, with
    their ``latest`` entries (None: all of them)."""
    mine, headcount = standing_of(standings, session, rules, period, person_id)
    if mine is None:
        raise NotFound("花名册中找不到您的考核记录,请联系办公室")
    line = rules.grades.bands[0].min_total
    count = person_entry_count(session, period, person_id)
    shown = count if latest is None else min(latest, count)
    return ScoreReport(
        period=period,
        standing=mine,
        entries=person_entries(
            session, rules, period, person_id, offset=count - shown, limit=shown
        ),
        entry_count=count,
        headcount=headcount,
        excellent_line=line,
        gap_to_excellent=max(line - mine.total, ZERO),
        bonus_room=max(rules.bonus.cap - mine.bonus_raw, ZERO),
        study=study_tally(session, rules, person_id, period.year),
    )


def submit_study(
    session: Session,
    *,
    person_id: int,
    kind: str,
    chars: int,
    fact_date: date,
    evidence: str,
    now: datetime,
    actor: str,
    evidence_file: str = "",
) -> None:
    """Record study notes (characters) or a reflection handed in."""
    if kind not in ("notes", "reflection"):
        raise InputError("只能提交学习笔记或学习心得")
    if kind == "notes" and not 0 < chars <= 100_000:
        raise InputError("请注明笔记字数(1 到 100000 之间),例如:/notes 800")
    session.add(
        StudySubmission(
            person_id=person_id,
            kind=kind,
            chars=chars,
            fact_date=fact_date,
            evidence=evidence,
            evidence_file=evidence_file,
            recorded_at=now,
        )
    )
    audit(session, now=now, actor=actor, action=f"study_{kind}", person=person_id, chars=chars)
