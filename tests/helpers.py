"""Test helpers shared by the suite: an in-memory roster, a roster in the database, dumps."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, select

from scoring.models import Department, Person, PersonLeads, ReviewScore
from scoring.parser import RosterPerson
from scoring.points import to_cp
from scoring.standings import Standing

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 30, 9, 0, tzinfo=TZ)
YEAR = 2026


def d(text: str) -> date:
    """A date from 'YYYY-MM-DD' (short to write in tables of test data)."""
    return date.fromisoformat(text)


# ------------------------------------------------------------------ in-memory roster
@dataclass
class MemoryRoster:
    """The parser's Roster protocol over plain lists: people and who leads which 科室."""

    people: list[RosterPerson] = field(default_factory=list)
    leads: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        rows: list[tuple[str, str]],
        leads: Mapping[tuple[str, str], tuple[str, ...]] | None = None,
    ) -> MemoryRoster:
        """People from (name, department) rows; leads maps (name, department) to 科室 led."""
        people = [RosterPerson(i, name, dept) for i, (name, dept) in enumerate(rows, start=1)]
        by_key = {(p.name, p.department): p.id for p in people}
        return cls(people, {by_key[k]: v for k, v in (leads or {}).items()})

    def person(self, name: str, department: str | None = None) -> RosterPerson:
        """The one person with this name (and department)."""
        found = [
            p
            for p in self.people
            if p.name == name and (department is None or p.department == department)
        ]
        assert len(found) == 1, (name, department, found)
        return found[0]

    def people_named(self, name: str) -> list[RosterPerson]:
        return sorted((p for p in self.people if p.name == name), key=lambda p: p.department)

    def department_named(self, name: str) -> str | None:
        known = {p.department for p in self.people}
        known.update(dept for depts in self.leads.values() for dept in depts)
        return name if name in known else None

    def department_bearers(self, department: str) -> list[tuple[RosterPerson, str]]:
        members = [(p, "科室共同承担") for p in self.people if p.department == department]
        leaders = [(p, "分管领导") for p in self.people if department in self.leads.get(p.id, ())]
        return members + leaders

    def all_labels(self) -> list[tuple[str, str]]:
        out = [(p.name, p.label) for p in self.people]
        out += [(dept, dept) for dept in sorted({p.department for p in self.people})]
        return out


# ------------------------------------------------------------------ databases
def memory_engine() -> Engine:
    """A fresh in-memory SQLite database (one connection shared), foreign keys on."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )

    def _fk(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    event.listen(engine, "connect", _fk)
    return engine


def add_person(
    session: Session,
    name: str,
    department: str,
    *,
    leads: tuple[str, ...] = (),
    roles: str = "干部职工",
    rank: str = "",
    active: bool = True,
) -> int:
    """Put one person on the roster (creating departments as needed); returns their id."""

    def dept_id(dept_name: str) -> int:
        dept = session.exec(select(Department).where(Department.name == dept_name)).first()
        if dept is None:
            dept = Department(name=dept_name)
            session.add(dept)
            session.flush()
        assert dept.id is not None
        return dept.id

    person = Person(
        name=name,
        department_id=dept_id(department),
        roles=roles,
        rank=rank,
        active=active,
        created_at=NOW,
    )
    session.add(person)
    session.flush()
    assert person.id is not None
    for led in leads:
        session.add(PersonLeads(person_id=person.id, department_id=dept_id(led)))
    session.flush()
    return person.id


def small_bureau(session: Session) -> dict[str, int]:
    """冯科员 in the office, 张三 (正科级) and 李四 in 执法监察科, 陈局 leading it; committed."""
    ids = {
        "冯科员": add_person(session, "冯科员", "办公室"),
        "张三": add_person(session, "张三", "执法监察科", rank="正科级"),
        "李四": add_person(session, "李四", "执法监察科"),
        "陈局": add_person(session, "陈局", "局领导", leads=("执法监察科",), roles="分管领导"),
    }
    session.commit()
    return ids


def enter_review(
    session: Session, person_id: int, parts: tuple[str, str, str], *, year: int = YEAR
) -> None:
    """Year-end review parts (述职, 分管领导评分, 班子评议) as if imported."""
    values = dict(zip(("report", "leader", "group"), parts, strict=True))
    session.add(
        ReviewScore(
            person_id=person_id,
            year=year,
            parts_json=json.dumps(values),
            total_cp=to_cp(sum((Decimal(v) for v in parts), Decimal(0))),
            entered_at=NOW,
        )
    )
    session.flush()


def by_name(standings: list[Standing]) -> dict[str, Standing]:
    """Standings keyed by 'name' (or 'name(department)' when a name is shared)."""
    names = [s.name for s in standings]
    return {
        (s.name if names.count(s.name) == 1 else f"{s.name}({s.department})"): s for s in standings
    }


def dump_sqlite(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a SQLite file, for before/after comparisons."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
    finally:
        conn.close()


# ------------------------------------------------------------------ the CLI as a subprocess
@dataclass(frozen=True)
class CliRun:
    """A finished `kaohe` run."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together."""
        return self.stdout + self.stderr


@dataclass(frozen=True)
class CliCall:
    """A `kaohe` command to run: its arguments, its database and its folder."""

    args: tuple[str, ...]
    db: Path | None
    cwd: Path
    env: tuple[tuple[str, str], ...] = ()


def cli_env(db: Path | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for `kaohe`: none of the developer's KAOHE_* settings, this database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAOHE_")}
    env["PYTHONIOENCODING"] = "utf-8"
    env["COLUMNS"] = "200"
    if db is not None:
        env["KAOHE_DATABASE_URL"] = f"sqlite:///{db}"
    env.update(extra or {})
    return env


def run_cli_many(calls: list[CliCall], timeout: float = 120) -> list[CliRun]:
    """Run several `kaohe` commands at once (each its own process) and wait for all."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *c.args],
            cwd=c.cwd,
            env=cli_env(c.db, dict(c.env)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        for c in calls
    ]
    runs = []
    for c, p in zip(calls, procs, strict=True):
        out, err = p.communicate(timeout=timeout)
        runs.append(CliRun(c.args, p.returncode, out, err))
    return runs


def run_cli(*args: str, db: Path | None, cwd: Path, env: dict[str, str] | None = None) -> CliRun:
    """Run one `kaohe` command and wait for it."""
    call = CliCall(tuple(args), db, cwd, tuple((env or {}).items()))
    return run_cli_many([call])[0]
