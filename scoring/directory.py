"""Who is who, in memory: the roster's people in post, their departments, who leads which,
their messenger accounts, and the years locked, read once per version of the roster
(``scoring.versions``).

The parser's lookups (``DbRoster``) and every account lookup of an incoming event are
answered from here instead of a query each: at district scale a finding's names, the
sender's account and the notices' addresses cost no statement while the roster is
unchanged. A transaction that changed the roster itself reads a fresh directory of its own.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from scoring.models import Department, Person, PersonLeads, YearLock
from scoring.parser import RosterPerson
from scoring.versions import ROSTER, Memo


@dataclass(frozen=True)
class Member:
    """A person in post as the roster has them."""

    id: int
    name: str
    department_id: int
    department: str
    roles: frozenset[str]
    leads: frozenset[int]  # the departments they lead (分管)
    telegram_user_id: int | None
    dingtalk_user_id: str | None
    person: RosterPerson = field(init=False, compare=False)  # as the parser needs them

    def __post_init__(self) -> None:
        object.__setattr__(self, "person", RosterPerson(self.id, self.name, self.department))


class Directory:
    """The roster in post, indexed for every lookup the parser and the accounts make."""

    def __init__(
        self,
        members: list[Member],
        departments: dict[str, int],
        locked_years: frozenset[int] = frozenset(),
    ) -> None:
        self.departments = departments  # every department, by name
        self.locked_years = locked_years  # finalized: nothing more is recorded for them
        self.members = {m.id: m for m in members}
        self.by_telegram: dict[int, Member] = {}
        self.by_dingtalk: dict[str, Member] = {}
        named: dict[str, list[Member]] = {}
        staff: dict[int, list[RosterPerson]] = {}
        leaders: dict[int, list[RosterPerson]] = {}
        for m in sorted(members, key=lambda m: m.id):
            if m.telegram_user_id is not None:
                self.by_telegram[m.telegram_user_id] = m
            if m.dingtalk_user_id is not None:
                self.by_dingtalk[m.dingtalk_user_id] = m
            named.setdefault(m.name, []).append(m)
            staff.setdefault(m.department_id, []).append(m.person)
            for led in sorted(m.leads):
                leaders.setdefault(led, []).append(m.person)
        self.named = {
            name: tuple(m.person for m in sorted(ms, key=lambda m: m.department))
            for name, ms in named.items()
        }
        self.staff = {d: tuple(ps) for d, ps in staff.items()}  # members, by department id
        self.leaders = {d: tuple(ps) for d, ps in leaders.items()}  # leaders in charge
        self.labels = [(m.name, m.person.label) for m in members] + [(d, d) for d in departments]


def read_directory(session: Session) -> Directory:
    """The directory as the session's transaction sees the database (four queries)."""
    leads: dict[int, set[int]] = {}
    for person_id, department_id in session.exec(
        select(PersonLeads.person_id, PersonLeads.department_id)
    ):
        leads.setdefault(person_id, set()).add(department_id)
    rows = session.connection().execute(
        sa.select(
            col(Person.id), col(Person.name), col(Person.department_id), col(Department.name),
            col(Person.roles), col(Person.telegram_user_id), col(Person.dingtalk_user_id),
        )
        .join(Department, col(Department.id) == col(Person.department_id))
        .where(col(Person.active).is_(True))
    ).all()  # fmt: skip
    members = [
        Member(
            id=int(pid or 0),
            name=name,
            department_id=dept_id,
            department=dept,
            roles=frozenset(r for r in roles.split(",") if r),
            leads=frozenset(leads.get(int(pid or 0), ())),
            telegram_user_id=tg,
            dingtalk_user_id=dt,
        )
        for pid, name, dept_id, dept, roles, tg, dt in rows
    ]
    departments = {
        name: int(i or 0) for i, name in session.exec(select(Department.id, Department.name))
    }
    locked = frozenset(session.exec(select(YearLock.year)))
    return Directory(members, departments, locked)


_MEMOS: weakref.WeakKeyDictionary[Engine, Memo[Directory]] = weakref.WeakKeyDictionary()


def directory(session: Session) -> Directory:
    """The directory for this session's database, from memory while the roster is unchanged."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    memo = _MEMOS.get(engine)
    if memo is None:
        memo = _MEMOS.setdefault(engine, Memo(ROSTER, 1))
    return memo.get(session, ROSTER, lambda: read_directory(session))
