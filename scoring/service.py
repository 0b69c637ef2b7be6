"""The service layer: verbs that open a transaction, call the core, and return plain data.

The admin CLI (and the demo's and benchmarks' set-up) use these; the messengers go through
the use cases (``usecases/``), which open their own transaction per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from scoring import ledger, review
from scoring.db import transaction
from scoring.ledger import EntryView
from scoring.models import Entry
from scoring.parser import Finding, parse_finding, resolve_person
from scoring.periods import Period
from scoring.roster import DbRoster, RosterImportResult, import_roster
from scoring.rules import Rules
from scoring.standings import Standing, compute_standings


@dataclass(frozen=True)
class Recorded:
    """What a recorded finding or bonus became: its entry ids, one per person."""

    entry_ids: list[int]
    batch: str


def _recorded(entries: list[Entry]) -> Recorded:
    return Recorded(
        [e.id for e in entries if e.id is not None], entries[0].batch if entries else ""
    )


class Service:
    """The scoring core's verbs over one database and one rules file."""

    def __init__(self, engine: Engine, rules: Rules) -> None:
        self.engine = engine
        self.rules = rules

    def session(self) -> Session:
        """A plain session for reads."""
        return Session(self.engine, expire_on_commit=False)

    # ------------------------------------------------------------ findings
    def record_finding(
        self,
        text: str,
        *,
        fact_date: date,
        by: str,
        now: datetime,
        source: str = "cli",
        evidence: str = "",
        note: str = "",
    ) -> tuple[Finding, Recorded]:
        """Parse and record a finding in one transaction."""
        with transaction(self.engine) as s:
            finding = parse_finding(text, rules=self.rules, roster=DbRoster(s))
            entries = ledger.record_finding(
                s,
                finding,
                fact_date=fact_date,
                by=by,
                now=now,
                source=source,
                evidence=evidence,
                note=note,
            )
            return finding, _recorded(entries)

    def revoke(self, entry_id: int, *, reason: str, by: str, now: datetime) -> int:
        """Revoke an entry; returns the revoking entry's id."""
        with transaction(self.engine) as s:
            rev = ledger.revoke_entry(s, entry_id, reason=reason, by=by, now=now)
            assert rev.id is not None
            return rev.id

    def add_bonus(
        self,
        *,
        target: str,
        kind: str,
        level: str,
        title: str,
        fact_date: date,
        by: str,
        now: datetime,
        source: str = "cli",
        evidence: str = "",
    ) -> Recorded:
        """Record an approved bonus."""
        with transaction(self.engine) as s:
            entries = ledger.add_bonus(
                s,
                self.rules,
                target=target,
                kind=kind,
                level=level,
                title=title,
                fact_date=fact_date,
                by=by,
                now=now,
                source=source,
                evidence=evidence,
            )
            return _recorded(entries)

    def add_veto(self, name: str, *, reason: str, fact_date: date, by: str, now: datetime) -> int:
        """Record a one-vote veto; returns its id."""
        with transaction(self.engine) as s:
            person = resolve_person(name, DbRoster(s))
            veto = ledger.add_veto(
                s, person=person, reason=reason, fact_date=fact_date, by=by, now=now
            )
            assert veto.id is not None
            return veto.id

    def revoke_veto(self, veto_id: int, *, reason: str, by: str, now: datetime) -> int:
        """Take a veto back; returns the revoking row's id."""
        with transaction(self.engine) as s:
            row = ledger.revoke_veto(s, veto_id, reason=reason, by=by, now=now)
            assert row.id is not None
            return row.id

    # ------------------------------------------------------------ imports
    def import_roster(self, path: Path, *, now: datetime, actor: str) -> RosterImportResult:
        """Import the roster file all-or-nothing."""
        with transaction(self.engine) as s:
            return import_roster(s, path, rules=self.rules, now=now, actor=actor)

    def import_reviews(self, path: Path, *, year: int, now: datetime, actor: str) -> int:
        """Import review scores all-or-nothing; returns how many people were scored."""
        with transaction(self.engine) as s:
            return review.import_reviews(s, self.rules, path, year=year, now=now, actor=actor)

    # ------------------------------------------------------------ reads
    def standings(self, period: Period) -> list[Standing]:
        """Everyone's standing for the period, best first."""
        with self.session() as s:
            return compute_standings(s, self.rules, period)

    def entries(self, period: Period, person_id: int | None = None) -> list[EntryView]:
        """The period's entries (all, or one person's), revoked ones marked."""
        with self.session() as s:
            return ledger.entry_views(s, self.rules, period, person_id=person_id)
